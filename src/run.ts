/**
 * One run on disk: the run folder, its `config.json`, `metrics.csv`, `.npy` weights and data, and
 * `result.json`, written last, whose presence marks a finished run.
 *
 * Folder contents (weights are (inputs+1) × outputs per layer, bias last row):
 * - `config.json`: the resolved configuration, plus `meta` (tool, Deno, V8 versions, WASM hash);
 * - `metrics.csv`: one row per evaluation: epoch, lr, train_mse, eval_mse, grad_norm_<l>…, then
 *   per-sample gradient norms of the training set: grad_sample_max, _mean, _q50, _q90, _q99 and
 *   grad_sample_max_<l> per weight layer;
 * - `alignment.csv`: per evaluation, split, hidden layer (0 = lowest) and teacher (0 = strongest):
 *   best student, best correlation, students above each τ;
 * - `students.csv`: per evaluation, split, hidden layer and student: best teacher and correlation,
 *   fan-out norm, sqrt(E[β_kk]), dead (never varies), mean squared back-propagated gradient;
 * - `timeline.csv`: per split, layer, teacher and τ, the first evaluated epoch above τ;
 * - `corr_<split>_layer<l>_epoch<e>.npy` (teachers × students, f64) at the first and last
 *   evaluation and at every `saveCorrAt` epoch (always evaluated), and with them the boundary
 *   observability of the training set, `obs_train_layer<l>_epoch<e>.npy` (teachers × students);
 * - `teacher_w<l>.npy`, `student_init_w<l>.npy`, `student_final_w<l>.npy`;
 * - `train_x.npy`, `train_y.npy` (fixed training set only), `eval_x.npy`, `eval_y.npy`;
 * - `result.json`: final metrics, per-layer alignment (covered teachers, success, dead students),
 *   timings and status.
 * @module
 */

import {
  alignmentCsvHeader,
  alignmentCsvRows,
  evaluateTrainer,
  gradientCsvHeader,
  gradientCsvValues,
  type SplitAnalysis,
  STUDENTS_CSV_HEADER,
  studentsCsvRows,
  timelineCsv,
} from "./analysis.ts";
import { SpecializationTimeline, SUCCESS_TAU, TAUS } from "./alignment.ts";
import { ConfigError, type RunConfig } from "./config.ts";
import type { SampleGradientStats } from "./gradients.ts";
import type { Mat } from "./kernels.ts";
import { encodeNpy } from "./npy.ts";
import { type EpochMetrics, Trainer } from "./train.ts";
import { provenance } from "./version.ts";

/** Options of {@linkcode runToFolder}. */
export interface RunOptions {
  /** The run folder to create. */
  out: string;
  /** Replace an existing folder. */
  force?: boolean;
  /** Called after every evaluation (progress display), with the measurements per split. */
  onEvaluation?: (m: EpochMetrics, trainer: Trainer, splits: SplitAnalysis[]) => void;
}

/** What a finished run reports (also written as `result.json`). */
export interface RunResult {
  /** "completed". */
  status: "completed";
  /** Seed of the run. */
  seed: number;
  /** Epochs trained. */
  epochs: number;
  /** The last evaluation. */
  final: EpochMetrics;
  /** The first evaluation (before training). */
  initial: EpochMetrics;
  /** Seconds spent in SGD steps. */
  trainSeconds: number;
  /** Seconds spent in evaluations. */
  evalSeconds: number;
  /** SGD steps per second. */
  stepsPerSecond: number;
  /** Per hidden layer, alignment at the last evaluation. */
  layers: LayerResult[];
  /** Per-sample gradient norms (all layers) at the last evaluation, on the training set. */
  gradSample: SampleGradientStats;
}

/** Alignment of one hidden layer at the end of a run. */
export interface LayerResult {
  /** Hidden layer, 0 = lowest. */
  layer: number;
  /** Teacher nodes. */
  teachers: number;
  /** Student nodes. */
  students: number;
  /** Per τ (as "0.5", …), teachers with a student above τ on the eval set. */
  covered: Record<string, number>;
  /** Mean over teachers of the best eval correlation. */
  meanBestCorr: number;
  /** Per teacher: eval best correlation > 0.95. */
  success: boolean[];
  /** Per teacher: best eval correlation. */
  bestCorr: number[];
  /** Students whose activation never varies on the gradient split (training set). */
  deadStudents: number[];
  /** Largest per-sample gradient norm of the weights into this layer, on the training set. */
  maxSampleGradNorm: number;
}

/** The alignment results of the last evaluation. */
function layerResults(splits: SplitAnalysis[]): LayerResult[] {
  const ev = splits.find((s) => s.name === "eval")!;
  const gs = splits.find((s) => s.gradients !== null)!;
  return ev.layers.map((la, h) => {
    const best = Array.from(la.teachers.bestCorr);
    const covered: Record<string, number> = {};
    la.teachers.taus.forEach((t, i) => (covered[String(t)] = la.teachers.covered[i]));
    const dead: number[] = [];
    gs.layers[h].dead.forEach((d, k) => d && dead.push(k));
    return {
      layer: h,
      teachers: la.correlation.teachers,
      students: la.correlation.students,
      covered,
      meanBestCorr: best.reduce((a, b) => a + b, 0) / best.length,
      success: best.map((b) => b > SUCCESS_TAU),
      bestCorr: best,
      deadStudents: dead,
      maxSampleGradNorm: gs.gradients!.perSample.layerMax[h],
    };
  });
}

/** Bytes of a UTF-8 string. */
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Writes a file atomically: a temporary file in the same folder, fsync, rename. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const bytes = typeof data === "string" ? utf8(data) : data;
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}

