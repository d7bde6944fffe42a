/**
 * CSV that every reader reads back exactly: the shortest round-trip form of each number, with an
 * exponent for small and large magnitudes, and no repeated column name in any CSV the tool
 * writes (sweep.csv with lr as a grid axis included), grid values kept as given.
 */
import {
  alignmentCsvRows,
  evaluateTrainer,
  studentsCsvRows,
  timelineCsv,
} from "../src/analysis.ts";
import { SpecializationTimeline } from "../src/alignment.ts";
import { resolveConfig } from "../src/config.ts";
import { csvCell, csvNumber } from "../src/csv.ts";
import { overlapsCsvRows } from "../src/overlaps.ts";
import { Trainer } from "../src/train.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { runCli, TINY } from "./run_cli.ts";

const CASES: [number | null | undefined, string][] = [
  [1.4073483420928453e-6, "1.4073483420928453e-6"],
  [1e-7, "1e-7"],
  [5e-4, "5e-4"],
  [-2.5e-5, "-2.5e-5"],
  [0.000999, "9.99e-4"],
  [0.001, "0.001"],
  [0.5, "0.5"],
  [0.30000000000000004, "0.30000000000000004"],
  [123, "123"],
  [-7, "-7"],
  [999999999999999, "999999999999999"],
  [1e15, "1e+15"],
  [1.5e300, "1.5e+300"],
  [5e-324, "5e-324"],
  [0, "0"],
  [-0, "0"],
  [NaN, ""],
  [null, ""],
  [undefined, ""],
  [Infinity, "inf"],
  [-Infinity, "-inf"],
];

Deno.test("csvNumber: the table of forms", () => {
  for (const [x, want] of CASES) assertEquals(csvNumber(x), want, `csvNumber(${x})`);
  assertEquals(csvCell("0:0.2,20:0.1"), '"0:0.2,20:0.1"');
  assertEquals(csvCell('say "hi"'), '"say ""hi"""');
  assertEquals(csvCell(true), "1");
});

Deno.test("csvNumber round-trips every double, in the fewest digits, never with long zero runs", () => {
  const f = new Float64Array(1), u = new Uint32Array(f.buffer);
  let s = 99;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < 200_000; i++) {
    u[0] = next(), u[1] = next();
    const x = f[0];
    if (!Number.isFinite(x)) continue;
    const text = csvNumber(x);
    assertEquals(Number(text), x, `${text} does not read back as ${x}`);
    const digits = (t: string) => t.replace(/e.*$/, "").replace(/[-.]/g, "").replace(/^0+/, "");
    assertEquals(digits(text).replace(/0+$/, ""), digits(String(x)).replace(/0+$/, ""), text);
    assertOk(!/^-?0\.000/.test(text), text);
  }
});

/** Every CSV file under a folder. */
async function csvFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await csvFiles(p));
    else if (e.name.endsWith(".csv")) out.push(p);
  }
  return out.sort();
}

/** Splits one CSV line into cells (quoted cells may hold commas). */
function cells(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/("([^"]|"")*"|[^,]*)(,|$)/g)) {
    out.push(m[1].startsWith('"') ? m[1].slice(1, -1).replaceAll('""', '"') : m[1]);
    if (m[3] === "") break;
  }
  return out;
}

