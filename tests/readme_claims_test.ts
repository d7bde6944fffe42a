/**
 * Numbers the README states outside the Performance table (see bench_results_test.ts for that):
 * each must equal the file or list it comes from.
 */
import { OPTIONS } from "../src/config.ts";
import { MUTANTS } from "../tools/mutants.ts";
import { assertEquals, assertOk } from "./assert.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const results = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`../bench/results/${name}.json`, import.meta.url)));

Deno.test("README: the mutation check's count is the length of tools/mutants.ts", () => {
  const m = readme.match(/applies each of\s+the\s+(\d+)\s+source\s+mutations/);
  assertOk(m, "README states the number of mutants");
  assertEquals(Number(m[1]), MUTANTS.length);
  const last = readme.match(/Last\s+run:\s+(\d+)\s+killed,\s+(\d+)\s+survived/);
  assertOk(last, "README states the last run's outcome");
  assertEquals([Number(last[1]), Number(last[2])], [MUTANTS.length, 0]);
});

Deno.test("mutation check: every run option has a mutant (id starting with its flag)", () => {
  const missing = OPTIONS.filter((o) => !MUTANTS.some((m) => m.id.startsWith(`${o.flag}-`)));
  assertEquals(missing.map((o) => o.flag), []);
});

Deno.test("README: the demo's timings are those of bench/results/demo.json, with its CPU", async () => {
  const demo = await results("demo");
  const r = demo.results.demo;
  const para = readme.split("\n\n").find((p) => p.includes("`deno task demo` runs a reduced"))!;
  assertOk(para.includes("`bench/results/demo.json`"), "the demo paragraph cites its file");
  assertOk(para.includes(demo.environment.cpu), `names the CPU ${demo.environment.cpu}`);
  for (const v of [r.sweepSeconds, r.reportSeconds]) {
    assertOk(para.includes(`${Math.round(v)} s`), `the demo paragraph states ${Math.round(v)} s`);
  }
});

/** How the README writes a duration of m minutes: "≈ N min" below 2 hours, else "≈ N h". */
const duration = (m: number) => m < 120 ? `≈ ${Math.max(1, m)} min` : `≈ ${Math.round(m / 60)} h`;

Deno.test("README: each preset's estimate is that of bench/results/presets.json", async () => {
  const presets = (await results("presets")).results.presets as Record<
    string,
    { jobs: number; estimatedMinutes: number }
  >;
  const section = readme.split(/^## Reproducing the paper$/m)[1].split(/^## /m)[0];
  assertOk(section.includes("`bench/results/presets.json`"), "the section cites its file");
  for (const [name, p] of Object.entries(presets)) {
    const line = section.split("\n").find((l) => l.includes(`--preset ${name} `));
    assertOk(line, `no command line for preset ${name}`);
    assertOk(
      line.includes(`# ${p.jobs} jobs, ${duration(p.estimatedMinutes)}`),
      `${name}: expected "# ${p.jobs} jobs, ${duration(p.estimatedMinutes)}" in ${line}`,
    );
  }
});
