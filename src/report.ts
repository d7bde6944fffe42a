/**
 * The report of a run or sweep folder: the figures of the paper as SVG, summary tables as CSV and
 * an `index.html` showing them with the configuration. Not part of the library (`mod.ts` does not
 * import it): it is the only code that pulls in a third-party module, the plotting library, through
 * `report_figures.ts`.
 *
 * Data flow: folder → {@linkcode loadStudy} (what each finished run wrote: metrics.csv,
 * alignment.csv, the last evaluation of students.csv, the corr_eval_*.npy epochs) → one builder per
 * figure, which either returns tidy rows and a Vega-Lite spec or the reason it is skipped → SVG →
 * `<out>.tmp-<pid>/`, renamed to `<out>` (default `<folder>/report`) once everything is written.
 *
 * Correlations are those of the eval set; "success" of teacher j is a best correlation above
 * {@linkcode SUCCESS_TAU}; layer 0 is the lowest hidden layer, teacher 0 the strongest.
 * @module
 */

import { SUCCESS_TAU, TAUS } from "./alignment.ts";
import { ConfigError, formatValue } from "./config.ts";
import { csvRow } from "./csv.ts";
import { log10 } from "./detmath.ts";
import { decodeNpy } from "./npy.ts";
import type { DataRef } from "./data_store.ts";
import { isExistingFolder, type LayerResult } from "./run.ts";
import { readManifest, type SweepManifest } from "./sweep.ts";
import {
  LINE_KINDS,
  linesSpec,
  pairedLinesSpec,
  renderSvg,
  scatterSpec,
  type Spec,
  trajectorySpec,
  twoLinesSpec,
} from "./report_figures.ts";

// ---------------------------------------------------------------------------------------------
// Reading run folders.

/** Per hidden layer, the eval best correlation of every teacher at every evaluated epoch. */
interface AlignmentSeries {
  /** Evaluated epochs, increasing. */
  epochs: number[];
  /** Teacher nodes. */
  teachers: number;
  /** epochs × teachers, row-major. */
  bestCorr: Float64Array;
}

/** The fields of `result.json` the report reads (timings at the top level in older runs). */
interface ResultJson {
  status?: string;
  layers?: LayerResult[];
  trainSeconds?: number;
  evalSeconds?: number;
  timing?: { trainSeconds?: number; evalSeconds?: number };
}

/** Seconds of training and evaluation of a run. */
const secondsOf = (r: ResultJson | null): number =>
  (r?.timing?.trainSeconds ?? r?.trainSeconds ?? 0) +
  (r?.timing?.evalSeconds ?? r?.evalSeconds ?? 0);

/** Per student node of one hidden layer at one evaluation (eval set). */
interface StudentRows {
  epoch: number[];
  bestCorr: number[];
  fanout: number[];
  /** sqrt(E[β_kk]); NaN when not computed. */
  beta: number[];
}

/** What the report uses of one finished run. */
interface RunData {
  dir: string;
  seed: number;
  /** The grid point's values by config key (empty for a lone run). */
  point: Record<string, string>;
  config: Record<string, unknown>;
  hidden: number;
  metrics: {
    epoch: number[];
    train: number[];
    eval: number[];
    /** Cross-entropy runs: the mean cross-entropy per evaluation (else null). */
    trainCe: number[] | null;
    evalCe: number[] | null;
    /** The exact population MSE (two-layer ReLU runs), null when not recorded. */
    population: number[] | null;
  };
  /** Per hidden layer. */
  alignment: AlignmentSeries[];
  /** Per hidden layer, the students at the last evaluation. */
  finalStudents: StudentRows[];
  /** Per hidden layer, the epochs with a saved `corr_eval_layer<l>_epoch<e>.npy`. */
  corrEpochs: number[][];
  result: ResultJson | null;
}

/** A run folder or a sweep folder, read. */
interface Study {
  kind: "run" | "sweep";
  dir: string;
  manifest: SweepManifest | null;
  /** Grid keys and their values in manifest order (none for a run). */
  grid: { key: string; values: string[] }[];
  /** Finished runs, in manifest order. */
  runs: RunData[];
  /** Jobs of the manifest that failed / have not finished. */
  failed: number;
  unfinished: number;
}

/** Rows of a small numeric CSV (no quoting), as a header and string cells. */
function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split("\n").filter((l) => l.length > 0);
  return { header: (lines[0] ?? "").split(","), rows: lines.slice(1).map((l) => l.split(",")) };
}

function column(header: string[], name: string, file: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new Error(`${file} has no column ${name}`);
  return i;
}

const num = (s: string | undefined): number => (s === undefined || s === "" ? NaN : Number(s));

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * The lines at the end of a file that start with `prefix`, read backwards in growing chunks so a
 * long `students.csv` (every evaluation) costs only its last evaluation.
 */
async function tailLines(path: string, prefix: string): Promise<string[]> {
  const f = await Deno.open(path, { read: true });
  try {
    const size = (await f.stat()).size;
    for (let chunk = 1 << 16;; chunk *= 4) {
      const start = Math.max(0, size - chunk);
      const buf = new Uint8Array(size - start);
      await f.seek(start, Deno.SeekMode.Start);
      let off = 0;
      while (off < buf.length) {
        const n = await f.read(buf.subarray(off));
        if (n === null) break;
        off += n;
      }
      const lines = new TextDecoder().decode(buf.subarray(0, off)).split("\n");
      if (start > 0) lines.shift(); // a partial line
      const out: string[] = [];
      let i = lines.length - 1;
      for (; i >= 0; i--) {
        if (lines[i] === "") continue;
        if (!lines[i].startsWith(prefix)) break;
        out.push(lines[i]);
      }
      if (i >= 0 || start === 0) return out.reverse();
    }
  } finally {
    f.close();
  }
}

/** Parses eval-split rows of `students.csv` into per-layer columns. */
function studentRows(lines: string[], hidden: number): StudentRows[] {
  const out = Array.from({ length: hidden }, () => ({
    epoch: [] as number[],
    bestCorr: [] as number[],
    fanout: [] as number[],
    beta: [] as number[],
  }));
  for (const line of lines) {
    // epoch,split,layer,student,best_teacher,best_corr,fanout_norm,beta_norm,dead,grad_sq_mean
    const c = line.split(",");
    if (c[1] !== "eval") continue;
    const s = out[Number(c[2])];
    if (!s) continue;
    s.epoch.push(num(c[0]));
    s.bestCorr.push(num(c[5]));
    s.fanout.push(num(c[6]));
    s.beta.push(num(c[7]));
  }
  return out;
}

/** Reads one run folder (config.json and metrics.csv are required, the rest optional). */
async function readRun(dir: string, seed?: number, point: Record<string, string> = {}) {
  const config = JSON.parse((await readText(`${dir}/config.json`))!) as Record<string, unknown>;
  const widths = Array.isArray(config.widths) ? config.widths as number[] : [];
  const hidden = widths.length;
  const m = parseCsv((await readText(`${dir}/metrics.csv`)) ?? "");
  const [ce, ct, cv] = ["epoch", "train_mse", "eval_mse"].map((n) =>
    column(m.header, n, `${dir}/metrics.csv`)
  );
  const optional = (name: string) => {
    const c = m.header.indexOf(name);
    return c < 0 ? null : m.rows.map((r) => num(r[c]));
  };
  const metrics = {
    epoch: m.rows.map((r) => num(r[ce])),
    train: m.rows.map((r) => num(r[ct])),
    eval: m.rows.map((r) => num(r[cv])),
    trainCe: optional("train_ce"),
    evalCe: optional("eval_ce"),
    population: optional("population_mse"),
  };

  const alignment: AlignmentSeries[] = [];
  const at = await readText(`${dir}/alignment.csv`);
  if (at !== null) {
    const a = parseCsv(at);
    const f = `${dir}/alignment.csv`;
    const [ae, as, al, aj, ac] = ["epoch", "split", "layer", "teacher", "best_corr"].map((n) =>
      column(a.header, n, f)
    );
    for (let h = 0; h < hidden; h++) {
      const rows = a.rows.filter((r) => r[as] === "eval" && Number(r[al]) === h);
      const epochs = [...new Set(rows.map((r) => num(r[ae])))].sort((x, y) => x - y);
      const teachers = widths[h];
      const bestCorr = new Float64Array(epochs.length * teachers).fill(NaN);
      const index = new Map(epochs.map((e, i) => [e, i]));
      for (const r of rows) bestCorr[index.get(num(r[ae]))! * teachers + num(r[aj])] = num(r[ac]);
      if (epochs.length) alignment.push({ epochs, teachers, bestCorr });
    }
  }

  let finalStudents: StudentRows[] = [];
  const lastEpoch = metrics.epoch.at(-1);
  if (lastEpoch !== undefined && await isFile(`${dir}/students.csv`)) {
    finalStudents = studentRows(await tailLines(`${dir}/students.csv`, `${lastEpoch},`), hidden);
  }

  const corrEpochs: number[][] = Array.from({ length: hidden }, () => []);
  for await (const e of Deno.readDir(dir)) {
    const match = e.name.match(/^corr_eval_layer(\d+)_epoch(\d+(?:\.\d+)?)\.npy$/);
    if (match && corrEpochs[Number(match[1])]) corrEpochs[Number(match[1])].push(Number(match[2]));
  }
  corrEpochs.forEach((l) => l.sort((x, y) => x - y));

  const rt = await readText(`${dir}/result.json`);
  const result = rt === null ? null : JSON.parse(rt) as ResultJson;
  return {
    dir,
    seed: seed ?? Number(config.seed),
    point,
    config,
    hidden,
    metrics,
    alignment,
    finalStudents,
    corrEpochs,
    result,
  };
}

