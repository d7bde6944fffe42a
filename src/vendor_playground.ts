/**
 * Vendors the playground's plotting library into `playground/vendor/`, so the page works offline
 * from the served folder: the browser builds of Vega and Vega-Lite (`build/vega.min.js`,
 * `build/vega-lite.min.js`) and their licences, from the npm packages at the versions `deno.json`
 * pins for the report (`imports`), through Deno's npm cache. Writes `vendor/VERSIONS.json` with
 * each file's package, version and sha256. Run with `deno task vendor`; `tests/playground_test.ts`
 * checks the files against it and the versions against `deno.json`. Not part of the library.
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/** The vendored files: npm package, file in the package, name in `playground/vendor/`. */
export const VENDORED = [
  { pkg: "vega", file: "build/vega.min.js", name: "vega.min.js" },
  { pkg: "vega", file: "LICENSE", name: "vega.LICENSE" },
  { pkg: "vega-lite", file: "build/vega-lite.min.js", name: "vega-lite.min.js" },
  { pkg: "vega-lite", file: "LICENSE", name: "vega-lite.LICENSE" },
] as const;

/** The npm versions `deno.json` pins (`"vega": "npm:vega@6.4.0"`). */
export async function pinnedVersions(): Promise<Record<string, string>> {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const out: Record<string, string> = {};
  for (const spec of Object.values(cfg.imports as Record<string, string>)) {
    const m = spec.match(/^npm:(.+)@(\d[^/]*)$/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** sha256 (hex) of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function main(): Promise<void> {
  const versions = await pinnedVersions();
  const specs = [...new Set(VENDORED.map((v) => `npm:${v.pkg}@${versions[v.pkg]}`))];
  // Into Deno's npm cache if they are not there yet.
  const cached = await new Deno.Command(Deno.execPath(), { args: ["cache", ...specs] }).output();
  if (!cached.success) throw new Error(`deno cache ${specs.join(" ")} failed`);
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const npmCache: string = JSON.parse(new TextDecoder().decode(info.stdout)).npmCache;
  const dir = new URL("playground/vendor/", ROOT);
  await Deno.mkdir(dir, { recursive: true });
  const record: Record<string, { package: string; version: string; sha256: string }> = {};
  for (const v of VENDORED) {
    const version = versions[v.pkg];
    const bytes = await Deno.readFile(
      `${npmCache}/registry.npmjs.org/${v.pkg}/${version}/${v.file}`,
    );
    await Deno.writeFile(new URL(v.name, dir), bytes);
    record[v.name] = { package: v.pkg, version, sha256: await sha256Hex(bytes) };
    console.log(
      `playground/vendor/${v.name}: ${v.pkg}@${version} ${v.file}, ${bytes.length} bytes`,
    );
  }
  await Deno.writeTextFile(new URL("VERSIONS.json", dir), JSON.stringify(record, null, 2) + "\n");
}

if (import.meta.main) await main();