Deno.test("every CSV of a sweep and its report: unique column names, numbers in the round-trip form, lr grid values verbatim", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/sweep`;
    const lrs = ["0.01", "0:0.02,1:0.001"];
    const r = await runCli([
      "sweep",
      ...TINY,
      ...["--epochs", "2", "--iters", "20", "--init-std", "1e-5", "--jobs", "1", "--quiet"],
      ...["--grid", `lr=${lrs.join(";")}`, "--grid", "p=0,1.5", "--out", out],
    ]);
    assertEquals(r.code, 0, r.stderr);
    const rep = await runCli(["report", out]);
    assertEquals(rep.code, 0, rep.stderr);
    const files = await csvFiles(out);
    assertOk(files.some((f) => f.endsWith("/sweep.csv")) && files.length >= 10, files.join(" "));
    for (const f of files) {
      const [head, ...rows] = (await Deno.readTextFile(f)).trimEnd().split("\n");
      const cols = cells(head);
      const dup = cols.filter((c, i) => cols.indexOf(c) !== i);
      assertEquals(dup, [], `${f}: repeated column names`);
      for (const row of rows) {
        for (const c of cells(row)) {
          if (!/^-?[\d.]+(e[+-]\d+)?$/.test(c)) continue;
          const x = Number(c);
          assertEquals(csvNumber(x), c, `${f}: ${c} is not in the round-trip form`);
        }
      }
    }
    const [head, ...rows] = (await Deno.readTextFile(`${out}/sweep.csv`)).trimEnd().split("\n");
    const cols = cells(head), lrCol = cols.indexOf("lr");
    assertOk(lrCol >= 0 && cols.includes("final_lr"), head);
    assertEquals([...new Set(rows.map((l) => cells(l)[lrCol]))].sort(), [...lrs].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const SMALL = 1.4073483420928453e-6, SMALL_TEXT = "1.4073483420928453e-6";

/** Every CSV row writer of the library, each given the value SMALL somewhere. */
const WRITERS: [string, () => string][] = [
  ["overlapsCsvRows", () => {
    const q = new Float64Array([1, SMALL, SMALL, 1]);
    return overlapsCsvRows(0, [{ layer: 0, students: 2, teachers: 2, q, t: q, r: q }]);
  }],
  ["alignmentCsvRows (train and eval)", () => {
    const { t, splits } = evaluated();
    splits[0].layers[0].teachers.bestCorr[0] = SMALL;
    return alignmentCsvRows(t.epoch, splits, null);
  }],
  ["alignmentCsvRows (population)", () => {
    const { t, splits, population } = evaluated();
    assertOk(population, "a two-layer ReLU run has population measurements");
    population!.summary.bestCorr[0] = SMALL;
    return alignmentCsvRows(t.epoch, splits, population);
  }],
  ["studentsCsvRows", () => {
    const { t, splits } = evaluated();
    splits[0].layers[0].fanoutNorm[0] = SMALL;
    return studentsCsvRows(t.epoch, splits);
  }],
  ["timelineCsv (fractional epochs of --eval-at)", () => {
    const tl = new SpecializationTimeline([0.5]);
    tl.record("eval", 0, SMALL, [0.9]);
    return timelineCsv(tl);
  }],
];

function evaluated() {
  const t = new Trainer(resolveConfig({ settings: { d: 6, widths: [3], outputs: 2, multi: 2 } }));
  return { t, ...evaluateTrainer(t) };
}

Deno.test("every CSV row writer puts small values in the round-trip form (table)", () => {
  for (const [name, write] of WRITERS) {
    const text = write();
    assertOk(text.split(/[,\n]/).includes(SMALL_TEXT), `${name}: ${text.slice(0, 300)}`);
    assertOk(!/(^|,)-?0\.000\d/m.test(text), `${name}: fixed notation below 1e-3: ${text}`);
  }
});

Deno.test("no CSV line in src/ is joined by hand: every writer goes through csvRow", async () => {
  const src = new URL("../src/", import.meta.url);
  for await (const e of Deno.readDir(src)) {
    if (!e.name.endsWith(".ts") || e.name === "csv.ts") continue;
    const text = await Deno.readTextFile(new URL(e.name, src));
    // a row of values joined with commas and ended by a newline, outside a header of names
    for (const m of text.matchAll(/\]\s*\.join\(","\)\s*\+\s*"\\n"/g)) {
      const before = text.slice(Math.max(0, m.index! - 400), m.index!);
      assertOk(/Header|header/.test(before), `${e.name}: a CSV row built by hand: …${before}`);
    }
  }
});
