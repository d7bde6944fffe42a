/**
 * What `deno publish` would ship (deno.json `publish`): the library, the CLI, the WASM, the browser
 * bundle and the docs' text, nothing else (no tests, benchmarks, CI scripts, tools, playground or
 * figure PNGs). Runs `deno publish --dry-run`, which works offline.
 */
import { assertEquals, assertOk } from "./assert.ts";

const root = new URL("../", import.meta.url);

/** The repository-relative paths `deno publish --dry-run` lists. */
async function publishedFiles(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  return [...text.matchAll(/file:\/\/(\S+) \(/g)].map((m) => m[1].slice(root.pathname.length))
    .sort();
}

/** What may be published: a path matching one of these. */
const ALLOWED: [string, RegExp][] = [
  ["the entry points and the package file", /^(mod\.ts|cli\.ts|deno\.json|README\.md)$/],
  ["the library and CLI sources", /^src\/[a-z_]+\.ts$/],
  ["the WASM kernels", /^wasm\/[a-z_]+\.(wasm|ts)$/],
  ["the browser bundle", /^dist\/specialize\.js$/],
  ["the docs' text", /^docs\/([a-z-]+\/)*[a-z-]+\.md$/],
];

/** Development-only files under the allowed folders. */
const DEV_ONLY = ["src/build_wasm.ts", "src/build_bundle.ts", "src/vendor_playground.ts"];

Deno.test("deno publish lists only the library, CLI, WASM, bundle and docs", async () => {
  const files = await publishedFiles();
  for (const f of files) {
    assertOk(ALLOWED.some(([, re]) => re.test(f)), `would publish ${f}`);
    assertOk(!DEV_ONLY.includes(f), `would publish the development script ${f}`);
  }
  // every kind is there, and the files loaded at run time rather than imported
  for (const [what, re] of ALLOWED) assertOk(files.some((f) => re.test(f)), `no ${what}`);
  for (const f of ["mod.ts", "cli.ts", "src/sweep_worker.ts", "wasm/kernels_wasm.ts"]) {
    assertOk(files.includes(f), `${f} is not published`);
  }
  // every library source the repository has (the development scripts apart) goes out
  for await (const e of Deno.readDir(new URL("src/", root))) {
    const f = `src/${e.name}`;
    if (e.isFile && f.endsWith(".ts") && !DEV_ONLY.includes(f) && f !== "src/serve.ts") {
      assertOk(files.includes(f), `${f} is not published`);
    }
  }
});
