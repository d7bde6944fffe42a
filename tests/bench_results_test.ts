/**
 * bench/_results.ts: the results files the benches write (environment, records), and the README's
 * performance figures: every number in the Performance table appears in the results file its row
 * cites, and the CPU named beside the table is that file's.
 */
import { type BenchResults, cpuModel, tableRecords, writeBenchResults } from "../bench/_results.ts";
import { assertEquals, assertOk, assertRejects } from "./assert.ts";

Deno.test("cpuModel reads the model name, with family and model when given", () => {
  const info = "processor\t: 0\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD  EPYC\n";
  assertEquals(cpuModel(info), "AMD EPYC (family 26, model 2)");
  assertEquals(cpuModel("model name : Intel(R) Xeon(R) CPU\n"), "Intel(R) Xeon(R) CPU");
  assertEquals(cpuModel("Hardware : BCM2835\n"), "BCM2835");
  assertEquals(cpuModel(""), "unknown");
});

Deno.test("tableRecords: header → cell, numbers as numbers, empty cells null", () => {
  assertEquals(
    tableRecords([["kernel", "µs", "% peak"], ["peak", "", "100"], ["sub", "1.5", "-"]]),
    [
      { kernel: "peak", "µs": null, "% peak": 100 },
      { kernel: "sub", "µs": 1.5, "% peak": "-" },
    ],
  );
});

Deno.test("writeBenchResults writes <bench>.json with the environment and the results", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await writeBenchResults("step", { rows: [{ x: 1 }] }, `${dir}/results`);
    assertEquals(path, `${dir}/results/step.json`);
    const file = JSON.parse(await Deno.readTextFile(path)) as BenchResults;
    assertEquals(file.bench, "step");
    assertEquals(file.results, { rows: [{ x: 1 }] });
    const env = file.environment;
    assertEquals(env.deno, Deno.version.deno);
    assertOk(env.cpu.length > 0 && env.cores >= 1, JSON.stringify(env));
    assertOk(Math.abs(Date.parse(env.date) - Date.now()) < 60_000, env.date);
    assertOk(/^[0-9a-f]{64}$/.test(env.wasmSha256), env.wasmSha256);
    await assertRejects(() => writeBenchResults("../x", {}, dir), RangeError, /Bench name/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Numeric leaves of a JSON value. */
function numbers(v: unknown): number[] {
  if (typeof v === "number") return [v];
  if (v && typeof v === "object") return Object.values(v).flatMap(numbers);
  return [];
}

Deno.test("README Performance: every figure is in the results file its row cites", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.split(/^## Performance$/m)[1]?.split(/^## /m)[0];
  assertOk(section, "README has a Performance section");
  const rows = section.split("\n").filter((l) => /^\|.*`bench\/results\/[\w-]+\.json`/.test(l));
  assertOk(rows.length >= 4, `only ${rows.length} table rows cite a results file`);
  const cpus = new Set<string>();
  for (const line of rows) {
    const file = line.match(/`(bench\/results\/[\w-]+\.json)`/)![1];
    const results = JSON.parse(
      await Deno.readTextFile(new URL(`../${file}`, import.meta.url)),
    ) as BenchResults;
    cpus.add(results.environment.cpu);
    const values = numbers(results.results);
    // the figures: every number in the cells between the first ("what") and the last (file);
    // "14 433" is one number (thousands separated by a space)
    const figures = line.split("|").slice(2, -2).flatMap((cell) =>
      cell.match(/\d{1,3}(?: \d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/g) ?? []
    );
    assertOk(figures.length > 0, `no figures in ${line}`);
    for (const f of figures) {
      const x = Number(f.replace(/ /g, "").trim());
      const decimals = f.split(".")[1]?.trim().length ?? 0;
      const half = 0.5 * 10 ** -decimals + 1e-9;
      assertOk(
        values.some((v) => Math.abs(v - x) <= half),
        `${file} has no value that prints as ${f.trim()} (row: ${line})`,
      );
    }
  }
  for (const cpu of cpus) assertOk(section.includes(cpu), `the section does not name ${cpu}`);
});
