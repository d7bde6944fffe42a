/**
 * The README's static server (`src/serve.ts`), run as its one-line command: it serves the library
 * with content types Deno accepts, so a script imports `mod.ts` from it with `--allow-import` and
 * no other permission; it refuses paths outside the folder and hidden files.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { staticHandler } from "../src/serve.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("staticHandler: content types, index.html, nothing outside or hidden", async () => {
  const h = staticHandler(ROOT);
  const get = (p: string) => h(new Request(`http://x${p}`));
  const cases: [string, number, string | null][] = [
    ["/mod.ts", 200, "application/typescript; charset=utf-8"],
    ["/dist/specialize.js", 200, "text/javascript; charset=utf-8"],
    ["/playground/", 200, "text/html; charset=utf-8"],
    ["/deno.json", 200, "application/json; charset=utf-8"],
    ["/../etc/passwd", 404, null],
    ["/%2e%2e/x", 404, null],
    ["/.git/config", 404, null],
    ["/no-such-file.ts", 404, null],
  ];
  for (const [path, status, type] of cases) {
    const r = await get(path);
    await r.body?.cancel();
    assertEquals(r.status, status, path);
    if (type) assertEquals(r.headers.get("content-type"), type, path);
  }
});

Deno.test("the README's server command serves mod.ts to a script with only --allow-import", async () => {
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "--allow-read=.", "src/serve.ts", "--port", "0"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const dir = await Deno.makeTempDir();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "", host = "";
    while (!host) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`server ended: ${text}`);
      text += value;
      host = text.match(/at http:\/\/(127\.0\.0\.1:\d+)\//)?.[1] ?? "";
    }
    reader.releaseLock();
    await Deno.writeTextFile(
      `${dir}/use.ts`,
      `import { resolveConfig, Trainer } from "http://${host}/mod.ts";
const t = new Trainer(resolveConfig({ settings: { d: 5, widths: [2], outputs: 2, nTrain: 100, nEval: 50, iters: 20, epochs: 1 } }));
t.trainEpoch();
console.log(t.evaluate().epoch);
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", `--allow-import=${host}`, `${dir}/use.ts`],
      env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertOk(new TextDecoder().decode(out.stdout).trim() === "1");
  } finally {
    server.kill("SIGTERM");
    await server.status;
    await server.stdout.cancel().catch(() => {});
    await server.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});
