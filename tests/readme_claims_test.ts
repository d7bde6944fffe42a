/**
 * Numbers the README states outside the Performance table (see bench_results_test.ts for that):
 * each must equal the file or list it comes from.
 */
import { OPTIONS } from "../src/config.ts";
import { parseFlags, RUN_OPTION_FLAGS, runSettings } from "../src/cli_args.ts";
import { estimateDisk, formatBytes, type SaveData } from "../src/data_store.ts";
import { parseGrid, parseSeeds, planSweep, PRESETS } from "../src/sweep.ts";
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

/** The sweep's own disk estimate of the jobs `args` (cli.ts sweep flags) describe, with `mode`. */
async function diskEstimate(args: string[], mode: SaveData) {
  const { values } = parseFlags(args, [
    ...RUN_OPTION_FLAGS,
    ...["preset", "seeds", "save-data", "out"].map((name) => ({ name, type: "string" as const })),
    { name: "grid", type: "string", multiple: true },
  ]);
  const plan = await planSweep({
    preset: values.preset as string | undefined,
    base: runSettings(values),
    grid: ((values.grid as string[] | undefined) ?? []).map(parseGrid),
    seeds: typeof values.seeds === "string" ? parseSeeds(values.seeds) : undefined,
  });
  return estimateDisk(plan.jobs.map((j) => j.config), mode);
}

Deno.test("README: the demo's disk is that of bench/results/demo.json, at most 120 MB", async () => {
  const demo = (await results("demo")).results.demo;
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const args: string = denoJson.tasks.demo.command.match(/cli\.ts sweep (.*?) --out \S+ &&/)[1];
  assertEquals(demo.args, args, "demo.json was measured with the demo task's arguments");
  assertOk(demo.folderBytes <= 120e6, `the demo folder takes ${demo.folderBytes} bytes`);
  const para = readme.split("\n\n").find((p) => p.startsWith("The demo's folder"))
    ?.replace(/\s+/g, " ");
  assertOk(para, "README has the demo disk paragraph");
  const measured = `${Math.round(demo.folderBytes / 1e6)} MB`;
  assertOk(para.includes(`takes ${measured}`), `the paragraph states ${measured}`);
  const mode = args.match(/--save-data (\w+)/)?.[1] ?? "once";
  const own = await diskEstimate(args.split(/\s+/), mode as SaveData);
  assertOk(para.includes(`estimate, without the report, is ${formatBytes(own.bytes)}`));
  const once = await diskEstimate(args.split(/\s+/), "once");
  assertOk(para.includes(`would add ${formatBytes(once.dataBytes)}`), "the data stored once");
  const all = await diskEstimate(args.split(/\s+/), "all");
  assertOk(para.includes(`${formatBytes(all.bytes)} in all`), "with a copy in every job");
});

Deno.test("README: each preset's disk is the sweep's estimate, the two-layer one at most 8 GB", async () => {
  const section = readme.split(/^## Reproducing the paper$/m)[1].split(/^## /m)[0];
  for (const p of PRESETS) {
    const { bytes } = await diskEstimate(["--preset", p.name], "once");
    const line = section.split("\n").find((l) => l.includes(`--preset ${p.name} `));
    assertOk(line?.endsWith(`, ≈ ${formatBytes(bytes)}`), `${p.name}: ≈ ${formatBytes(bytes)}`);
    if (p.name === "two-layer") assertOk(bytes <= 8e9, `two-layer: ${formatBytes(bytes)}`);
  }
});
