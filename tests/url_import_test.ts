/**
 * The library imported by http URL, as researchers use it: the repository is served on 127.0.0.1
 * by a small static server, and a script that imports `mod.ts` from it trains a tiny student in a
 * subprocess with no permissions at all besides fetching modules from that host (Deno asks for
 * --allow-import for any host outside its default list; the library itself needs nothing), on one
 * thread and on two (worker threads need no permission either).
 */
import { assertEquals, assertOk } from "./assert.ts";

const ROOT = new URL("../", import.meta.url);
const TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

Deno.test("mod.ts imported by http URL trains a student with zero permissions", async () => {
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    try {
      const body = await Deno.readFile(new URL("." + path, ROOT));
      served.push(path);
      const ext = path.slice(path.lastIndexOf("."));
      return new Response(body, {
        headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const host = `127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/use.ts`;
    await Deno.writeTextFile(
      script,
      `import { resolveConfig, Trainer } from "http://${host}/mod.ts";
const config = resolveConfig({ settings: { d: 6, widths: [3], outputs: 2, multi: 3, nTrain: 500, nEval: 200, iters: 300, epochs: 4 } });
const t = new Trainer(config);
const before = t.evaluate().evalMse;
for (let e = 0; e < config.epochs; e++) t.trainEpoch();
// Two threads: workers from a blob URL on a shared memory, still no permissions, the same bits.
const big = resolveConfig({ settings: { d: 100, widths: [10], outputs: 20, multi: 10, batch: 64, nTrain: 500, nEval: 200, iters: 20, epochs: 2 } });
const [one, two] = [1, 2].map((threads) => {
  const tt = new Trainer(big, { threads });
  tt.trainEpoch();
  tt.trainEpoch();
  const r = { mse: tt.evaluate().evalMse, parallel: tt.kernels.parallelCalls };
  tt.close();
  return r;
});
console.log(JSON.stringify({ before, after: t.evaluate().evalMse, one, two }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", `--allow-import=${host}`, script],
      env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    const { before, after, one, two } = JSON.parse(new TextDecoder().decode(out.stdout));
    assertOk(after < before / 10, `eval MSE ${before} → ${after}`);
    assertEquals(two.mse, one.mse);
    assertOk(one.parallel === 0 && two.parallel > 0, JSON.stringify({ one, two }));
    assertOk(
      served.includes("/mod.ts") && served.includes("/wasm/kernels_wasm.ts"),
      served.join(" "),
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
