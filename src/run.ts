/**
 * One run on disk: the run folder, its `config.json`, `metrics.csv`, `.npy` weights and data, and
 * `result.json`, written last, whose presence marks a finished run.
 *
 * Folder contents (weights are (inputs+1) × outputs per layer, bias last row):
 * - `config.json`: the resolved configuration, plus `meta` (tool, Deno, V8 versions, WASM hash);
 * - `metrics.csv`: one row per evaluation: epoch, lr, train_mse, eval_mse, population_mse (exact;
 *   two-layer ReLU runs only), (cross-entropy runs: train_ce, eval_ce, train_acc, eval_acc),
 *   grad_norm_<l>… (the
 *   training subsample's full-batch gradient), grad_batch_mean_<l>, grad_batch_max_<l> (minibatch
 *   gradient norms over the steps of the epoch just trained; empty at epoch 0), then per-sample
 *   gradient norms of the training subsample: grad_sample_max, _mean, _q50, _q90, _q99 and
 *   grad_sample_max_<l> per weight layer;
 * - `alignment.csv`: per evaluation, split, hidden layer (0 = lowest) and teacher (0 = strongest):
 *   best student, best correlation, students above each τ;
 * - `students.csv`: per evaluation, split, hidden layer and student: best teacher and correlation,
 *   fan-out norm, sqrt(E[β_kk]), dead (never varies), mean squared back-propagated gradient;
 * - `overlaps.csv`: per evaluation and hidden layer, summaries of the order parameters (see
 *   `overlaps.ts`): mean and minimum over teachers of the best |R|, mean off-diagonal |Q| and |T|;
 *   `overlap_Q_layer<l>_epoch<e>.npy`, `overlap_R_layer0_epoch<e>.npy` at the epochs whose
 *   correlation matrices are saved, and `overlap_T_layer<l>.npy` once;
 * - `timeline.csv`: per split, layer, teacher and τ, the first evaluated epoch above τ;
 * - `corr_<split>_layer<l>_epoch<e>.npy` (teachers × students, f64) at the first and last
 *   evaluation and at every `saveCorrAt` epoch (always evaluated), and with them the boundary
 *   observability of the training set, `obs_train_layer<l>_epoch<e>.npy` (teachers × students);
 * - `teacher_w<l>.npy`, `student_init_w<l>.npy`, `student_final_w<l>.npy`;
 * - `train_x.npy`, `train_y.npy` (fixed training set only), `eval_x.npy`, `eval_y.npy` with
 *   `saveData: "all"`; elsewhere or nowhere with `once` and `none` (see `data_store.ts`);
 * - `train_eval_idx.npy`: the rows of the training set that training-set measurements use, when
 *   `nTrainEval` is smaller than the training set;
 * - `checkpoint.bin`: the state after the last completed epoch (see `checkpoint.ts`), replaced
 *   atomically every epoch; `resumeRun` continues from it with results identical to an
 *   uninterrupted run;
 * - `result.json`: status (`completed` or `diverged`, with the epoch and value), final metrics,
 *   per-layer alignment (covered teachers, success, dead students), provenance (config hash, tool,
 *   Deno and V8 versions, WASM sha256, precision, SIMD path), and `timing` (the only part that
 *   differs between two runs of the same config).
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
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
import { ConfigError, lrAt, type RawSettings, resolveConfig, type RunConfig } from "./config.ts";
import type { SampleGradientStats } from "./gradients.ts";
import type { Mat } from "./kernels.ts";
import { csvRow } from "./csv.ts";
import { encodeNpy } from "./npy.ts";
import { layerOverlaps, OVERLAPS_CSV_HEADER, overlapsCsvRows } from "./overlaps.ts";
import { type PolishResult, polishTrainer } from "./polish.ts";
import { type EpochMetrics, Trainer, type TrainerSnapshot } from "./train.ts";
import { canonicalJson, configHash, type Provenance, provenance } from "./version.ts";
import { requireDeno } from "./platform.ts";
import { writeThroughTemp } from "./_files.ts";
import {
  type DataRef,
  defaultStore,
  parseSaveData,
  resolvePath,
  type SaveData,
  storeData,
} from "./data_store.ts";

/** Options of {@linkcode runToFolder}. */
export interface RunOptions {
  /** The run folder to create. */
  out: string;
  /** Replace an existing folder. */
  force?: boolean;
  /** Threads of the run's kernels (default 1): the same bits with any count. */
  threads?: number;
  /** Where the data sets go (see `data_store.ts`) [default: "all", a copy in the run folder]. */
  saveData?: SaveData;
  /** The content-addressed store of `saveData: "once"` [default: `data/` beside the run folder]. */
  dataStore?: string;
  /** Called after every evaluation (progress display), with the measurements per split. */
  onEvaluation?: (m: EpochMetrics, trainer: Trainer, splits: SplitAnalysis[]) => void;
  /** Called after every checkpoint with the epochs it holds (what a resume continues from) and
   * the run's epochs. */
  onCheckpoint?: (epoch: number, epochs: number) => void;
  /** Called once the run folder exists and is empty (checked, or replaced with `force`), before
   * anything is written to it: from then on every file in it is this run's. */
  onFolderCreated?: (out: string) => void;
}

