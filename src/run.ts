/**
 * One run on disk: the run folder, its `config.json`, `metrics.csv`, `.npy` weights and data, and
 * `result.json`, written last, whose presence marks a finished run.
 *
 * Folder contents (weights are (inputs+1) × outputs per layer, bias last row):
 * - `config.json`: the resolved configuration, plus `meta` (tool, Deno, V8 versions, WASM hash);
 * - `metrics.csv`: one row per evaluation: epoch, lr, train_mse, eval_mse, grad_norm_<l>…;
 * - `teacher_w<l>.npy`, `student_init_w<l>.npy`, `student_final_w<l>.npy`;
 * - `train_x.npy`, `train_y.npy` (fixed training set only), `eval_x.npy`, `eval_y.npy`;
 * - `result.json`: final metrics, timings and status.
 * @module
 */

import { ConfigError, type RunConfig } from "./config.ts";
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
  /** Called after every evaluation (progress display). */
  onEvaluation?: (m: EpochMetrics, trainer: Trainer) => void;
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
function metricsRow(m: EpochMetrics): string {
  return [m.epoch, m.lr, m.trainMse, m.evalMse, ...m.gradNorm].join(",") + "\n";
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
  let csv = header.join(",") + "\n";
  let trainMs = 0, evalMs = 0;
  const evaluate = async () => {
    const t0 = performance.now();
    const m = trainer.evaluate();
    evalMs += performance.now() - t0;
    csv += metricsRow(m);
    await writeFileAtomic(`${out}/metrics.csv`, csv);
    opts.onEvaluation?.(m, trainer);
    return m;
  };
  const initial = await evaluate();
  let final = initial;
  for (let e = 1; e <= config.epochs; e++) {
    const t0 = performance.now();
    trainer.trainEpoch();
    trainMs += performance.now() - t0;
    if (e % config.evalEvery === 0 || e === config.epochs) final = await evaluate();
  }
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
  };
  await writeFileAtomic(`${out}/result.json`, JSON.stringify(result, null, 2) + "\n");
  return result;
}