/**
 * Checks that `out` may be used as a run folder: it must not exist (or be an empty folder) unless
 * `force`. Throws a {@linkcode ConfigError} otherwise. Touches nothing.
 */
export async function checkOutFolder(out: string, force = false): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(out);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (!info.isDirectory) {
    throw new ConfigError(`Invalid --out ${JSON.stringify(out)}: it is a file, expected a folder`);
  }
  if (force) return;
  for await (const _ of Deno.readDir(out)) {
    throw new ConfigError(
      `Output folder ${JSON.stringify(out)} already exists and is not empty: ` +
        `choose another --out or pass --force to replace it`,
    );
  }
}

/** CSV text of one metrics row. */
function metricsRow(m: EpochMetrics, splits: SplitAnalysis[]): string {
  return [m.epoch, m.lr, m.trainMse, m.evalMse, ...m.gradNorm, ...gradientCsvValues(splits)]
    .join(",") + "\n";
}

/** Appends text to a file (created if missing). */
async function appendText(path: string, text: string): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, append: true });
  try {
    const bytes = utf8(text);
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
  } finally {
    f.close();
  }
}

/**
 * Trains a run described by `config` and writes its folder. The folder is checked before anything
 * is computed, created only once the run's memory is allocated, and `result.json` is written last.
 */
export async function runToFolder(config: RunConfig, opts: RunOptions): Promise<RunResult> {
  await checkOutFolder(opts.out, opts.force);
  const trainer = new Trainer(config);
  const { out } = opts;
  if (opts.force) await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const k = trainer.kernels;
  const meta = provenance(config.precision);
  await writeFileAtomic(`${out}/config.json`, JSON.stringify({ ...config, meta }, null, 2) + "\n");
  const save = (name: string, m: Mat) =>
    writeFileAtomic(
      `${out}/${name}.npy`,
      encodeNpy({ data: k.view(m).slice(), shape: [m.rows, m.cols] }),
    );
  for (let l = 0; l < trainer.teacher.depth; l++) {
    await save(`teacher_w${l}`, trainer.teacher.weights[l]);
    await save(`student_init_w${l}`, trainer.student.weights[l]);
  }
  if (trainer.train) {
    await save("train_x", trainer.train.x);
    await save("train_y", trainer.train.y);
  }
  await save("eval_x", trainer.eval.x);
  await save("eval_y", trainer.eval.y);

  const layers = trainer.student.depth;
  const header = ["epoch", "lr", "train_mse", "eval_mse"];
  for (let l = 0; l < layers; l++) header.push(`grad_norm_${l}`);
  header.push(...gradientCsvHeader(layers));
  let csv = header.join(",") + "\n";
  await writeFileAtomic(`${out}/alignment.csv`, alignmentCsvHeader(TAUS));
  await writeFileAtomic(`${out}/students.csv`, STUDENTS_CSV_HEADER);
  const timeline = new SpecializationTimeline(TAUS);
  const saveCorrAt = new Set(config.saveCorrAt);
  let trainMs = 0, evalMs = 0;
  let lastSplits: SplitAnalysis[] = [];
  const evaluate = async (isLast: boolean) => {
    const t0 = performance.now();
    const epoch = trainer.epoch;
    const saveMatrices = epoch === 0 || isLast || saveCorrAt.has(epoch);
    // Observability is only needed where its matrices are saved.
    const { metrics: m, splits } = evaluateTrainer(trainer, { observability: saveMatrices });
    evalMs += performance.now() - t0;
    lastSplits = splits;
    csv += metricsRow(m, splits);
    await writeFileAtomic(`${out}/metrics.csv`, csv);
    await appendText(`${out}/alignment.csv`, alignmentCsvRows(m.epoch, splits));
    await appendText(`${out}/students.csv`, studentsCsvRows(m.epoch, splits));
    for (const sp of splits) {
      for (const la of sp.layers) {
        timeline.record(sp.name, la.layer, m.epoch, la.teachers.bestCorr);
        if (saveMatrices) {
          const c = la.correlation, shape = [c.teachers, c.students];
          const name = `${sp.name}_layer${la.layer}_epoch${m.epoch}.npy`;
          await writeFileAtomic(`${out}/corr_${name}`, encodeNpy({ data: c.corr, shape }));
          if (la.observability) {
            await writeFileAtomic(
              `${out}/obs_${name}`,
              encodeNpy({ data: la.observability, shape }),
            );
          }
        }
      }
    }
    opts.onEvaluation?.(m, trainer, splits);
    return m;
  };
  const initial = await evaluate(config.epochs === 0);
  let final = initial;
  for (let e = 1; e <= config.epochs; e++) {
    const t0 = performance.now();
    trainer.trainEpoch();
    trainMs += performance.now() - t0;
    const due = e % config.evalEvery === 0 || saveCorrAt.has(e);
    if (due || e === config.epochs) final = await evaluate(e === config.epochs);
  }
  await writeFileAtomic(`${out}/timeline.csv`, timelineCsv(timeline));
  for (let l = 0; l < layers; l++) await save(`student_final_w${l}`, trainer.student.weights[l]);
  const result: RunResult = {
    status: "completed",
    seed: config.seed,
    epochs: config.epochs,
    initial,
    final,
    trainSeconds: trainMs / 1000,
    evalSeconds: evalMs / 1000,
    stepsPerSecond: (config.epochs * config.iters) / (trainMs / 1000),
    layers: layerResults(lastSplits),
    gradSample: lastSplits.find((s) => s.gradients !== null)!.gradients!.perSample,
  };
  await writeFileAtomic(`${out}/result.json`, JSON.stringify(result, null, 2) + "\n");
  return result;
}