/** Where a run diverged: the epoch and the first non-finite quantity found. */
export interface Divergence {
  /** Epochs completed when it was found. */
  epoch: number;
  /** What was not finite: "weights", "train_mse" or "eval_mse". */
  quantity: string;
  /** The value, as text ("NaN", "Infinity", ...). */
  value: string;
}

/** Wall-clock figures of a run: the only part of `result.json` that varies between reruns. */
export interface RunTiming {
  /** Seconds spent in SGD steps. */
  trainSeconds: number;
  /** Seconds spent in evaluations (the measurements, not writing their files). */
  evalSeconds: number;
  /** Seconds of the whole training loop: steps, evaluations, files and checkpoints. */
  wallSeconds: number;
  /** Evaluations made. */
  evaluations: number;
  /** evalSeconds ÷ wallSeconds: the share of the run's wall time spent evaluating. */
  evalFraction: number;
  /** Seconds of one evaluation ÷ seconds of one training epoch (mean over the run). */
  evalPerEpoch: number;
  /** SGD steps per second. */
  stepsPerSecond: number;
  /** Times the run was resumed from a checkpoint. */
  resumes: number;
  /** Threads the run's kernels used (`--threads`; the results do not depend on it). */
  threads: number;
}

/** What a finished run reports (also written as `result.json`). */
export interface RunResult {
  /** "completed", or "diverged" when a loss or a weight became NaN or infinite. */
  status: "completed" | "diverged";
  /** Set when status is "diverged". */
  divergence?: Divergence;
  /** Seed of the run. */
  seed: number;
  /** Epochs trained (fewer than configured when diverged). */
  epochs: number;
  /** The last evaluation. */
  final: EpochMetrics;
  /** The first evaluation (before training). */
  initial: EpochMetrics;
  /** Where the result came from: config hash and versions. */
  provenance: Provenance & { configHash: string };
  /** Wall-clock figures. */
  timing: RunTiming;
  /** Per hidden layer, alignment at the last evaluation. */
  layers: LayerResult[];
  /** Per-sample gradient norms (all layers) at the last evaluation, on the training set. */
  gradSample: SampleGradientStats;
  /** With `polish`: what the L-BFGS polish did, and whether every teacher node of the lowest
   * layer is then specialized (a student with eval correlation > 0.95; `specializedPopulation`:
   * with exact correlation > 0.95, two-layer ReLU runs). */
  polish?: PolishSummary;
}