/** All evaluations of `students.csv` (eval set), for the multi-layer L-shape. */
async function readAllStudents(run: RunData): Promise<StudentRows[]> {
  const text = await readText(`${run.dir}/students.csv`);
  return text === null ? [] : studentRows(text.split("\n").slice(1), run.hidden);
}

/** A `.npy` file a figure needs that does not hold what the run's config implies. */
class NpyFileError extends Error {}

/**
 * The teachers × students eval correlation matrix of a layer at an epoch, checked against the
 * shape the run's config implies (teacher width × student width of the layer, f64, C order).
 * Throws {@linkcode NpyFileError} naming the file and what is wrong.
 */
async function readCorr(run: RunData, layer: number, epoch: number) {
  const name = `corr_eval_layer${layer}_epoch${epoch}.npy`;
  const bad = (why: string): never => {
    throw new NpyFileError(`${run.dir}/${name}: ${why}`);
  };
  const widths = String(run.config.widths ?? "").split(",").map(Number);
  const teachers = widths[layer], students = teachers * Number(run.config.multi);
  if (!(teachers >= 1 && students >= 1)) bad("the run's config.json gives no layer sizes");
  let a: ReturnType<typeof decodeNpy>;
  try {
    a = decodeNpy(await Deno.readFile(`${run.dir}/${name}`));
  } catch (e) {
    return bad((e as Error).message.split("\n")[0]);
  }
  const want = `(${teachers}, ${students})`, got = `(${a!.shape.join(", ")})`;
  if (a!.shape.length !== 2 || a!.shape[0] !== teachers || a!.shape[1] !== students) {
    bad(`shape ${got}, expected ${want} (teachers × students of layer ${layer})`);
  }
  if (!(a!.data instanceof Float64Array)) bad("expected float64 values (<f8)");
  return { data: a!.data, teachers, students };
}

/**
 * Reads a run or sweep folder, or throws a {@linkcode ConfigError} (one line) if `dir` is neither.
 * Reads only; a sweep's unfinished and failed jobs are counted, not read.
 */
