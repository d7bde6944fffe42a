/**
 * What a sweep will cost before it starts: disk (from {@linkcode estimateDisk}) and wall time.
 *
 * Time model: a job's seconds are epochs × iters × (step FLOPs) × s_step plus evaluations ×
 * (evaluation FLOPs) × s_eval, where the FLOP counts come from the layer sizes (below) and the
 * seconds per FLOP s_step, s_eval are measured on this machine by a short calibration: 200 SGD
 * steps and one evaluation, after the same once for warm-up, of the first job's configuration on at most 2000 + 2000 samples. Jobs
 * are spread over the workers. Not part of the library.
 * @module
 */

import { resolveConfig, type RunConfig } from "./config.ts";
import { estimateDisk, type SaveData } from "./data_store.ts";
import { DEFAULT_BETA_SAMPLES, evaluateTrainer } from "./analysis.ts";
import { Trainer } from "./train.ts";

/** Σ (inputs + 1) × outputs over the layers of widths `sizes`. */
function params(sizes: number[]): number {
  let p = 0;
  for (let l = 0; l + 1 < sizes.length; l++) p += (sizes[l] + 1) * sizes[l + 1];
  return p;
}

function sizesOf(c: RunConfig): { teacher: number[]; student: number[] } {
  return {
    teacher: [c.d, ...c.widths, c.outputs],
    student: [c.d, ...c.widths.map((w) => w * c.multi), c.outputs],
  };
}

/** Multiply-adds ×2 of one SGD step: forward, backward and update of the student. */
export function stepFlops(c: RunConfig): number {
  return 6 * c.batch * params(sizesOf(c).student);
}

/**
 * FLOPs of one evaluation: teacher and student forward on the measured training subsample
 * (`nTrainEval`, see `Trainer.trainEval`) and the eval set, the student's backward on the
 * gradient split (that subsample, or the eval set in fresh-sample runs; its first `nGradEval`
 * samples when set), the correlations, and for
 * deeper students the Jacobian β on the first {@linkcode DEFAULT_BETA_SAMPLES} eval samples (one
 * backward pass per output through the hidden layers, counted dense).
 */
export function evalFlops(c: RunConfig): number {
  const { teacher, student } = sizesOf(c);
  const trainRows = c.nTrain === 0 ? 0 : Math.min(c.nTrainEval, c.nTrain);
  const split = c.nTrain === 0 ? c.nEval : trainRows;
  const gradRows = c.nGradEval > 0 ? Math.min(c.nGradEval, split) : split;
  let corr = 0;
  for (let h = 0; h < c.widths.length; h++) corr += 2 * c.widths[h] * c.widths[h] * c.multi;
  let hidden = 0;
  for (let h = 1; h + 1 < student.length - 1; h++) hidden += student[h] * student[h + 1];
  const betaRows = c.widths.length > 1 ? Math.min(DEFAULT_BETA_SAMPLES, c.nEval) : 0;
  return (trainRows + c.nEval) * (2 * params(teacher) + 2 * params(student) + corr) +
    4 * gradRows * params(student) + 2 * betaRows * c.outputs * hidden;
}

/** Evaluations of a run: before training, every `evalEvery` epochs, the last, `saveCorrAt`. */
export function evaluations(c: RunConfig): number {
  const at = new Set([0, c.epochs, ...c.saveCorrAt.filter((e) => e >= 0 && e <= c.epochs)]);
  for (let e = 0; e <= c.epochs; e += c.evalEvery) at.add(e);
  return at.size;
}

/** Seconds per FLOP of SGD steps and of evaluations, measured on this machine. */
export interface Calibration {
  /** Seconds per step FLOP. */
  step: number;
  /** Seconds per evaluation FLOP. */
  eval: number;
}

/** Measures a {@linkcode Calibration} on a reduced copy of `config` (about a second or less). */
export function calibrate(config: RunConfig): Calibration {
  const c = resolveConfig({
    settings: {
      ...config,
      nTrain: Math.min(config.nTrain, 2000),
      nEval: Math.min(config.nEval, 2000),
      iters: 200,
      epochs: 1,
      evalEvery: 1,
      saveCorrAt: [],
      evalAt: [],
      lr: [[0, config.lr[0][1]]], // a schedule's later epochs are outside one epoch
    },
  });
  const t = new Trainer(c);
  // Warm-up first: the first calls of the kernels run before the engine has optimized them.
  t.trainEpoch();
  evaluateTrainer(t);
  const t0 = performance.now();
  t.trainEpoch();
  const t1 = performance.now();
  evaluateTrainer(t);
  const t2 = performance.now();
  return {
    step: (t1 - t0) / 1000 / (c.iters * stepFlops(c)),
    eval: (t2 - t1) / 1000 / evalFlops(c),
  };
}

/** Estimated seconds of one job under a calibration. */
export function jobSeconds(c: RunConfig, cal: Calibration): number {
  return c.epochs * c.iters * stepFlops(c) * cal.step + evaluations(c) * evalFlops(c) * cal.eval;
}

/** The estimate printed before a sweep starts. */
export interface SweepEstimate {
  /** Jobs to run here (not finished yet). */
  jobs: number;
  /** Distinct data sets stored (mode `once`), or one per job (`all`), or 0. */
  dataSets: number;
  /** Bytes the finished sweep folder will take (all its jobs). */
  bytes: number;
  /** Bytes of the data sets among them. */
  dataBytes: number;
  /** Estimated wall seconds for the jobs to run here, with `workers` in parallel. */
  seconds: number;
}

/**
 * Estimates disk (every job of the sweep) and time (the jobs still to run, over `workers`).
 * Time is the larger of the total over the workers and the longest job.
 */
export function estimateSweep(
  all: readonly RunConfig[],
  todo: readonly RunConfig[],
  opts: { saveData: SaveData; workers: number; calibration: Calibration | null },
): SweepEstimate {
  const disk = estimateDisk(all, opts.saveData);
  let total = 0, longest = 0;
  if (opts.calibration) {
    for (const c of todo) {
      const s = jobSeconds(c, opts.calibration);
      total += s;
      longest = Math.max(longest, s);
    }
  }
  const workers = Math.max(1, Math.min(opts.workers, todo.length || 1));
  return { jobs: todo.length, ...disk, seconds: Math.max(total / workers, longest) };
}