/** {@linkcode PolishResult} with the specialization check after polishing. */
export interface PolishSummary extends PolishResult {
  /** Every lowest-layer teacher node has a student with eval correlation > 0.95. */
  specialized: boolean;
  /** Every teacher node has a student with exact population correlation > 0.95 (else null). */
  specializedPopulation: boolean | null;
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

/** Names of the temporary files of {@linkcode writeFileAtomic}: `<name>.tmp-<pid>`. */
export const TEMP_FILE: RegExp = /\.tmp-\d+$/;

/**
 * Writes a file atomically: a temporary file in the same folder, fsync, rename.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  requireDeno("writeFileAtomic");
  await writeThroughTemp(
    path,
    `${path}.tmp-${Deno.pid}`,
    typeof data === "string" ? utf8(data) : data,
  );
}

/**
 * Whether `out` (an output folder) exists: false if missing, true if a folder, a
 * {@linkcode ConfigError} if it is a file.
 */
export async function isExistingFolder(out: string): Promise<boolean> {
  try {
    if ((await Deno.stat(out)).isDirectory) return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  throw new ConfigError(`Invalid --out ${JSON.stringify(out)}: it is a file, expected a folder`);
}

/**
 * Checks that `out` may be used as a run folder: it must not exist (or be an empty folder) unless
 * `force`. Throws a {@linkcode ConfigError} otherwise. Touches nothing.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function checkOutFolder(out: string, force = false): Promise<void> {
  requireDeno("checkOutFolder");
  if (!(await isExistingFolder(out)) || force) return;
  for await (const _ of Deno.readDir(out)) {
    const interrupted = await Deno.stat(`${out}/${CHECKPOINT_FILE}`).then(() => true, () => false);
    if (interrupted) {
      throw new ConfigError(
        `Output folder ${JSON.stringify(out)} holds an interrupted run: continue it with ` +
          `train --resume ${out} (--force would discard its checkpoint)`,
      );
    }
    throw new ConfigError(
      `Output folder ${JSON.stringify(out)} already exists and is not empty: ` +
        `choose another --out or pass --force to replace it`,
    );
  }
}

/** CSV text of one metrics row. */
function metricsRow(m: EpochMetrics, splits: SplitAnalysis[]): string {
  const b = m.batchGradNorm;
  const ce = m.evalCe === undefined ? [] : [m.trainCe, m.evalCe, m.trainAcc, m.evalAcc];
  const batch = m.gradNorm.flatMap((_, l) => b ? [b.mean[l], b.max[l]] : [null, null]);
  return csvRow([
    m.epoch,
    m.lr,
    m.trainMse,
    m.evalMse,
    ...(m.populationMse === null ? [] : [m.populationMse]),
    ...ce,
    ...m.gradNorm,
    ...batch,
    ...gradientCsvValues(splits),
  ]);
}

/** Whether a file exists. */
async function isFilePresent(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
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
 * What a run folder was started from, kept in every checkpoint: resume refuses a folder where any
 * of it has changed since (an edited config.json, replaced data files, another tool version).
 */
interface RunOrigin {
  /** The resolved configuration (without `meta`). */
  config: Record<string, unknown>;
  /** Its hash (as in result.json's provenance). */
  configHash: string;
  /** Tool version, WASM sha256 and math of the process that started the run. */
  version: string;
  wasmSha256: string;
  math: string;
  /** sha256 of every .npy file written at the start (teacher, initial student, data). */
  files: Record<string, string>;
}

/** The run-level state saved with every checkpoint, beside the trainer's. */
interface RunState {
  origin: RunOrigin;
  trainer: TrainerSnapshot["state"];
  metricsCsv: string;
  alignmentBytes: number;
  /** Size of overlaps.csv at the checkpoint (absent in checkpoints from before it existed). */
  overlapsBytes?: number;
  studentsBytes: number;
  initial: EpochMetrics;
  final: EpochMetrics;
  trainMs: number;
  evalMs: number;
  /** Absent in checkpoints of older versions. */
  wallMs?: number;
  evaluations?: number;
  resumes: number;
  timeline: ReturnType<SpecializationTimeline["getState"]>;
  last: {
    layers: LayerResult[];
    gradSample: SampleGradientStats;
    /** Exact best correlation per teacher (two-layer ReLU runs). */
    populationBest?: number[];
  };
  /** With `polish`, once done (after the last epoch). */
  polish?: PolishResult;
}

/** Name of the checkpoint file in a run folder. */
export const CHECKPOINT_FILE = "checkpoint.bin";

/** Truncates a file to `bytes` (undoing appends made after a checkpoint). */
async function truncateTo(path: string, bytes: number): Promise<void> {
  const info = await Deno.stat(path);
  if (info.size < bytes) {
    throw new CheckpointError(`Run folder is inconsistent: ${path} is shorter than its checkpoint`);
  }
  await Deno.truncate(path, bytes);
}

/**
 * Trains a run described by `config` and writes its folder. The folder is checked before anything
 * is computed, created only once the run's memory is allocated, checkpointed after every epoch,
 * and `result.json` is written last.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function runToFolder(config: RunConfig, opts: RunOptions): Promise<RunResult> {
  requireDeno("runToFolder");
  await checkOutFolder(opts.out, opts.force);
  using trainer = new Trainer(config, { threads: opts.threads ?? 1 });
  const { out } = opts;
  if (opts.force) await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  opts.onFolderCreated?.(out);
  const dataFiles = [];
  if (trainer.train) {
    dataFiles.push({ name: "train_x", bytes: npyOf(trainer, trainer.train.x) });
    dataFiles.push({ name: "train_y", bytes: npyOf(trainer, trainer.train.y) });
  }
  dataFiles.push({ name: "eval_x", bytes: npyOf(trainer, trainer.eval.x) });
  dataFiles.push({ name: "eval_y", bytes: npyOf(trainer, trainer.eval.y) });
  const data = await storeData(
    dataFiles,
    parseSaveData(opts.saveData ?? "all", "saveData"),
    out,
    opts.dataStore ?? defaultStore(out),
    (name, bytes) => writeFileAtomic(`${out}/${name}`, bytes),
  );
  const meta = provenance(config.precision, config.fma);
  await writeFileAtomic(
    `${out}/config.json`,
    JSON.stringify({ ...config, meta: { ...meta, data } }, null, 2) + "\n",
  );
  // Every file the run starts from, by path relative to the run folder, with its sha256.
  const files: Record<string, string> = {};
  for (const f of dataFiles) {
    const path = data.save === "all" ? `${f.name}.npy` : data.files?.[f.name];
    if (path !== undefined) files[path] = await sha256Hex(f.bytes);
  }
  const save = async (name: string, m: Mat) => {
    files[`${name}.npy`] = await saveMat(trainer, out, name, m);
  };
  for (let l = 0; l < trainer.teacher.depth; l++) {
    await save(`teacher_w${l}`, trainer.teacher.weights[l]);
    await save(`student_init_w${l}`, trainer.student.weights[l]);
  }
  if (trainer.trainEvalIndices) {
    const data = trainer.trainEvalIndices;
    await writeFileAtomic(`${out}/train_eval_idx.npy`, encodeNpy({ data, shape: [data.length] }));
  }
  await writeFileAtomic(`${out}/alignment.csv`, alignmentCsvHeader(TAUS));
  await writeFileAtomic(`${out}/overlaps.csv`, OVERLAPS_CSV_HEADER);
  await writeFileAtomic(`${out}/students.csv`, STUDENTS_CSV_HEADER);
  const origin: RunOrigin = {
    config: JSON.parse(JSON.stringify(config)),
    configHash: await configHash(config),
    version: meta.version,
    wasmSha256: meta.wasmSha256,
    math: meta.math,
    files,
  };
  return await trainAndRecord(trainer, out, origin, null, opts);
}

/** Writes a matrix of the trainer's memory as `<out>/<name>.npy`; returns the file's sha256. */
async function saveMat(trainer: Trainer, out: string, name: string, m: Mat): Promise<string> {
  const bytes = npyOf(trainer, m);
  await writeFileAtomic(`${out}/${name}.npy`, bytes);
  return await sha256Hex(bytes);
}

/** A matrix of the trainer's memory as `.npy` bytes. */
function npyOf(trainer: Trainer, m: Mat): Uint8Array {
  return encodeNpy({ data: trainer.kernels.view(m).slice(), shape: [m.rows, m.cols] });
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Why a run folder may not be resumed from its checkpoint's origin, or null if it may: the first
 * difference found in config.json (every changed key, old → new), the tool, or a data file.
 */
async function originMismatch(
  out: string,
  origin: RunOrigin | undefined,
  config: RunConfig,
): Promise<string | null> {
  if (!origin) return "its checkpoint was written by an older version (no origin recorded)";
  const now = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(origin.config), ...Object.keys(now)])].sort();
  const changed = keys.filter((k) => canonicalJson(origin.config[k]) !== canonicalJson(now[k]))
    .map((k) => `${k} ${canonicalJson(origin.config[k])} → ${canonicalJson(now[k])}`);
  if (changed.length) {
    return `config.json was edited after the run started (${changed.join(", ")})`;
  }
  const meta = provenance(config.precision, config.fma);
  for (const k of ["version", "wasmSha256", "math"] as const) {
    if (origin[k] !== meta[k]) {
      return `it was started by another build of the tool (${k} ${origin[k]}, now ${meta[k]})`;
    }
  }
  for (const [name, sha] of Object.entries(origin.files)) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(resolvePath(out, name));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return `${name} is missing`;
      throw e;
    }
    if (await sha256Hex(bytes) !== sha) return `${name} changed after the run started`;
  }
  return null;
}

