/**
 * The documentation stands alone: nothing points outside the repository, every code example
 * imports the library by its public package name (so it runs as written when copied into a
 * project that maps the name), the test task runs the examples (`deno test --doc`) in the same
 * invocation as the tests, and every file name the science page mentions exists in the code.
 */
import { assertEquals, assertOk } from "./assert.ts";

const ROOT = new URL("../", import.meta.url);
const PACKAGE = "@specialize/specialize";

/** Every .ts and .md file under the given repository paths (files or folders), sorted. */
async function filesUnder(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const info = await Deno.stat(new URL(rel, ROOT));
    if (info.isFile) {
      if (/\.(ts|md)$/.test(rel)) out.push(rel);
      return;
    }
    for await (const e of Deno.readDir(new URL(rel, ROOT))) {
      await walk(`${rel.replace(/\/$/, "")}/${e.name}`);
    }
  };
  for (const p of paths) await walk(p);
  return out.sort();
}

/** The ```ts / ```js code blocks of a file: in JSDoc (" * " prefixes removed) or Markdown. */
export function codeBlocks(text: string): { line: number; lang: string; code: string }[] {
  const lines = text.split("\n").map((l) => l.replace(/^\s*\* ?/, ""));
  const blocks: { line: number; lang: string; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^\s*```(ts|js|typescript|javascript|tsx|jsx)\b(.*)$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({ line: start + 1, lang: open[1] + open[2], code: body.join("\n") });
  }
  return blocks;
}

const DOC_PATHS = ["README.md", "docs", "mod.ts", "cli.ts", "src"];

Deno.test("no documentation or source file refers to the reference folder outside the repo", async () => {
  const offenders: string[] = [];
  for (const f of await filesUnder(DOC_PATHS)) {
    const text = await Deno.readTextFile(new URL(f, ROOT));
    text.split("\n").forEach((l, i) => {
      if (/shared\/|PAPER\.md|PERF-NOTES|THEORY\.md/.test(l)) offenders.push(`${f}:${i + 1}: ${l}`);
    });
  }
  assertEquals(offenders, []);
});

Deno.test("every code example imports only the package by name (or URLs and jsr:/npm:)", async () => {
  const offenders: string[] = [];
  let examples = 0;
  for (const f of await filesUnder(DOC_PATHS)) {
    const text = await Deno.readTextFile(new URL(f, ROOT));
    for (const b of codeBlocks(text)) {
      examples++;
      for (const m of b.code.matchAll(/\bfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']/g)) {
        const spec = m[1] ?? m[2];
        const ok = spec === PACKAGE || spec.startsWith(`${PACKAGE}/`) ||
          /^(https?:|jsr:|npm:|node:)/.test(spec);
        if (!ok) offenders.push(`${f}:${b.line}: imports "${spec}"`);
      }
      if (/ignore/.test(b.lang)) offenders.push(`${f}:${b.line}: an example that is not run`);
    }
  }
  assertOk(examples >= 25, `only ${examples} examples found: is the scan broken?`);
  assertEquals(offenders, []);
});

Deno.test("the package name resolves to mod.ts (deno.json name and exports)", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assertEquals(cfg.name, PACKAGE);
  assertEquals(cfg.exports["."], "./mod.ts");
  const viaName = await import(PACKAGE);
  const direct = await import("../mod.ts");
  assertEquals(Object.keys(viaName).sort(), Object.keys(direct).sort());
  assertOk(viaName.Trainer === direct.Trainer, "the name resolves to another copy of mod.ts");
});

Deno.test("deno task test is one deno test invocation that includes the doc examples", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task = cfg.tasks.test;
  const command: string = typeof task === "string" ? task : task.command;
  assertEquals(command.match(/\bdeno test\b/g)?.length, 1, command);
  assertOk(!/&&|;|\|/.test(command), `more than one command: ${command}`);
  const args = command.split(/\s+/);
  for (const part of ["--doc", "tests/", "mod.ts", "src/", "README.md", "docs/"]) {
    assertOk(args.includes(part), `${part} missing from the test task: ${command}`);
  }
});

Deno.test("the code blocks of a JSDoc comment and of Markdown are both found", () => {
  const jsdoc = '/**\n * @example\n * ```ts\n * import { X } from "./x.ts";\n * ```\n */';
  assertEquals(codeBlocks(jsdoc), [
    { line: 3, lang: "ts", code: 'import { X } from "./x.ts";' },
  ]);
  const md = "text\n```ts ignore\nconst a = 1;\n```\n```sh\nls\n```\n";
  assertEquals(codeBlocks(md), [{ line: 2, lang: "ts ignore", code: "const a = 1;" }]);
});

Deno.test("the README's Python snippet runs on the folder of the command it names", async (t) => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const snippet = readme.match(/```python\n([\s\S]*?)```/)![1];
  const made = snippet.match(/^# the folder: deno task train --out (\S+)/m);
  assertOk(made, "the snippet's first line names the command that made its folder");
  const python = await new Deno.Command("python3", { args: ["-c", "import numpy"] }).output()
    .then((r) => r.success, () => false);
  if (!python) {
    console.warn("the README's Python snippet is IGNORED: no python3 with numpy");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    // the command, shrunk (the snippet reads the first teacher layer, the eval data and the
    // correlations at epoch 100, so the epochs stay)
    const tiny = ["--d", "7", "--widths", "3", "--outputs", "2", "--multi", "3", "--iters", "1"];
    const train = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("cli.ts", ROOT).pathname,
        "train",
        ...tiny,
        "--out",
        made[1],
        "--quiet",
      ],
      cwd: dir,
    }).output();
    assertOk(train.success, new TextDecoder().decode(train.stderr));
    await t.step("python3 reads it", async () => {
      const r = await new Deno.Command("python3", { args: ["-c", snippet], cwd: dir }).output();
      assertOk(r.success, new TextDecoder().decode(r.stderr));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