async function loadStudy(dir: string): Promise<Study> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`Invalid folder ${JSON.stringify(dir)}: it does not exist`);
    }
    throw e;
  }
  if (!info.isDirectory) {
    throw new ConfigError(
      `Invalid folder ${JSON.stringify(dir)}: it is a file, expected a run or sweep folder`,
    );
  }
  const manifest = await readManifest(dir);
  if (manifest) {
    const runs: RunData[] = [];
    let failed = 0, unfinished = 0;
    for (const job of manifest.jobs) {
      const jd = `${dir}/runs/${job.hash}`;
      if (await isFile(`${jd}/result.json`)) runs.push(await readRun(jd, job.seed, job.point));
      else if (await isFile(`${jd}/error.json`)) failed++;
      else unfinished++;
    }
    const grid = manifest.grid.filter((a) => a.values.length > 0);
    return { kind: "sweep", dir, manifest, grid, runs, failed, unfinished };
  }
  if (await isFile(`${dir}/config.json`) && await isFile(`${dir}/metrics.csv`)) {
    let run: RunData;
    try {
      run = await readRun(dir);
    } catch (e) {
      throw new ConfigError(
        `Folder ${JSON.stringify(dir)} is not a readable run folder: ${(e as Error).message}`,
      );
    }
    return { kind: "run", dir, manifest: null, grid: [], runs: [run], failed: 0, unfinished: 0 };
  }
  throw new ConfigError(
    `Folder ${JSON.stringify(dir)} is neither a run folder (config.json, metrics.csv) nor a ` +
      `sweep folder (sweep.json)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Statistics and grouping.

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / (xs.length - 1));
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

/** The label of a grid value in panel titles and legends. */
function label(key: string, value: string): string {
  const name: Record<string, string> = { nTrain: "N_train", widths: "teacher widths", d: "d" };
  return `${name[key] ?? key} = ${value}`;
}

/** Runs sharing the values of `keys`, in manifest order, with a title suffix and a file suffix. */
interface Group {
  runs: RunData[];
  title: string;
  suffix: string;
}

function groupBy(study: Study, keys: string[]): Group[] {
  const groups = new Map<string, Group>();
  for (const r of study.runs) {
    const id = keys.map((k) => r.point[k]).join("\u0000");
    let g = groups.get(id);
    if (!g) {
      g = {
        runs: [],
        title: keys.map((k) => label(k, r.point[k])).join(", "),
        suffix: keys.map((k) => `_${k}-${r.point[k].replace(/[^A-Za-z0-9.]+/g, "-")}`).join(""),
      };
      groups.set(id, g);
    }
    g.runs.push(r);
  }
  return [...groups.values()];
}

/** The values of grid key `key` ([""] when it is not a grid key) and the labeller of a run. */
function axis(
  study: Study,
  key: string | undefined,
): { labels: string[]; of: (r: RunData) => string } {
  const a = study.grid.find((g) => g.key === key);
  if (key === undefined || !a || a.values.length < 2) return { labels: [""], of: () => "" };
  return { labels: a.values.map((v) => label(key, v)), of: (r) => label(key, r.point[key]) };
}

/** "1 seed", "3 seeds". */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The lowest log10 loss the loss figure's axis shows (the paper's axis went down to −8). */
const LOSS_FLOOR = -8;

/** Fixed settings of a study, for subtitles: "d = 100, m = 10, p = 1, 30 epochs". */
function fixedSettings(study: Study, runs: RunData[]): string {
  const c = runs[0].config;
  const varied = new Set(study.grid.filter((g) => g.values.length > 1).map((g) => g.key));
  const parts: string[] = [];
  if (!varied.has("d")) parts.push(`d = ${c.d}`);
  if (!varied.has("widths")) parts.push(`teacher widths ${(c.widths as number[]).join("-")}`);
  if (!varied.has("multi")) parts.push(`multi = ${c.multi}`);
  if (!varied.has("p")) parts.push(`p = ${c.p}`);
  if (!varied.has("epochs")) parts.push(`${c.epochs} epochs × ${c.iters} steps`);
  return parts.join(", ");
}

/** Seeds (first `max`, sorted) of a set of runs and the note saying so. */
function seedsOf(runs: RunData[], max: number): { seeds: Set<number>; note: string } {
  const all = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const seeds = new Set(all.slice(0, max));
  const range = (xs: number[]) => xs.length === 1 ? `seed ${xs[0]}` : `seeds ${xs.join(", ")}`;
  return {
    seeds,
    note: all.length > max
      ? `${range(all.slice(0, max))} of ${all.length} overlaid`
      : all.length > 1
      ? `${range(all)} overlaid`
      : range(all),
  };
}

// ---------------------------------------------------------------------------------------------
// Figures.

/** A figure to write, or the reason it is skipped. */
type Figure =
  | { file: string; title: string; caption: string; spec: Spec; axisTitles: string[] }
  | { skipped: string; title: string };

const CORR_X = "best correlation to any teacher";
const FANOUT_Y = "fan-out norm ‖v_k‖";
const EPOCH_X = "epoch";
const LOSS_Y = "log10 eval MSE";
const MAX_SEEDS = 8;

/**
 * Which varied grid keys play the roles of a figure (panel rows, columns, series…): each role
 * takes its preferred key if the grid varies it, else the next varied key nobody took, in grid
 * order; the keys left over (`rest`) choose a figure file each. `used` are the assigned keys.
 */
function roles(study: Study, prefs: string[]) {
  const varied = study.grid.filter((g) => g.values.length > 1).map((g) => g.key);
  const keys: (string | undefined)[] = prefs.map((p) => varied.includes(p) ? p : undefined);
  const rest = varied.filter((k) => !keys.includes(k));
  for (let i = 0; i < keys.length; i++) if (keys[i] === undefined) keys[i] = rest.shift();
  return { keys, rest, used: keys.filter((k): k is string => k !== undefined) };
}

/** The legend title of a series key. */
const seriesTitle = (key: string | undefined): string =>
  key === undefined || key === "multi" ? "student width" : label(key, "").replace(/ = $/, "");

/** Fig. 1: the L-shape of layer 0, one point per student node, p rows × multi columns. */
function lShapeFigures(study: Study): Figure[] {
  const title = "Fig. 1: L-shape (best correlation vs fan-out norm per student node)";
  const runs = study.runs.filter((r) => r.finalStudents[0]?.bestCorr.length);
  if (!runs.length) return [{ title, skipped: "no run has students.csv (eval set)" }];
  const { keys: [rowKey, colKey], rest } = roles(study, ["p", "multi"]);
  const row = axis(study, rowKey), col = axis(study, colKey);
  return groupBy({ ...study, runs }, rest).map((g) => {
    const { seeds, note } = seedsOf(g.runs, MAX_SEEDS);
    const data: Record<string, unknown>[] = [];
    for (const r of g.runs) {
      if (!seeds.has(r.seed)) continue;
      const s = r.finalStudents[0];
      for (let k = 0; k < s.bestCorr.length; k++) {
        data.push({
          row: row.of(r),
          col: col.of(r),
          x: s.bestCorr[k],
          y: s.fanout[k],
          color: String(r.seed),
        });
      }
    }
    const t = [title, g.title].filter((x) => x).join(": ");
    const epoch = g.runs[0].metrics.epoch.at(-1);
    const subtitle = `${fixedSettings(study, g.runs)}; eval set, epoch ${epoch}; ${note}`;
    return {
      file: `fig1_lshape${g.suffix}.svg`,
      title: t,
      caption: "Each point is a student node of the first hidden layer at the end of training: " +
        "students that specialize (correlation near 1 with a teacher node) keep a large fan-out " +
        "norm, the others shrink towards zero.",
      axisTitles: [CORR_X, FANOUT_Y],
      spec: scatterSpec(data, {
        title: t,
        subtitle,
        panels: { rows: row.labels, cols: col.labels },
        xTitle: CORR_X,
        yTitle: FANOUT_Y,
        colorTitle: "seed",
        colorOrder: [...seeds].sort((a, b) => a - b).map(String),
        xDomain: [0, 1],
      }),
    };
  });
}

/** The early epoch of Fig. 2: 5 if evaluated, else the last evaluated one before the end. */
function earlyEpoch(epochs: number[]): number | null {
  const last = epochs.at(-1)!;
  const before = epochs.filter((e) => e >= 1 && e <= 5 && e < last);
  return before.length ? before.at(-1)! : null;
}

/** Success rate per teacher over seeds at an epoch: rows of { teacher, rate, corr, seeds }. */
function successAt(runs: RunData[], epoch: number) {
  const teachers = runs[0].alignment[0].teachers;
  return Array.from({ length: teachers }, (_, j) => {
    const corrs: number[] = [];
    for (const r of runs) {
      const a = r.alignment[0], i = a.epochs.indexOf(epoch);
      if (i >= 0 && j < a.teachers) corrs.push(a.bestCorr[i * a.teachers + j]);
    }
    return {
      teacher: j,
      rate: corrs.filter((c) => c > SUCCESS_TAU).length / corrs.length,
      corr: mean(corrs),
      seeds: corrs.length,
    };
  });
}

/** Fig. 2: success rate per teacher index, p columns, multi lines, early epoch and end rows. */
function successFigures(study: Study): Figure[] {
  const title = "Fig. 2: success rate per teacher node";
  if (study.kind === "run") {
    return [{ title, skipped: "a rate over seeds: needs a sweep (see Fig. 4b for one run)" }];
  }
  const runs = study.runs.filter((r) => r.alignment[0]);
  if (!runs.length) return [{ title, skipped: "no run has alignment.csv" }];
  // A population axis (--grid population=false,true) draws population runs as their own line.
  const popAxis = study.grid.some((g) => g.key === "population" && g.values.length > 1);
  const { keys: [colKey, seriesKey], rest, used } = roles(study, [
    "p",
    popAxis ? "population" : "multi",
  ]);
  const col = axis(study, colKey), series = axis(study, seriesKey);
  const seriesLabels = series.labels[0] === ""
    ? [label("multi", String(runs[0].config.multi))]
    : series.labels;
  const seriesOf = (r: RunData) => series.of(r) || seriesLabels[0];
  return groupBy({ ...study, runs }, rest).map((g) => {
    const epochs = g.runs[0].alignment[0].epochs, last = epochs.at(-1)!;
    const early = earlyEpoch(epochs);
    const rowsOf = [...(early === null ? [] : [early]), last];
    const rowLabel = (e: number) => e === last ? `epoch ${e} (end)` : `epoch ${e}`;
    const data: Record<string, unknown>[] = [];
    for (const e of rowsOf) {
      for (
        const sub of groupBy({ ...study, runs: g.runs }, used)
      ) {
        for (const s of successAt(sub.runs, e)) {
          data.push({
            row: rowLabel(e),
            col: col.of(sub.runs[0]),
            series: seriesOf(sub.runs[0]),
            x: s.teacher,
            y: s.rate,
          });
        }
      }
    }
    const t = [title, g.title].filter((x) => x).join(": ");
    return {
      file: `fig2_success${g.suffix}.svg`,
      title: t,
      caption: `Fraction of seeds in which teacher node j (0 = strongest fan-out) has a student ` +
        `node with eval correlation above ${SUCCESS_TAU}, early in training and at the end; the ` +
        `markers of the student widths sit a quarter node apart around j, so that equal rates ` +
        `stay visible.`,
      axisTitles: ["teacher node j (0 = strongest)", "success rate"],
      spec: linesSpec(data, {
        title: t,
        subtitle: `${fixedSettings(study, g.runs)}; ${
          new Set(g.runs.map((r) => r.seed)).size
        } seeds; success: best correlation > ${SUCCESS_TAU}`,
        panels: { rows: rowsOf.map(rowLabel), cols: col.labels },
        xTitle: "teacher node j (0 = strongest)",
        yTitle: "success rate",
        seriesTitle: seriesTitle(seriesKey),
        seriesOrder: seriesLabels,
        yDomain: [0, 1.02],
        xInteger: true,
        points: true,
        dodge: 0.25,
      }),
    };
  });
}

/** Fig. 3's caption for the exact loss lines. */
const EXACT_LOSS = "the exact population MSE (no sampling), left out at epochs where it rounds " +
  "to zero or below (under about 1e-10: large terms cancel)";

/** Fig. 3: log10 eval loss vs epoch, mean ± std over seeds, p panels, multi lines. */
function lossFigures(study: Study): Figure[] {
  const title = "Fig. 3: eval loss";
  const runs = study.runs.filter((r) => r.metrics.epoch.length > 0);
  if (!runs.length) return [{ title, skipped: "no evaluations in metrics.csv" }];
  if (study.kind === "run") {
    const r = runs[0], pop = r.metrics.population;
    const data = r.metrics.epoch.flatMap((e, i) => [
      { series: "train", x: e, y: log10(r.metrics.train[i]) },
      { series: "eval", x: e, y: log10(r.metrics.eval[i]) },
      ...(pop ? [{ series: "population", x: e, y: log10(pop[i]) }] : []),
    ]);
    const order = pop ? ["train", "eval", "population"] : ["train", "eval"];
    return [{
      file: "fig3_loss.svg",
      title: "Fig. 3: training and eval loss",
      caption: "Mean squared error over samples and outputs after each evaluated epoch" +
        (pop ? `; dashed, population: ${EXACT_LOSS}.` : "."),
      axisTitles: [EPOCH_X, "log10 MSE"],
      spec: linesSpec(data, {
        title: "Fig. 3: training and eval loss",
        subtitle: `${fixedSettings(study, runs)}; seed ${r.seed}`,
        panels: { rows: [""], cols: [""] },
        xTitle: EPOCH_X,
        xInteger: true,
        yTitle: "log10 MSE",
        seriesTitle: "data set",
        seriesOrder: order,
        size: { width: 420, height: 240 },
        dashSeries: ["population"],
      }),
    }];
  }
  // A population axis (--grid population=false,true) draws population runs as their own line.
  const popAxis = study.grid.some((g) => g.key === "population" && g.values.length > 1);
  const { keys: [colKey, seriesKey], rest, used } = roles(study, [
    "p",
    popAxis ? "population" : "multi",
  ]);
  const col = axis(study, colKey), series = axis(study, seriesKey);
  const seriesLabels = series.labels[0] === ""
    ? [label("multi", String(runs[0].config.multi))]
    : series.labels;
  return groupBy({ ...study, runs }, rest).map((g) => {
    const data: Record<string, unknown>[] = [];
    let dashed = false;
    for (
      const sub of groupBy({ ...study, runs: g.runs }, used)
    ) {
      for (const kind of LINE_KINDS) {
        const byEpoch = new Map<number, number[]>();
        for (const r of sub.runs) {
          const ys = kind === LINE_KINDS[0] ? r.metrics.eval : r.metrics.population;
          r.metrics.epoch.forEach((e, i) => {
            const v = ys ? log10(ys[i]) : NaN;
            if (Number.isFinite(v)) byEpoch.set(e, [...(byEpoch.get(e) ?? []), v]);
          });
        }
        if (kind !== LINE_KINDS[0] && byEpoch.size > 0) dashed = true;
        for (const [e, vs] of [...byEpoch].sort((a, b) => a[0] - b[0])) {
          // a mean over only some of the seeds would jump: an epoch where a seed's loss has no
          // logarithm (0, or a negative exact value below its rounding) is left out of the line
          if (vs.length < sub.runs.length) continue;
          const m = mean(vs), s = std(vs);
          data.push({
            col: col.of(sub.runs[0]),
            series: series.of(sub.runs[0]) || seriesLabels[0],
            kind,
            x: e,
            y: m,
            lo: m - s,
            hi: m + s,
          });
        }
      }
    }
    // A readable y range: the data's, but not below LOSS_FLOOR (the paper's axis went to −8);
    // curves that go below it are cut there and marked with a triangle where they leave.
    const lows = data.map((d) => d.lo as number).filter(Number.isFinite);
    const highs = data.map((d) => d.hi as number).filter(Number.isFinite);
    const yDomain: [number, number] = [
      Math.max(LOSS_FLOOR, Math.floor(Math.min(...lows))),
      Math.ceil(Math.max(...highs)),
    ];
    const exits: Record<string, unknown>[] = [];
    const left = new Set<string>();
    for (const d of data) {
      const key = `${d.col}\u0000${d.series}`;
      if ((d.y as number) < yDomain[0] && !left.has(key)) {
        left.add(key);
        exits.push({ ...d, y: yDomain[0], exit: true });
      }
    }
    const t = [title, g.title].filter((x) => x).join(": ");
    return {
      file: `fig3_loss${g.suffix}.svg`,
      title: t,
      caption: "log10 of the eval mean squared error; line: mean over seeds, band: ± one " +
        "standard deviation" +
        (dashed ? `; dashed: ${EXACT_LOSS}` : "") +
        (exits.length
          ? `; the axis stops at ${yDomain[0]}: a triangle marks where a curve goes below it.`
          : "."),
      axisTitles: [EPOCH_X, LOSS_Y],
      spec: linesSpec([...data, ...exits], {
        title: t,
        yDomain,
        exits: exits.length > 0,
        subtitle: `${fixedSettings(study, g.runs)}; mean ± std over ${
          plural(
            new Set(g.runs.map((r) => r.seed)).size,
            "seed",
          )
        }`,
        panels: { rows: [""], cols: col.labels },
        xTitle: EPOCH_X,
        xInteger: true,
        yTitle: LOSS_Y,
        seriesTitle: seriesTitle(seriesKey),
        seriesOrder: seriesLabels,
        band: true,
        dashExact: dashed,
      }),
    };
  });
}

/** Up to five teacher indices, evenly spread from the strongest to the weakest. */
function shownTeachers(m: number): number[] {
  if (m <= 5) return Array.from({ length: m }, (_, j) => j);
  return [...new Set([0, 1, 2, 3, 4].map((i) => Math.round((i * (m - 1)) / 4)))];
}

/** Fig. 4: per-teacher trajectories of every student's correlation (first seed). */
async function trajectoryFigures(study: Study): Promise<Figure[]> {
  const title = "Fig. 4: per-teacher trajectories";
  const runs = study.runs.filter((r) => (r.corrEpochs[0]?.length ?? 0) >= 3);
  if (!runs.length) {
    return [{
      title,
      skipped: "needs correlation matrices at 3 or more epochs (corr_eval_layer0_epoch<e>.npy): " +
        "train with --save-corr-at, as the trajectory preset does",
    }];
  }
  const { keys: [colKey], rest } = roles(study, ["multi"]);
  const col = axis(study, colKey);
  const firstSeed = Math.min(...runs.map((r) => r.seed));
  const chosen = runs.filter((r) => r.seed === firstSeed);
  const out: Figure[] = [];
  for (const g of groupBy({ ...study, runs: chosen }, rest)) {
    const data: Record<string, unknown>[] = [];
    const teachers = shownTeachers(Number(g.runs[0].alignment[0]?.teachers ?? 0) || 1);
    const t = [title, g.title].filter((x) => x).join(": ");
    let unreadable: string | null = null;
    for (const r of g.runs) {
      const epochs = r.corrEpochs[0];
      let mats: Awaited<ReturnType<typeof readCorr>>[];
      try {
        mats = [];
        for (const e of epochs) mats.push(await readCorr(r, 0, e));
      } catch (e) {
        if (!(e instanceof NpyFileError)) throw e;
        unreadable = e.message;
        break;
      }
      const last = mats.at(-1)!;
      for (const j of teachers) {
        if (j >= last.teachers) continue;
        let best = 0;
        for (let k = 1; k < last.students; k++) {
          if (last.data[j * last.students + k] > last.data[j * last.students + best]) best = k;
        }
        // grey students first so the best one is drawn on top
        const order = [...Array(last.students).keys()].filter((k) => k !== best).concat(best);
        for (const k of order) {
          const kind = k === best ? "best student at the end" : "other students";
          epochs.forEach((e, i) =>
            data.push({
              row: `teacher j = ${j}`,
              col: col.of(r),
              student: k,
              kind,
              x: e,
              y: mats[i].data[j * mats[i].students + k],
            })
          );
        }
      }
    }
    if (unreadable) {
      out.push({ title: t, skipped: `unreadable correlation file ${unreadable}` });
      continue;
    }
    out.push({
      file: `fig4_trajectories${g.suffix}.svg`,
      title: t,
      caption: "Eval correlation of every student node of the first hidden layer with teacher " +
        "node j after each saved epoch; in colour the student closest to j at the end.",
      axisTitles: [EPOCH_X, "correlation with teacher j"],
      spec: trajectorySpec(data, {
        title: t,
        subtitle: `${fixedSettings(study, g.runs)}; seed ${firstSeed}; teacher nodes ${
          teachers.join(", ")
        } (0 = strongest)`,
        panels: { rows: teachers.map((j) => `teacher j = ${j}`), cols: col.labels },
      }),
    });
  }
  return out;
}

/** Fig. 4b: best correlation of each teacher vs epoch (mean over seeds), p rows × multi columns. */
function bestCorrFigures(study: Study): Figure[] {
  const title = "Fig. 4b: best correlation per teacher node";
  const runs = study.runs.filter((r) => r.alignment[0]);
  if (!runs.length) return [{ title, skipped: "no run has alignment.csv" }];
  const { keys: [rowKey, colKey], rest, used } = roles(study, ["p", "multi"]);
  const row = axis(study, rowKey), col = axis(study, colKey);
  return groupBy({ ...study, runs }, rest).map((g) => {
    const teachers = g.runs[0].alignment[0].teachers;
    const data: Record<string, unknown>[] = [];
    for (
      const sub of groupBy({ ...study, runs: g.runs }, used)
    ) {
      const epochs = sub.runs[0].alignment[0].epochs;
      for (const [i, e] of epochs.entries()) {
        for (let j = 0; j < teachers; j++) {
          const vs = sub.runs.map((r) => r.alignment[0].bestCorr[i * teachers + j])
            .filter(Number.isFinite);
          if (vs.length) {
            data.push({
              row: row.of(sub.runs[0]),
              col: col.of(sub.runs[0]),
              series: String(j),
              x: e,
              y: mean(vs),
            });
          }
        }
      }
    }
    const seeds = new Set(g.runs.map((r) => r.seed)).size;
    const t = [title, g.title].filter((x) => x).join(": ");
    return {
      file: `fig4b_best_corr${g.suffix}.svg`,
      title: t,
      caption: "For each teacher node j of the first hidden layer, the eval correlation of its " +
        `best-matching student node after each evaluated epoch${
          seeds > 1 ? ", mean over seeds" : ""
        }: strong teacher nodes (small j) are learned first.`,
      axisTitles: [EPOCH_X, "best correlation"],
      spec: linesSpec(data, {
        title: t,
        subtitle: `${fixedSettings(study, g.runs)}; ${
          seeds > 1 ? `mean over ${seeds} seeds` : `seed ${g.runs[0].seed}`
        }`,
        panels: { rows: row.labels, cols: col.labels },
        xTitle: EPOCH_X,
        xInteger: true,
        yTitle: "best correlation",
        seriesTitle: "teacher node j",
        scheme: "viridis", // ordered: strong teachers dark, weak ones light
        seriesOrder: Array.from({ length: teachers }, (_, j) => String(j)),
        yDomain: [0, 1],
        size: study.kind === "run" ? { width: 420, height: 240 } : undefined,
      }),
    };
  });
}

/** Up to four evaluated epochs spread from the first to the last. */
function spreadEpochs(epochs: number[]): number[] {
  if (epochs.length <= 4) return epochs;
  const n = epochs.length - 1;
  return [...new Set([0, 1, 2, 3].map((i) => epochs[Math.round((i * n) / 3)]))];
}

/** Fig. 5: multi-layer L-shape, best correlation vs sqrt(E[β_kk]) per layer (rows) and epoch. */
async function multiLayerFigures(study: Study): Promise<Figure[]> {
  const title = "Fig. 5: multi-layer L-shape";
  const runs = study.runs.filter((r) => r.hidden > 1);
  if (!runs.length) {
    return [{
      title,
      skipped: "only two-layer runs: needs a deeper teacher (e.g. --widths 10,15,20,25, the " +
        "multi-layer preset)",
    }];
  }
  const keys = study.grid.filter((g) => g.values.length > 1).map((g) => g.key);
  const out: Figure[] = [];
  for (const g of groupBy({ ...study, runs }, keys)) {
    const { seeds, note } = seedsOf(g.runs, MAX_SEEDS);
    const all = new Map<RunData, StudentRows[]>();
    for (const r of g.runs) if (seeds.has(r.seed)) all.set(r, await readAllStudents(r));
    const epochs = spreadEpochs([...new Set(g.runs[0].metrics.epoch)]);
    const hidden = g.runs[0].hidden;
    const data: Record<string, unknown>[] = [];
    for (const [r, layers] of all) {
      layers.forEach((s, h) => {
        for (let i = 0; i < s.epoch.length; i++) {
          if (!epochs.includes(s.epoch[i]) || !Number.isFinite(s.beta[i])) continue;
          data.push({
            row: `layer ${h}`,
            col: `epoch ${s.epoch[i]}`,
            x: s.bestCorr[i],
            y: s.beta[i],
            color: String(r.seed),
          });
        }
      });
    }
    if (!data.length) {
      out.push({ title, skipped: "students.csv has no sqrt(E[β_kk]) values (beta_norm)" });
      continue;
    }
    const t = [title, g.title].filter((x) => x).join(": ");
    const yTitle = "sqrt(E[β_kk])";
    out.push({
      file: `fig5_multilayer_lshape${g.suffix}.svg`,
      title: t,
      caption: "Each point is a student node of a hidden layer (rows, 0 = lowest) after an " +
        "evaluated epoch (columns): best eval correlation with a teacher node of the same " +
        "layer against the root mean square of its β_kk (Jacobian of the output).",
      axisTitles: [CORR_X, yTitle],
      spec: scatterSpec(data, {
        title: t,
        subtitle: `${fixedSettings(study, g.runs)}; eval set; ${note}`,
        panels: {
          rows: Array.from({ length: hidden }, (_, h) => `layer ${h}`),
          cols: epochs.map((e) => `epoch ${e}`),
        },
        xTitle: CORR_X,
        yTitle,
        yPerRow: true,
        colorTitle: "seed",
        colorOrder: [...seeds].sort((a, b) => a - b).map(String),
        xDomain: [0, 1],
      }),
    });
  }
  return out;
}

/** Fig. 6: eval loss and mean best correlation vs N_train, teacher-aware vs Gaussian data. */
function sampleComplexityFigures(study: Study): Figure[] {
  const title = "Fig. 6: sample complexity";
  const nAxis = study.grid.find((g) => g.key === "nTrain");
  if (!nAxis || nAxis.values.length < 2) {
    return [{
      title,
      skipped: "N_train is not an axis of the sweep (the sample-complexity preset)",
    }];
  }
  const runs = study.runs.filter((r) => r.alignment[0]);
  const dataAxis = study.grid.find((g) => g.key === "data" && g.values.length > 1);
  const out: Figure[] = [];
  for (
    const g of groupBy(
      { ...study, runs },
      study.grid.filter((a) => a.values.length > 1 && a.key !== "nTrain" && a.key !== "data")
        .map((a) => a.key),
    )
  ) {
    const series = dataAxis
      ? dataAxis.values
      : [...new Set(g.runs.map((r) => String(r.config.data ?? "gaussian")))];
    const rows: {
      panel: "left" | "right";
      series: string;
      x: number;
      y: number;
      lo: number;
      hi: number;
    }[] = [];
    for (
      const sub of groupBy({ ...study, runs: g.runs }, ["nTrain", ...(dataAxis ? ["data"] : [])])
    ) {
      const r0 = sub.runs[0];
      const s = dataAxis ? r0.point.data : String(r0.config.data ?? "gaussian");
      const x = Number(r0.point.nTrain);
      const losses = sub.runs.map((r) => log10(r.metrics.eval.at(-1)!));
      const corrs = sub.runs.map((r) => {
        const a = r.alignment[0], i = a.epochs.length - 1;
        return mean(Array.from(a.bestCorr.subarray(i * a.teachers, (i + 1) * a.teachers)));
      });
      for (const [panel, vs] of [["left", losses], ["right", corrs]] as const) {
        const m = mean(vs), sd = std(vs);
        rows.push({ panel, series: s, x, y: m, lo: m - sd, hi: m + sd });
      }
    }
    const t = [title, g.title].filter((x) => x).join(": ");
    const only = dataAxis ? "" : `; ${series.join(", ")} training data only`;
    out.push({
      file: `fig6_sample_complexity${g.suffix}.svg`,
      title: t,
      caption: "At the end of training, against the number of training samples (log scale): " +
        "log10 eval MSE and the mean over teacher nodes of the best eval correlation; mean ± " +
        `std over seeds${dataAxis ? "" : ` (${series.join(", ")} data only: not varied)`}.`,
      axisTitles: ["training samples N_train", LOSS_Y, "mean best correlation"],
      spec: twoLinesSpec(rows, {
        title: t,
        subtitle: `${fixedSettings(study, g.runs)}${only}`,
        panels: { rows: [""], cols: [""] },
        xTitle: "training samples N_train",
        yTitle: LOSS_Y,
        rightTitle: "mean best correlation",
        leftPanel: "eval loss",
        rightPanel: "mean best correlation over teacher nodes",
        seriesTitle: "training data",
        seriesOrder: series,
        xLog: true,
        xValues: nAxis.values.map(Number),
        band: true,
        points: true,
      }),
    });
  }
  return out;
}

/** Whether a run finished without diverging. */
const completed = (r: RunData): boolean => r.result?.status !== "diverged";

/** The mean over teacher nodes of the best eval correlation of hidden layer h at the end. */
function finalMeanBestCorr(r: RunData, h: number): number {
  const a = r.alignment[h], i = a.epochs.length - 1;
  return mean(Array.from(a.bestCorr.subarray(i * a.teachers, (i + 1) * a.teachers)));
}

/** Mean and sample std over seeds. */
interface Stat {
  mean: number;
  std: number;
}

function stat(vs: number[]): Stat {
  const ok = vs.filter(Number.isFinite);
  return ok.length ? { mean: mean(ok), std: std(ok) } : { mean: NaN, std: NaN };
}

/** One point of Fig. 7: a student width and N_train, statistics over the completed seeds. */
interface SampleComplexityPoint {
  multi: string;
  nTrain: number;
  seeds: number;
  /** log10 of the trained loss (MSE or cross-entropy) at the end, training and eval set. */
  trainLoss: Stat;
  evalLoss: Stat;
  /** Per hidden layer, the mean over teacher nodes of the best eval correlation (the figure's). */
  perTeacher: Stat[];
  /** Per hidden layer, the mean over student nodes of their best eval correlation. */
  perStudent: Stat[];
}

/** The data of Fig. 7, one group per file (the trained loss and keys other than N and multi). */
interface SampleComplexityGroup {
  group: Group;
  loss: string;
  hidden: number;
  diverged: number;
  points: SampleComplexityPoint[];
}

/** Fig. 7's numbers, or null when the study is not a deep sweep over N_train. */
function multiLayerSampleComplexity(study: Study): SampleComplexityGroup[] | null {
  const nAxis = study.grid.find((g) => g.key === "nTrain");
  const runs = study.runs.filter((r) => r.hidden > 1 && r.alignment.length === r.hidden);
  if (!nAxis || nAxis.values.length < 2 || !runs.length) return null;
  const fileKeys = study.grid.filter((a) =>
    a.values.length > 1 && a.key !== "nTrain" && a.key !== "multi"
  ).map((a) => a.key);
  return groupBy({ ...study, runs }, fileKeys).map((g) => {
    const loss = String(g.runs[0].config.loss ?? "mse");
    const ce = loss === "cross-entropy";
    const hidden = Math.max(...g.runs.map((r) => r.hidden));
    const ok = g.runs.filter(completed);
    const final = (r: RunData, which: "train" | "eval") => {
      const v = ce ? r.metrics[which === "train" ? "trainCe" : "evalCe"] : r.metrics[which];
      return log10(v?.at(-1) ?? NaN);
    };
    const layers = Array.from({ length: hidden }, (_, h) => h);
    const pointKeys = study.grid.some((a) => a.key === "multi") ? ["nTrain", "multi"] : ["nTrain"];
    const points = groupBy({ ...study, runs: ok }, pointKeys).map((sub) => ({
      multi: String(sub.runs[0].point.multi ?? sub.runs[0].config.multi),
      nTrain: Number(sub.runs[0].point.nTrain),
      seeds: sub.runs.length,
      trainLoss: stat(sub.runs.map((r) => final(r, "train"))),
      evalLoss: stat(sub.runs.map((r) => final(r, "eval"))),
      perTeacher: layers.map((h) =>
        stat(sub.runs.filter((r) => r.alignment[h]).map((r) => finalMeanBestCorr(r, h)))
      ),
      perStudent: layers.map((h) =>
        stat(sub.runs.map((r) => mean(r.finalStudents[h]?.bestCorr ?? [])))
      ),
    }));
    return { group: g, loss, hidden, diverged: g.runs.length - ok.length, points };
  });
}

/**
 * Fig. 7: the multi-layer sample complexity. Per trained loss (a file each) and student width (a
 * row each): left, log10 of the trained loss at the end (MSE, or cross-entropy) on the training
 * and the eval set; right, per hidden layer the mean over teacher nodes of the best eval
 * correlation; both against N_train on a log axis, mean ± std over seeds. Diverged runs are left
 * out (and counted in the caption).
 */
function multiLayerSampleComplexityFigures(study: Study): Figure[] {
  const title = "Fig. 7: multi-layer sample complexity";
  const data = multiLayerSampleComplexity(study);
  if (!data) {
    return [{
      title,
      skipped: "needs a sweep of a deeper teacher with N_train as an axis " +
        "(the multi-layer-sample-complexity preset)",
    }];
  }
  const nValues = study.grid.find((g) => g.key === "nTrain")!.values.map(Number);
  const multiAxis = study.grid.find((g) => g.key === "multi" && g.values.length > 1);
  return data.map(({ group: g, loss, hidden, diverged, points }) => {
    const ce = loss === "cross-entropy";
    const lossY = ce ? "log10 cross-entropy" : "log10 MSE";
    const layers = Array.from({ length: hidden }, (_, h) => `layer ${h}`);
    const rowOf = (multi: string) => multiAxis ? label("multi", multi) : "";
    const rows: { row: string; side: "left" | "right" }[] = [];
    for (const p of points) {
      const push = (side: "left" | "right", series: string, st: Stat) => {
        if (!Number.isFinite(st.mean)) return;
        const { mean: y, std: sd } = st;
        rows.push({ row: rowOf(p.multi), side, series, x: p.nTrain, y, lo: y - sd, hi: y + sd } as {
          row: string;
          side: "left" | "right";
        });
      };
      push("left", "train", p.trainLoss);
      push("left", "eval", p.evalLoss);
      p.perTeacher.forEach((st, h) => push("right", layers[h], st));
    }
    const t = [title, g.title || `loss = ${loss}`].join(": ");
    const dropped = diverged ? ` ${diverged} diverged run(s) left out.` : "";
    const common = {
      subtitle: "",
      panels: { rows: [""], cols: [""] },
      xTitle: "training samples N_train",
      xLog: true,
      xValues: nValues,
      xFormat: "~s",
      band: true,
      points: true,
    };
    return {
      file: `fig7_multilayer_sample_complexity${g.suffix}.svg`,
      title: t,
      caption: `At the end of training, against the number of training samples (log scale), per ` +
        `student width: log10 of the trained loss (${
          ce ? "cross-entropy against the teacher's arg-max class" : "MSE"
        }) on the training and the eval set, and per hidden layer (0 = lowest) the mean over ` +
        "teacher nodes of the best eval correlation; mean ± std over seeds." + dropped,
      axisTitles: ["training samples N_train", lossY, "mean best correlation"],
      spec: pairedLinesSpec(rows, {
        title: t,
        subtitle: fixedSettings(study, g.runs),
        rows: multiAxis ? multiAxis.values.map((v) => label("multi", v)) : [""],
        left: {
          ...common,
          title: "loss at the end",
          yTitle: lossY,
          seriesTitle: "set",
          seriesOrder: ["train", "eval"],
        },
        right: {
          ...common,
          title: "mean best correlation per layer",
          yTitle: "mean best correlation",
          yDomain: [0, 1],
          seriesTitle: "hidden layer",
          seriesOrder: layers,
        },
      }),
    };
  });
}

/** Fig. 7's numbers as a table, with the per-student mean beside the figure's per-teacher one. */
function multiLayerSampleComplexityTable(study: Study): Table[] {
  const data = multiLayerSampleComplexity(study);
  if (!data) return [];
  const hidden = Math.max(...data.map((d) => d.hidden));
  const keys = study.grid.filter((a) =>
    a.values.length > 1 && a.key !== "nTrain" && a.key !== "multi"
  )
    .map((a) => a.key);
  const columns = [
    ...keys.filter((k) => k !== "loss"),
    "loss",
    "multi",
    "nTrain",
    "seeds",
    "log10_train_loss_mean",
    "log10_train_loss_std",
    "log10_eval_loss_mean",
    "log10_eval_loss_std",
  ];
  for (let h = 0; h < hidden; h++) {
    columns.push(
      `layer${h}_teacher_mean_best_corr_mean`,
      `layer${h}_teacher_mean_best_corr_std`,
      `layer${h}_student_mean_best_corr_mean`,
      `layer${h}_student_mean_best_corr_std`,
    );
  }
  const rows: (string | number)[][] = [];
  for (const d of data) {
    const r0 = d.group.runs[0];
    for (const p of d.points) {
      const row: (string | number)[] = [
        ...keys.filter((k) => k !== "loss").map((k) => r0.point[k]),
        d.loss,
        p.multi,
        p.nTrain,
        p.seeds,
        p.trainLoss.mean,
        p.trainLoss.std,
        p.evalLoss.mean,
        p.evalLoss.std,
      ];
      for (let h = 0; h < hidden; h++) {
        const t = p.perTeacher[h], s = p.perStudent[h];
        row.push(t?.mean ?? NaN, t?.std ?? NaN, s?.mean ?? NaN, s?.std ?? NaN);
      }
      rows.push(row);
    }
  }
  return [{
    file: "multilayer_sample_complexity.csv",
    title: "Fig. 7 in numbers: log10 of the trained loss and, per hidden layer, the mean best " +
      "eval correlation over teacher nodes (the figure's) and over student nodes, mean and std " +
      "over the completed seeds",
    columns,
    rows,
    show: false,
  }];
}

// ---------------------------------------------------------------------------------------------
// Tables.

/** A table: column names and rows of cells (numbers or strings). */
interface Table {
  file: string;
  title: string;
  columns: string[];
  rows: (string | number)[][];
  /** Shown in index.html (else only linked). */
  show: boolean;
}

function toCsv(t: Table): string {
  return [t.columns, ...t.rows].map((r) => csvRow(r)).join("");
}

/** Per layer of a run (or per grid point of a sweep): the end-of-training summary. */
function summaryTables(study: Study): Table[] {
  const tau = String(SUCCESS_TAU);
  if (study.kind === "run") {
    const r = study.runs[0], res = r.result;
    const rows = (res?.layers ?? []).map((l) => [
      l.layer,
      l.teachers,
      l.students,
      l.meanBestCorr,
      ...TAUS.map((t) => l.covered[String(t)] ?? NaN),
      l.deadStudents.length,
    ]);
    const teacherRows: (string | number)[][] = [];
    for (const l of res?.layers ?? []) {
      l.bestCorr.forEach((c, j) => teacherRows.push([l.layer, j, c, l.success[j] ? 1 : 0]));
    }
    return [
      {
        file: "summary.csv",
        title: "Per hidden layer at the end (eval set)",
        columns: [
          "layer",
          "teachers",
          "students",
          "mean_best_corr",
          ...TAUS.map((t) => `covered_${t}`),
          "dead_students",
        ],
        rows,
        show: true,
      },
      {
        file: "teachers.csv",
        title: `Per teacher node at the end: best eval correlation, success (> ${tau})`,
        columns: ["layer", "teacher", "best_corr", "success"],
        rows: teacherRows,
        show: true,
      },
    ];
  }
  const keys = study.grid.map((g) => g.key);
  const hidden = Math.max(0, ...study.runs.map((r) => r.hidden));
  const columns = [
    ...keys,
    "seeds",
    "log10_eval_mse_mean",
    "log10_eval_mse_std",
    "eval_mse_median",
  ];
  for (let h = 0; h < hidden; h++) {
    columns.push(`layer${h}_mean_best_corr`, `layer${h}_covered_${tau}`, `layer${h}_dead_students`);
  }
  columns.push("seconds_mean");
  const rows: (string | number)[][] = [];
  const success: (string | number)[][] = [];
  for (const g of groupBy(study, keys)) {
    const r0 = g.runs[0];
    const evals = g.runs.map((r) => r.metrics.eval.at(-1)!);
    const logs = evals.map(log10);
    const row: (string | number)[] = [
      ...keys.map((k) => r0.point[k]),
      g.runs.length,
      mean(logs),
      std(logs),
      median(evals),
    ];
    for (let h = 0; h < hidden; h++) {
      const ls = g.runs.map((r) => r.result?.layers?.[h]).filter((l) => l !== undefined);
      row.push(
        mean(ls.map((l) => l.meanBestCorr)),
        mean(ls.map((l) => l.covered[tau] ?? NaN)),
        mean(ls.map((l) => l.deadStudents.length)),
      );
    }
    row.push(mean(g.runs.map((r) => secondsOf(r.result))));
    rows.push(row);
    if (r0.alignment[0]) {
      const epochs = r0.alignment[0].epochs, last = epochs.at(-1)!;
      const early = earlyEpoch(epochs);
      for (const e of [...(early === null ? [] : [early]), last]) {
        for (const s of successAt(g.runs, e)) {
          success.push([...keys.map((k) => r0.point[k]), e, s.teacher, s.rate, s.corr, s.seeds]);
        }
      }
    }
  }
  return [
    {
      file: "summary.csv",
      title: "Per configuration at the end (eval set; means over seeds)",
      columns,
      rows,
      show: true,
    },
    {
      file: "success_by_teacher.csv",
      title: `Per configuration, epoch and teacher node (layer 0): success rate (> ${tau}) and ` +
        "mean best correlation over seeds",
      columns: [...keys, "epoch", "teacher", "success_rate", "best_corr_mean", "seeds"],
      rows: success,
      show: false,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// index.html.

const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

const fmt = (v: string | number): string => {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return "";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(4);
};

function htmlTable(columns: string[], rows: (string | number)[][]): string {
  const head = columns.map((c) => `<th>${esc(c)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${esc(fmt(v))}</td>`).join("")}</tr>`);
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body.join("\n")}\n</tbody></table>`;
}

const valueText = (v: unknown): string =>
  Array.isArray(v)
    ? v.length ? v.map(valueText).join(Array.isArray(v[0]) ? ", " : ",") : "none"
    : typeof v === "object" && v !== null
    ? JSON.stringify(v)
    : String(v);

/** Where the runs' data sets are (`config.json` `meta.data`, see `data_store.ts`). */
function dataText(runs: RunData[]): string {
  const refs = runs.map((r) => (r.config.meta as { data?: DataRef } | undefined)?.data);
  const modes = new Set(refs.map((d) => d?.save ?? "all"));
  const parts: string[] = [];
  if (modes.has("once")) {
    const files = new Set(refs.flatMap((d) => Object.values(d?.files ?? {})));
    const one = refs.find((d) => d?.save === "once")!;
    parts.push(
      runs.length === 1
        ? `stored once, shared with other runs: ${Object.values(one.files ?? {}).join(", ")}`
        : `stored once: ${files.size} distinct data files in data/<hash>/, shared by the jobs`,
    );
  }
  if (modes.has("all")) parts.push("in the run folder (train_x.npy … eval_y.npy)");
  if (modes.has("none")) parts.push("not saved (the same seed and settings regenerate them)");
  return parts.join("; ");
}

/**
 * Settings of a configuration that have no effect on it, left out of the report: Adam's with SGD
 * and momentum with Adam, the teacher-aware data's with Gaussian data, the Gaussian init's width
 * with another init, the training subsample when the training set is not larger, the gradient
 * subsample when it is all of the gradient split, the sampling order with fresh samples, the
 * perturbation's std without `--init perturb`, the fixed teacher bias with bias tuning, `flow`
 * without `population`, the polish's tolerance and steps without polish.
 */
export function inapplicable(c: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  if (c.optimizer !== "adam") ["adamBeta1", "adamBeta2", "adamEps"].forEach((k) => out.add(k));
  if (c.optimizer === "adam") out.add("momentum");
  if (c.data !== "teacher-aware") ["awareShift", "awareSpread"].forEach((k) => out.add(k));
  if (c.init !== undefined && c.init !== "gaussian") out.add("initStd");
  const nTrain = Number(c.nTrain);
  if (nTrain === 0 || nTrain <= Number(c.nTrainEval)) out.add("nTrainEval");
  const gradRows = nTrain === 0 ? Number(c.nEval) : Math.min(nTrain, Number(c.nTrainEval));
  if (!(Number(c.nGradEval) > 0 && Number(c.nGradEval) < gradRows)) out.add("nGradEval");
  if (nTrain === 0) out.add("sampling");
  if (c.init !== undefined && c.init !== "perturb") out.add("perturbStd");
  if (c.biasTuning === true) out.add("teacherBias");
  if (c.population === false) out.add("flow");
  if (c.polish === false) ["polishTol", "polishSteps"].forEach((k) => out.add(k));
  return out;
}

/** The configuration section: a sweep's grid, seeds and jobs, then the shared settings. */
function configHtml(study: Study): string {
  const parts: string[] = [];
  const runs = study.runs;
  if (study.manifest) {
    const m = study.manifest;
    const seconds = runs.reduce(
      (a, r) => a + secondsOf(r.result),
      0,
    );
    const rows: string[][] = [
      ["preset", m.preset ?? "none"],
      ...study.grid.map((g) => [`grid: ${g.key}`, g.values.join(", ")]),
      ["seeds", m.seeds.join(", ")],
      [
        "jobs",
        `${m.jobs.length}: ${runs.length} completed, ${study.failed} failed, ${study.unfinished} ` +
        "not finished",
      ],
      ["compute", `${seconds.toFixed(1)} s of training and evaluation, summed over jobs`],
    ];
    parts.push(htmlTable(["sweep", "value"], rows));
  }
  if (runs.length) {
    const varied = new Set([...study.grid.map((g) => g.key), "meta"]);
    if (study.kind === "sweep") varied.add("seed");
    const c = runs[0].config;
    const skip = inapplicable(c);
    const rows = Object.entries(c).filter(([k]) => !varied.has(k) && !skip.has(k)).map((
      [k, v],
    ) => [k, k === "lr" ? formatValue(v) : valueText(v)]);
    rows.push(["data files", dataText(runs)]);
    const title = study.kind === "sweep" ? "shared settings (every job)" : "setting";
    parts.push(htmlTable([title, "value"], rows));
    const meta = c.meta as Record<string, unknown> | undefined;
    if (meta) {
      parts.push(
        `<p class="meta">${
          esc(
            Object.entries(meta).filter(([k]) => k !== "data").map(([k, v]) =>
              `${k}: ${valueText(v)}`
            ).join("; "),
          )
        }</p>`,
      );
    }
  }
  return parts.join("\n");
}

/** Marks an index.html as ours, so `--out` replaces only a previous report. */
const MARK = "<!-- specialize report -->";

function indexHtml(study: Study, figures: Figure[], tables: Table[]): string {
  const name = study.dir.replace(/\/+$/, "").split("/").at(-1) ?? study.dir;
  const what = study.kind === "sweep"
    ? `sweep ${
      study.manifest?.preset ? `(preset ${study.manifest.preset}) ` : ""
    }of ${study.runs.length} finished runs`
    : "single run";
  const figs = figures.map((f) =>
    "file" in f
      ? `<figure><img src="${esc(f.file)}" alt="${esc(f.title)}"><figcaption><b>${
        esc(f.title)
      }.</b> ${esc(f.caption)} <a href="${esc(f.file)}">SVG</a></figcaption></figure>`
      : `<p class="skipped"><b>${esc(f.title)}</b>: not drawn, ${esc(f.skipped)}.</p>`
  );
  const tabs = tables.map((t) =>
    `<h3>${esc(t.title)}</h3>\n<p><a href="${esc(t.file)}">${esc(t.file)}</a></p>\n` +
    (t.show ? htmlTable(t.columns, t.rows) : "")
  );
  return `<!DOCTYPE html>