/** The data options a run folder was written with (from `config.json` `meta.data`). */
async function dataOptions(dir: string): Promise<{ saveData: SaveData; dataStore?: string }> {
  const ref: DataRef | undefined = JSON.parse(await Deno.readTextFile(`${dir}/config.json`)).meta
    ?.data;
  if (!ref) return { saveData: "all" };
  const first = Object.values(ref.files ?? {})[0];
  if (ref.save !== "once" || first === undefined) return { saveData: ref.save };
  return { saveData: "once", dataStore: resolvePath(resolvePath(dir, first), "../..") };
}

/**
 * Reads a run folder's config.json as a resolved config; a ConfigError if it is not a run.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function readRunConfig(dir: string): Promise<RunConfig> {
  requireDeno("readRunConfig");
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/config.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(
        `Invalid --resume ${JSON.stringify(dir)}: not a run folder (no config.json)`,
      );
    }
    throw e;
  }
  let settings: RawSettings;
  try {
    settings = JSON.parse(text);
  } catch {
    throw new ConfigError(`Invalid --resume ${JSON.stringify(dir)}: config.json is not valid JSON`);
  }
  return resolveConfig({ settings, source: `${dir}/config.json` });
}

/**
 * Continues the run in `out` from its last checkpoint; the finished folder is identical to that of
 * an uninterrupted run (but for `timing` in result.json). A finished run is returned as it is; a
 * run killed before its first checkpoint starts again from scratch in the same folder.
 * Throws {@linkcode CheckpointError} for a corrupt checkpoint.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function resumeRun(
  out: string,
  opts: Omit<RunOptions, "out" | "force"> = {},
): Promise<{ config: RunConfig; result: RunResult; resumedAt: number | null }> {
  requireDeno("resumeRun");
  const config = await readRunConfig(out);
  try {
    const result = JSON.parse(await Deno.readTextFile(`${out}/result.json`)) as RunResult;
    return { config, result, resumedAt: null };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${out}/${CHECKPOINT_FILE}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const result = await runToFolder(config, {
      ...opts,
      ...(await dataOptions(out)),
      out,
      force: true,
    });
    return { config, result, resumedAt: 0 };
  }
  const ckpt = await decodeCheckpoint<RunState>(bytes, `${out}/${CHECKPOINT_FILE}`);
  const mismatch = await originMismatch(out, ckpt.state.origin, config);
  if (mismatch) {
    throw new CheckpointError(
      `Cannot resume ${JSON.stringify(out)}: ${mismatch}; restore it, or start the run again ` +
        `with train --config ${out}/config.json --out ${out} --force`,
    );
  }
  await removeTempFiles(out);
  using trainer = new Trainer(config, { threads: opts.threads ?? 1 });
  try {
    trainer.restore({ state: ckpt.state.trainer, blobs: ckpt.blobs });
  } catch (e) {
    throw new CheckpointError(
      `Corrupt checkpoint ${out}/${CHECKPOINT_FILE}: ${(e as Error).message}`,
    );
  }
  await truncateTo(`${out}/alignment.csv`, ckpt.state.alignmentBytes);
  if (ckpt.state.overlapsBytes !== undefined) {
    await truncateTo(`${out}/overlaps.csv`, ckpt.state.overlapsBytes);
  }
  await truncateTo(`${out}/students.csv`, ckpt.state.studentsBytes);
  const state = { ...ckpt.state, resumes: ckpt.state.resumes + 1 };
  const result = await trainAndRecord(trainer, out, state.origin, state, opts);
  return { config, result, resumedAt: ckpt.state.trainer.epoch };
}

/** Removes the temporary files of atomic writes that a killed process left behind. */
async function removeTempFiles(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && TEMP_FILE.test(e.name)) await Deno.remove(`${dir}/${e.name}`);
  }
}

/** The first non-finite training quantity, if any. */
function divergenceOf(trainer: Trainer, m: EpochMetrics | null): Divergence | null {
  const epoch = trainer.epoch;
  if (!trainer.weightsFinite()) return { epoch, quantity: "weights", value: "NaN or Infinity" };
  // Fresh-sample runs have no training loss before the first epoch.
  const hasTrainMse = trainer.train !== null || epoch > 0;
  if (m && hasTrainMse && !Number.isFinite(m.trainMse)) {
    return { epoch, quantity: "train_mse", value: String(m.trainMse) };
  }
  if (m && !Number.isFinite(m.evalMse)) {
    return { epoch, quantity: "eval_mse", value: String(m.evalMse) };
  }
  if (m && m.evalCe !== undefined && !Number.isFinite(m.evalCe)) {
    return { epoch, quantity: "eval_ce", value: String(m.evalCe) };
  }
  return null;
}

/**
 * The training loop of a run folder, from scratch (`state` null: epoch 0 not yet evaluated) or
 * from a checkpoint's state: evaluations appended to the CSVs, a checkpoint after every epoch,
 * divergence detection, and result.json last.
 */
async function trainAndRecord(
  trainer: Trainer,
  out: string,
  origin: RunOrigin,
  state: RunState | null,
  opts: Omit<RunOptions, "out" | "force">,
): Promise<RunResult> {
  const config = trainer.config;
  const layers = trainer.student.depth;
  const header = ["epoch", "lr", "train_mse", "eval_mse"];
  if (trainer.population) header.push("population_mse");
  if (config.loss === "cross-entropy") header.push("train_ce", "eval_ce", "train_acc", "eval_acc");
  for (let l = 0; l < layers; l++) header.push(`grad_norm_${l}`);
  for (let l = 0; l < layers; l++) header.push(`grad_batch_mean_${l}`, `grad_batch_max_${l}`);
  header.push(...gradientCsvHeader(layers));
  let csv = state?.metricsCsv ?? header.join(",") + "\n";
  const timeline = new SpecializationTimeline(TAUS);
  if (state) timeline.setState(state.timeline);
  const saveCorrAt = new Set(config.saveCorrAt);
  let trainMs = state?.trainMs ?? 0, evalMs = state?.evalMs ?? 0;
  let evaluations = state?.evaluations ?? 0;
  const wallStart = performance.now() - (state?.wallMs ?? 0);
  let last = state?.last ?? null;
  const evalSteps = new Set(config.evalAt);
  /** Evaluates now; `step` labels an evaluation inside an epoch (--eval-at) by epoch = step/iters. */
  const evaluate = async (isLast: boolean, step?: number) => {
    const t0 = performance.now();
    const epoch = step === undefined ? trainer.epoch : step / config.iters;
    const saveMatrices = epoch === 0 || isLast || saveCorrAt.has(epoch) ||
      evalSteps.has(Math.round(epoch * config.iters));
    // Observability is only needed where its matrices are saved.
    const evaluated = evaluateTrainer(trainer, { observability: saveMatrices });
    const { splits, population } = evaluated;
    const m = step === undefined
      ? evaluated.metrics
      : { ...evaluated.metrics, epoch, lr: lrAt(config.lr, trainer.epoch) };
    evalMs += performance.now() - t0;
    evaluations++;
    last = {
      layers: layerResults(splits),
      gradSample: splits.find((s) => s.gradients !== null)!.gradients!.perSample,
      ...(population ? { populationBest: Array.from(population.summary.bestCorr) } : {}),
    };
    csv += metricsRow(m, splits);
    await writeFileAtomic(`${out}/metrics.csv`, csv);
    await appendText(`${out}/alignment.csv`, alignmentCsvRows(m.epoch, splits, population));
    if (population) {
      timeline.record("population", 0, m.epoch, population.summary.bestCorr);
      if (saveMatrices) {
        const shape = [population.teachers, population.corr.length / population.teachers];
        await writeFileAtomic(
          `${out}/corr_population_layer0_epoch${m.epoch}.npy`,
          encodeNpy({ data: population.corr, shape }),
        );
      }
    }
    const overlaps = layerOverlaps(trainer.student, trainer.teacher);
    await appendText(`${out}/overlaps.csv`, overlapsCsvRows(m.epoch, overlaps));
    if (saveMatrices) {
      for (const o of overlaps) {
        const npy = (data: Float64Array, rows: number, cols: number) =>
          encodeNpy({ data, shape: [rows, cols] });
        const at = `layer${o.layer}_epoch${m.epoch}.npy`;
        await writeFileAtomic(`${out}/overlap_Q_${at}`, npy(o.q, o.students, o.students));
        if (o.r) await writeFileAtomic(`${out}/overlap_R_${at}`, npy(o.r, o.students, o.teachers));
        if (m.epoch === 0 || !(await isFilePresent(`${out}/overlap_T_layer${o.layer}.npy`))) {
          await writeFileAtomic(
            `${out}/overlap_T_layer${o.layer}.npy`,
            npy(o.t, o.teachers, o.teachers),
          );
        }
      }
    }
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
  const checkpoint = async (initial: EpochMetrics, final: EpochMetrics) => {
    const snap = trainer.snapshot();
    const runState: RunState = {
      origin,
      trainer: snap.state,
      metricsCsv: csv,
      alignmentBytes: (await Deno.stat(`${out}/alignment.csv`)).size,
      overlapsBytes: (await Deno.stat(`${out}/overlaps.csv`)).size,
      studentsBytes: (await Deno.stat(`${out}/students.csv`)).size,
      initial,
      final,
      trainMs,
      evalMs,
      wallMs: performance.now() - wallStart,
      evaluations,
      resumes: state?.resumes ?? 0,
      timeline: timeline.getState(),
      last: last!,
      ...(polish ? { polish } : {}),
    };
    const bytes = await encodeCheckpoint({ state: runState, blobs: snap.blobs });
    await writeFileAtomic(`${out}/${CHECKPOINT_FILE}`, bytes);
    opts.onCheckpoint?.(trainer.epoch, config.epochs);
  };

  let polish: PolishResult | null = state?.polish ?? null;
  let initial: EpochMetrics, final: EpochMetrics;
  let divergence: Divergence | null = null;
  if (state) {
    initial = state.initial;
    final = state.final;
  } else {
    initial = final = await evaluate(config.epochs === 0);
    divergence = divergenceOf(trainer, initial);
    if (!divergence) await checkpoint(initial, final);
  }
  while (!divergence && trainer.epoch < config.epochs) {
    // --eval-at steps inside this epoch: train up to each, evaluate, go on
    const base = trainer.epoch * config.iters, lr = trainer.lr;
    const inside = config.evalAt.filter((x) => x > base && x < base + config.iters);
    trainer.beginEpoch();
    let done = 0;
    for (const x of inside) {
      const t1 = performance.now();
      trainer.steps(x - base - done, lr);
      trainMs += performance.now() - t1;
      done = x - base;
      divergence = divergenceOf(trainer, null);
      if (divergence) break;
      final = await evaluate(false, x);
      divergence = divergenceOf(trainer, final);
      if (divergence) break;
    }
    if (divergence) break;
    const t0 = performance.now();
    if (inside.length === 0) trainer.trainEpoch();
    else {
      trainer.steps(config.iters - done, lr);
      trainer.endEpoch();
    }
    const e = trainer.epoch;
    trainMs += performance.now() - t0;
    divergence = divergenceOf(trainer, null);
    if (divergence) break;
    if (config.polish && e === config.epochs) {
      const tp = performance.now();
      polish = polishTrainer(trainer, config.polishTol, config.polishSteps);
      trainMs += performance.now() - tp;
      divergence = divergenceOf(trainer, null);
      if (divergence) break;
    }
    const due = e % config.evalEvery === 0 || saveCorrAt.has(e) || evalSteps.has(e * config.iters);
    if (due || e === config.epochs) {
      final = await evaluate(e === config.epochs);
      divergence = divergenceOf(trainer, final);
      if (divergence) break;
    }
    await checkpoint(initial, final);
  }
  await writeFileAtomic(`${out}/timeline.csv`, timelineCsv(timeline));
  for (let l = 0; l < layers; l++) {
    await saveMat(trainer, out, `student_final_w${l}`, trainer.student.weights[l]);
  }
  const wallMs = performance.now() - wallStart;
  const result: RunResult = {
    status: divergence ? "diverged" : "completed",
    ...(divergence ? { divergence } : {}),
    seed: config.seed,
    epochs: trainer.epoch,
    initial,
    final,
    layers: last!.layers,
    gradSample: last!.gradSample,
    ...(polish
      ? {
        polish: {
          ...polish,
          specialized: last!.layers[0].success.every(Boolean),
          specializedPopulation: last!.populationBest
            ? last!.populationBest.every((b) => b > SUCCESS_TAU)
            : null,
        },
      }
      : {}),
    provenance: {
      ...provenance(config.precision, config.fma),
      configHash: await configHash(config),
    },
    timing: {
      trainSeconds: trainMs / 1000,
      evalSeconds: evalMs / 1000,
      wallSeconds: wallMs / 1000,
      evaluations,
      evalFraction: wallMs > 0 ? evalMs / wallMs : 0,
      evalPerEpoch: evaluations > 0 && trainer.epoch > 0 && trainMs > 0
        ? (evalMs / evaluations) / (trainMs / trainer.epoch)
        : 0,
      stepsPerSecond: trainMs > 0 ? (trainer.epoch * config.iters) / (trainMs / 1000) : 0,
      resumes: state?.resumes ?? 0,
      threads: trainer.kernels.threads,
    },
  };
  await writeFileAtomic(`${out}/result.json`, JSON.stringify(result, null, 2) + "\n");
  await Deno.remove(`${out}/${CHECKPOINT_FILE}`).catch(() => {});
  return result;
}