${MARK}
<html lang="en">
<head>
<meta charset="utf-8">
<title>specialize report: ${esc(name)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 14px; max-width: 900px; }
.skipped { color: #8a4b00; }
.meta { font-size: 12px; color: #666; }
</style>
</head>
<body>
<h1>specialize report: ${esc(name)}</h1>
<p>A ${esc(what)} of teacher–student training (Tian, arXiv 1909.13458), from
<code>${esc(study.dir)}</code>. Correlations are measured on the eval set; teacher node 0 has the
strongest fan-out.</p>
<h2>Configuration</h2>
${configHtml(study)}
<h2>Figures</h2>
${figs.join("\n")}
<h2>Summary tables</h2>
${tabs.join("\n")}
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// Writing.

/** Options of {@linkcode writeReport}. */
export interface ReportOptions {
  /** The report folder (default `<dir>/report`); replaced if it holds a previous report. */
  out?: string;
}

/** What {@linkcode writeReport} wrote. */
export interface ReportSummary {
  /** The report folder. */
  out: string;
  /** "run" or "sweep". */
  kind: "run" | "sweep";
  /** Finished runs read. */
  runs: number;
  /**
   * SVG files written, with the axis titles each contains and the rows it plots (one record per
   * mark: panel `row`/`col`, `series` or `color`, `x`, `y`, and `lo`/`hi` for bands).
   */
  figures: {
    file: string;
    title: string;
    axisTitles: string[];
    data: Record<string, unknown>[];
  }[];
  /** Figures not drawn and why. */
  skipped: { title: string; reason: string }[];
  /** CSV tables written. */
  tables: string[];
  /** The main summary table (summary.csv) with its cells formatted for reading. */
  summary: { title: string; columns: string[]; rows: string[][] };
}

/** Checks that `out` may be written: missing, empty, or a previous report. Touches nothing. */
async function checkReportFolder(out: string): Promise<void> {
  if (!(await isExistingFolder(out))) return;
  const index = await readText(`${out}/index.html`);
  if (index?.includes(MARK)) return;
  for await (const _ of Deno.readDir(out)) {
    throw new ConfigError(
      `Invalid --out ${JSON.stringify(out)}: a non-empty folder that is not a report`,
    );
  }
}

/**
 * Writes the report of a run or sweep folder: figures as SVG, summary tables as CSV and
 * `index.html`, into a temporary sibling folder renamed to `opts.out` (default `<dir>/report`) at
 * the end, so a failure leaves no half-written report. Throws a {@linkcode ConfigError} before
 * writing anything if `dir` is not a run or sweep folder. Not part of the library (`mod.ts`):
 * it imports the plotting library. `(await writeReport("sweeps/demo")).figures` lists the files
 * written, e.g. `fig1_lshape.svg`.
 */
export async function writeReport(dir: string, opts: ReportOptions = {}): Promise<ReportSummary> {
  const study = await loadStudy(dir);
  const out = opts.out ?? `${dir.replace(/\/+$/, "")}/report`;
  await checkReportFolder(out);
  const figures: Figure[] = [
    ...lShapeFigures(study),
    ...successFigures(study),
    ...lossFigures(study),
    ...await trajectoryFigures(study),
    ...bestCorrFigures(study),
    ...await multiLayerFigures(study),
    ...sampleComplexityFigures(study),
    ...multiLayerSampleComplexityFigures(study),
  ];
  const svgs = new Map<string, string>();
  for (const f of figures) if ("file" in f) svgs.set(f.file, await renderSvg(f.spec));
  const tables = [...summaryTables(study), ...multiLayerSampleComplexityTable(study)];

  const tmp = `${out.replace(/\/+$/, "")}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  try {
    for (const [file, svg] of svgs) await Deno.writeTextFile(`${tmp}/${file}`, svg);
    for (const t of tables) await Deno.writeTextFile(`${tmp}/${t.file}`, toCsv(t));
    await Deno.writeTextFile(`${tmp}/index.html`, indexHtml(study, figures, tables));
    await Deno.remove(out, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(tmp, out);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    out,
    kind: study.kind,
    runs: study.runs.length,
    figures: figures.flatMap((f) =>
      "file" in f
        ? [{
          file: f.file,
          title: f.title,
          axisTitles: f.axisTitles,
          data: (f.spec.data as { values?: Record<string, unknown>[] } | undefined)?.values ?? [],
        }]
        : []
    ),
    skipped: figures.flatMap((f) => "skipped" in f ? [{ title: f.title, reason: f.skipped }] : []),
    tables: tables.map((t) => t.file),
    summary: {
      title: tables[0].title,
      columns: tables[0].columns,
      rows: tables[0].rows.map((r) => r.map(fmt)),
    },
  };
}
