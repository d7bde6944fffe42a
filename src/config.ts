/**
 * The run configuration: every option, its default, its flag, and its validation, in one table.
 *
 * A configuration is resolved once (defaults filled in, "auto" values decided by the network's
 * depth, every value checked) and never changes afterwards. Every problem is reported as a
 * {@linkcode ConfigError} whose message names the option and what it accepts.
 * @module
 */

import { CHUNK_ROWS } from "./data.ts";
import { exp, log } from "./detmath.ts";
import type { Precision } from "./kernels.ts";
import { TUNING_SAMPLES } from "./teacher.ts";

/** A learning-rate schedule: `[epoch, lr]` pairs, epochs strictly increasing, the first 0. */
export type Schedule = [number, number][];

/** A fully resolved run configuration. Keys are the `config.json` keys. */
export interface RunConfig {
  /** Input dimension d. */
  d: number;
  /** Teacher hidden widths m_1..m_L, bottom to top. */
  widths: number[];
  /** Student over-realization: student width = multi × teacher width. */
  multi: number;
  /** Output units c. */
  outputs: number;
  /** Teacher strength decay p: fan-out of teacher node i is divided by (i+1)^p. */
  p: number;
  /** Standard deviation of the Gaussian inputs. */
  dataStd: number;
  /** Training inputs: Gaussian, or teacher-aware (pairs straddling first-layer teacher boundaries). */
  data: "gaussian" | "teacher-aware";
  /** Teacher-aware data: smallest shift a off a boundary, in units of dataStd. */
  awareShift: number;
  /** Teacher-aware data: a is uniform in [awareShift, awareShift + awareSpread]. */
  awareSpread: number;
  /** Training set size; 0 draws fresh samples every step. */
  nTrain: number;
  /** Evaluation set size. */
  nEval: number;
  /** Training-set measurements use a fixed subsample of this many training samples (the whole
   * training set when it is not larger), drawn once from its own random stream. */
  nTrainEval: number;
  /** Gradient measurements (full-batch and per-sample gradient norms, per-node mean squared
   * gradient) use the first this many samples of the gradient split (the training subsample, or
   * the eval set in fresh-sample runs); 0 = all of it. */
  nGradEval: number;
  /** Minibatch size. */
  batch: number;
  /** Learning rate schedule, epoch → lr. */
  lr: Schedule;
  /** Number of epochs. */
  epochs: number;
  /** SGD iterations per epoch. */
  iters: number;
  /** Seed of every random stream of the run. */
  seed: number;
  /** Floating-point precision of the whole run. */
  precision: Precision;
  /** Matrix products with fused multiply-add (the relaxed-SIMD kernel module): faster, but the
   * bits depend on the CPU; off by default (bit-reproducible everywhere). */
  fma: boolean;
  /** Minibatches drawn with replacement (the reference) or shuffled passes over the training set. */
  sampling: "replacement" | "shuffle";
  /**
   * Student initialization: N(0, initStd²) weights and zero biases, or uniform ±1/sqrt(fan_in);
   * relative to the teacher: "perturb" (the teacher's weights plus N(0, perturbStd²) on the
   * teacher-sized part, the rest as usual) or "same-sign" (the usual init with the teacher's signs
   * on the teacher-sized part). "The usual" is gaussian for two-layer runs, uniform deeper.
   */
  init: "gaussian" | "uniform" | "perturb" | "same-sign";
  /** Std of the noise added to the teacher's weights by `init` "perturb". */
  perturbStd: number;
  /** Standard deviation of the Gaussian student initialization. */
  initStd: number;
  /** Fixed teacher bias (two-layer teachers, every layer). */
  teacherBias: number;
  /** Tune teacher biases to the median pre-activation, layer by layer. */
  biasTuning: boolean;
  /** Standardize teacher outputs (zero mean, unit std per output). */
  standardize: boolean;
  /** Leaky-ReLU slope for negative inputs (0 = ReLU) of the student (and of the teacher unless
   * `teacherSlope` says otherwise). */
  slope: number;
  /** Leaky-ReLU slope of the teacher alone ("auto" resolves to `slope`). */
  teacherSlope: number;
  /** Std of Gaussian noise added to the teacher's outputs of the training set (0 = none). */
  labelNoise: number;
  /** Train only the layers below the output layer; the output layer keeps its initial weights. */
  freezeTop: boolean;
  /** Training objective: squared error, or softmax cross-entropy vs the teacher's arg-max class. */
  loss: "mse" | "cross-entropy";
  /** The update rule: SGD (with momentum and weight decay) or PyTorch's Adam. */
  optimizer: "sgd" | "adam";
  /** Adam: decay of the first-moment average (PyTorch's betas[0]). */
  adamBeta1: number;
  /** Adam: decay of the second-moment average (PyTorch's betas[1]). */
  adamBeta2: number;
  /** Adam: eps added to the denominator. */
  adamEps: number;
  /** SGD momentum (0 = plain SGD). */
  momentum: number;
  /** L2 weight decay added to the gradient (SGD and Adam alike, PyTorch's semantics). */
  weightDecay: number;
  /** Evaluate (losses, alignment, gradients) every K epochs; the first and last always. */
  evalEvery: number;
  /** Epochs at which full correlation matrices are saved (besides the first and last evaluation). */
  saveCorrAt: number[];
  /** Train by gradient descent on the exact population loss instead of SGD (two-layer ReLU). */
  population: boolean;
  /** With `population`: integrate the gradient flow (adaptive Dormand–Prince) instead of steps. */
  flow: boolean;
  /** After the last epoch, minimize the finite training loss with L-BFGS (see `polish.ts`). */
  polish: boolean;
  /** Polish until the largest per-sample gradient norm is at most this. */
  polishTol: number;
  /** Polish for at most this many L-BFGS iterations. */
  polishSteps: number;
  /** Extra evaluations at these global SGD steps (0 to epochs × iters), matrices saved at each;
   * given as a list or as "log:K" (K log-spaced steps from 1 to the end, resolved to the list). */
  evalAt: number[];
}

/** A bad option or configuration value: a usage error (exit code 2 in the CLI). */
export class ConfigError extends Error {
  /** Creates the error; the message is shown to the user as is. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The kind of value an option takes. */
export type OptionKind =
  | "int"
  | "number"
  | "intList"
  | "schedule"
  | "bool"
  | "evalTimes"
  | { choices: readonly string[] };

/** One option: config key, CLI flag, kind, default, bounds and help. */
export interface OptionSpec {
  /** Key in config.json. */
  key: keyof RunConfig;
  /** Long flag without dashes. */
  flag: string;
  /** Value kind. */
  kind: OptionKind;
  /** Default value, or "auto" (decided by depth) as shown in help. */
  default: unknown;
  /** Smallest accepted value (numbers, list items). */
  min?: number;
  /** Whether `min` itself is excluded. */
  exclusiveMin?: boolean;
  /** Largest accepted value. */
  max?: number;
  /** Whether `max` itself is excluded. */
  exclusiveMax?: boolean;
  /** Lists: at least one item required. */
  nonEmpty?: boolean;
  /** One-line help. */
  help: string;
}

const U32 = 4294967295;

/** Largest input dimension, layer width and output count (WASM matrix sizes stay in 32 bits). */
export const MAX_WIDTH = 1_000_000;
/** Largest student over-realization. */
export const MAX_MULTI = 10_000;
/** Largest data set and minibatch size (the memory estimate usually refuses far less). */
export const MAX_SAMPLES = 100_000_000;
/** Largest number of epochs (also of --eval-every and --save-corr-at). */
export const MAX_EPOCHS = 1_000_000;
/** Largest number of SGD steps per epoch. */
export const MAX_ITERS = 1_000_000_000;

/** Every run option, in help order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "d",
    flag: "d",
    kind: "int",
    default: 100,
    min: 1,
    max: MAX_WIDTH,
    help: "input dimension",
  },
  {
    key: "widths",
    flag: "widths",
    kind: "intList",
    default: [20],
    min: 1,
    max: MAX_WIDTH,
    nonEmpty: true,
    help: "teacher hidden widths, bottom to top (e.g. 20 or 10,15,20,25)",
  },
  {
    key: "multi",
    flag: "multi",
    kind: "int",
    default: 10,
    min: 1,
    max: MAX_MULTI,
    help: "student width ÷ teacher width",
  },
  {
    key: "outputs",
    flag: "outputs",
    kind: "int",
    default: 50,
    min: 1,
    max: MAX_WIDTH,
    help: "output units",
  },
  {
    key: "p",
    flag: "p",
    kind: "number",
    default: 1,
    min: 0,
    help: "teacher strength decay: fan-out of node i divided by (i+1)^p",
  },
  {
    key: "dataStd",
    flag: "data-std",
    kind: "number",
    default: 1.5,
    min: 0,
    exclusiveMin: true,
    help: "std of the Gaussian inputs",
  },
  {
    key: "data",
    flag: "data",
    kind: { choices: ["gaussian", "teacher-aware"] },
    default: "gaussian",
    help: "training inputs: gaussian, or teacher-aware (points near the teacher's boundaries)",
  },
  {
    key: "awareShift",
    flag: "aware-shift",
    kind: "number",
    default: 0.5,
    min: 0,
    help: "teacher-aware data: smallest shift off a boundary, in units of --data-std",
  },
  {
    key: "awareSpread",
    flag: "aware-spread",
    kind: "number",
    default: 0.5,
    min: 0,
    help: "teacher-aware data: shifts uniform in [shift, shift + spread]",
  },
  {
    key: "nTrain",
    flag: "n-train",
    kind: "int",
    default: 10000,
    min: 0,
    max: MAX_SAMPLES,
    help: "training set size (0 = fresh samples every step)",
  },
  {
    key: "nEval",
    flag: "n-eval",
    kind: "int",
    default: 10000,
    min: 1,
    max: MAX_SAMPLES,
    help: "evaluation set size",
  },
  {
    key: "nTrainEval",
    flag: "n-train-eval",
    kind: "int",
    default: 10000,
    min: 1,
    max: MAX_SAMPLES,
    help: "training-set measurements on a fixed subsample of this many samples (all if fewer)",
  },
  {
    key: "nGradEval",
    flag: "n-grad-eval",
    kind: "int",
    default: 0,
    min: 0,
    max: MAX_SAMPLES,
    help: "gradient measurements (full-batch and per-sample gradient norms, grad_sq_mean) on " +
      "the first N samples of the training subsample (0 = all of it)",
  },
  {
    key: "batch",
    flag: "batch",
    kind: "int",
    default: 16,
    min: 1,
    max: MAX_SAMPLES,
    help: "minibatch size",
  },
  {
    key: "lr",
    flag: "lr",
    kind: "schedule",
    default: [[0, 0.01]],
    help: "learning rate: a number or epoch:lr pairs, e.g. 0:0.2,20:0.1",
  },
  {
    key: "epochs",
    flag: "epochs",
    kind: "int",
    default: 100,
    min: 1,
    max: MAX_EPOCHS,
    help: "epochs",
  },
  {
    key: "iters",
    flag: "iters",
    kind: "int",
    default: 1000,
    min: 1,
    max: MAX_ITERS,
    help: "SGD iterations per epoch",
  },
  { key: "seed", flag: "seed", kind: "int", default: 1, min: 0, max: U32, help: "random seed" },
  {
    key: "precision",
    flag: "precision",
    kind: { choices: ["f32", "f64"] },
    default: "auto",
    help: "float precision (auto: f64 for two-layer, f32 deeper)",
  },
  {
    key: "fma",
    flag: "fma",
    kind: "bool",
    default: false,
    help:
      "fused multiply-add in the matrix products (relaxed SIMD): faster, bits depend on the CPU",
  },
  {
    key: "sampling",
    flag: "sampling",
    kind: { choices: ["replacement", "shuffle"] },
    default: "replacement",
    help: "minibatches with replacement, or shuffled passes",
  },
  {
    key: "init",
    flag: "init",
    kind: { choices: ["gaussian", "uniform", "perturb", "same-sign"] },
    default: "auto",
    help: "student init (auto: gaussian for two-layer, uniform ±1/sqrt(fan_in) deeper; " +
      "perturb: teacher + N(0, perturb-std²), same-sign: auto with the teacher's signs, " +
      "both on the teacher-sized part)",
  },
  {
    key: "initStd",
    flag: "init-std",
    kind: "number",
    default: 0.005,
    min: 0,
    exclusiveMin: true,
    help: "std of the gaussian student init",
  },
  {
    key: "perturbStd",
    flag: "perturb-std",
    kind: "number",
    default: 0.05,
    min: 0,
    help: "--init perturb: std of the noise added to the teacher's weights",
  },
  {
    key: "teacherBias",
    flag: "teacher-bias",
    kind: "number",
    default: -0.1,
    help: "fixed teacher bias (without bias tuning)",
  },
  {
    key: "biasTuning",
    flag: "bias-tuning",
    kind: "bool",
    default: "auto",
    help: "teacher biases at the median pre-activation (auto: on deeper than two layers)",
  },
  {
    key: "standardize",
    flag: "standardize",
    kind: "bool",
    default: false,
    help: "standardize teacher outputs (zero mean, unit std)",
  },
  {
    key: "slope",
    flag: "slope",
    kind: "number",
    default: 0,
    min: 0,
    max: 1,
    exclusiveMax: true,
    help: "leaky-ReLU slope (0 = ReLU) of the student, and of the teacher unless --teacher-slope",
  },
  {
    key: "teacherSlope",
    flag: "teacher-slope",
    kind: "number",
    default: "auto",
    min: 0,
    max: 1,
    exclusiveMax: true,
    help: "leaky-ReLU slope of the teacher only (auto: --slope)",
  },
  {
    key: "labelNoise",
    flag: "label-noise",
    kind: "number",
    default: 0,
    min: 0,
    help: "std of Gaussian noise added to the teacher's outputs of the training set",
  },
  {
    key: "freezeTop",
    flag: "freeze-top",
    kind: "bool",
    default: false,
    help: "train only the layers below the output layer",
  },
  {
    key: "loss",
    flag: "loss",
    kind: { choices: ["mse", "cross-entropy"] },
    default: "mse",
    help: "objective: mse, or cross-entropy (softmax vs the teacher's arg-max output as class)",
  },
  {
    key: "optimizer",
    flag: "optimizer",
    kind: { choices: ["sgd", "adam"] },
    default: "sgd",
    help: "update rule: sgd (momentum, weight decay) or adam (PyTorch's Adam)",
  },
  {
    key: "adamBeta1",
    flag: "adam-beta1",
    kind: "number",
    default: 0.9,
    min: 0,
    max: 1,
    exclusiveMax: true,
    help: "adam: first-moment decay β1",
  },
  {
    key: "adamBeta2",
    flag: "adam-beta2",
    kind: "number",
    default: 0.999,
    min: 0,
    max: 1,
    exclusiveMax: true,
    help: "adam: second-moment decay β2",
  },
  {
    key: "adamEps",
    flag: "adam-eps",
    kind: "number",
    default: 1e-8,
    min: 0,
    exclusiveMin: true,
    help: "adam: eps added to sqrt of the second moment",
  },
  {
    key: "momentum",
    flag: "momentum",
    kind: "number",
    default: 0,
    min: 0,
    max: 1,
    exclusiveMax: true,
    help: "SGD momentum (sgd only)",
  },
  {
    key: "weightDecay",
    flag: "weight-decay",
    kind: "number",
    default: 0,
    min: 0,
    help: "L2 weight decay added to the gradient (sgd and adam, as PyTorch's)",
  },
  {
    key: "evalEvery",
    flag: "eval-every",
    kind: "int",
    default: 1,
    min: 1,
    max: MAX_EPOCHS,
    help: "epochs between evaluations: 1 = after every epoch, N = after every N-th (before " +
      "training and after the last epoch always)",
  },
  {
    key: "saveCorrAt",
    flag: "save-corr-at",
    kind: "intList",
    default: [],
    min: 0,
    max: MAX_EPOCHS,
    help: "epochs whose correlation matrices are saved (besides first and last)",
  },
  {
    key: "population",
    flag: "population",
    kind: "bool",
    default: false,
    help: "gradient descent on the exact population loss instead of SGD (two-layer ReLU; " +
      "time lr × step as in SGD)",
  },
  {
    key: "flow",
    flag: "flow",
    kind: "bool",
    default: false,
    help: "with --population: integrate the gradient flow over lr × iters per epoch " +
      "(adaptive Dormand–Prince)",
  },
  {
    key: "polish",
    flag: "polish",
    kind: "bool",
    default: false,
    help: "after the last epoch, L-BFGS on the training loss until every per-sample gradient is " +
      "small (--polish-tol) or --polish-steps",
  },
  {
    key: "polishTol",
    flag: "polish-tol",
    kind: "number",
    default: 1e-6,
    min: 0,
    exclusiveMin: true,
    help: "polish: stop when the largest per-sample gradient norm is at most this",
  },
  {
    key: "polishSteps",
    flag: "polish-steps",
    kind: "int",
    default: 500,
    min: 1,
    max: MAX_ITERS,
    help: "polish: at most this many L-BFGS iterations",
  },
  {
    key: "evalAt",
    flag: "eval-at",
    kind: "evalTimes",
    default: [],
    help: "also evaluate (and save matrices) at these SGD steps: a list, or log:K for K " +
      "log-spaced steps from 1 to the end",
  },
];

const BY_KEY = new Map(OPTIONS.map((o) => [o.key as string, o]));

/** The largest `--threads`. */
export const MAX_THREADS = 64;

/**
 * The execution option `--threads N` of `train` (config-file key `threads`): how many threads one
 * run's kernels use. It is not part of {@linkcode RunConfig}: it never changes a result (every
 * output element is computed by one thread in the same order), so config.json and job hashes do
 * not depend on it; result.json records it in `timing`.
 */
export const THREADS_HELP: [string, string] = [
  "--threads N",
  "threads of this run's kernels (Deno Workers on one shared memory; the same bits as 1; " +
  `not stored in config.json) [1 to ${MAX_THREADS}; default: 1]`,
];

/**
 * Validates a `--threads` value (a flag's string or a config file's number): an integer from 1 to
 * {@linkcode MAX_THREADS}; a one-line {@linkcode ConfigError} otherwise.
 */
export function parseThreads(v: unknown, where = ""): number {
  const x = typeof v === "number"
    ? v
    : typeof v === "string" && /^\s*\d+\s*$/.test(v)
    ? Number(v)
    : NaN;
  if (!Number.isInteger(x) || x < 1 || x > MAX_THREADS) {
    throw new ConfigError(
      `${where}Invalid --threads ${
        JSON.stringify(v) ?? String(v)
      }: expected an integer from 1 to ${MAX_THREADS}`,
    );
  }
  return x;
}

/** Config keys that are accepted in a config file but carry no setting (provenance). */
const IGNORED_KEYS = new Set(["meta"]);

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function describe(o: OptionSpec): string {
  const k = o.kind;
  if (typeof k === "object") return `one of ${k.choices.join(", ")}`;
  if (k === "bool") return "true or false";
  if (k === "evalTimes") {
    return "log:K (K ≥ 2 log-spaced steps) or a comma-separated list of steps ≥ 0";
  }
  if (k === "schedule") {
    return "a positive number or epoch:lr pairs with increasing epochs from 0, like 0:0.2,20:0.1";
  }
  const what = k === "int"
    ? "an integer"
    : k === "intList"
    ? "a comma-separated list of integers"
    : "a number";
  const bounds: string[] = [];
  if (o.min !== undefined) bounds.push(`${o.exclusiveMin ? ">" : "≥"} ${o.min}`);
  if (o.max !== undefined) bounds.push(`${o.exclusiveMax ? "<" : "≤"} ${o.max}`);
  return bounds.length ? `${what} ${bounds.join(" and ")}` : what;
}

function fail(o: OptionSpec, value: unknown, where: string): never {
  const shown = typeof value === "string"
    ? JSON.stringify(value)
    : JSON.stringify(value) ?? String(value);
  throw new ConfigError(`${where}Invalid --${o.flag} ${shown}: expected ${describe(o)}`);
}

/** The items of a list value: comma-separated text, a JSON array or a single number; null if none. */
function listItems(v: unknown): unknown[] | null {
  if (typeof v === "string") return v.trim() === "" ? [] : v.split(",");
  if (Array.isArray(v)) return v;
  return typeof v === "number" ? [v] : null;
}

function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && NUMBER_RE.test(v.trim())) return Number(v.trim());
  return NaN;
}

function inBounds(o: OptionSpec, x: number): boolean {
  if (!Number.isFinite(x)) return false;
  if (o.min !== undefined && (o.exclusiveMin ? x <= o.min : x < o.min)) return false;
  if (o.max !== undefined && (o.exclusiveMax ? x >= o.max : x > o.max)) return false;
  return true;
}

/**
 * K steps log-spaced from 1 to `total` (rounded, duplicates removed), plus 0: round(total^(i/(K−1)))
 * for i = 0 … K−1, computed with the deterministic exp and log of `detmath.ts`.
 */
export function logSteps(k: number, total: number): number[] {
  const out = new Set<number>([0]);
  const lt = log(Math.max(1, total));
  for (let i = 0; i < k; i++) out.add(Math.min(total, Math.round(exp((lt * i) / (k - 1)))));
  return [...out].sort((a, b) => a - b);
}

/** Parses a learning-rate schedule: a number, "e:lr,e:lr", or `[[e, lr], ...]`. Null if invalid. */
export function parseSchedule(v: unknown): Schedule | null {
  let pairs: [number, number][];
  if (typeof v === "number") pairs = [[0, v]];
  else if (typeof v === "string") {
    const s = v.trim();
    if (NUMBER_RE.test(s)) pairs = [[0, Number(s)]];
    else {
      pairs = [];
      for (const part of s.split(",")) {
        const m = part.trim().match(/^([^:]+):([^:]+)$/);
        if (!m) return null;
        pairs.push([toNumber(m[1]), toNumber(m[2])]);
      }
    }
  } else if (Array.isArray(v)) {
    pairs = [];
    for (const item of v) {
      if (!Array.isArray(item) || item.length !== 2) return null;
      pairs.push([toNumber(item[0]), toNumber(item[1])]);
    }
  } else return null;
  if (pairs.length === 0 || pairs[0][0] !== 0) return null;
  for (let i = 0; i < pairs.length; i++) {
    const [e, lr] = pairs[i];
    if (!Number.isSafeInteger(e) || e < 0 || !(lr > 0) || !Number.isFinite(lr)) return null;
    if (i > 0 && e <= pairs[i - 1][0]) return null;
  }
  return pairs;
}

/** The learning rate of a schedule at an epoch (0-based epoch being trained). */
export function lrAt(schedule: Schedule, epoch: number): number {
  let lr = schedule[0][1];
  for (const [e, v] of schedule) if (e <= epoch) lr = v;
  return lr;
}

function parseValue(o: OptionSpec, v: unknown, where: string): unknown {
  const k = o.kind;
  if (typeof k === "object") {
    if (typeof v !== "string" || !k.choices.includes(v)) fail(o, v, where);
    return v;
  }
  switch (k) {
    case "bool":
      if (v === true || v === "true") return true;
      if (v === false || v === "false") return false;
      return fail(o, v, where);
    case "schedule":
      return parseSchedule(v) ?? fail(o, v, where);
    case "evalTimes": {
      if (typeof v === "string" && v.trim().startsWith("log:")) {
        const k = toNumber(v.trim().slice(4));
        if (!Number.isInteger(k) || k < 2) fail(o, v, where);
        return { log: k };
      }
      const items = listItems(v);
      if (items === null) return fail(o, v, where);
      const xs = items.map(toNumber);
      if (xs.some((x) => !Number.isInteger(x) || x < 0)) fail(o, v, where);
      return [...new Set(xs)].sort((a, b) => a - b);
    }
    case "int":
    case "number": {
      const x = toNumber(v);
      if (!inBounds(o, x) || (k === "int" && !Number.isSafeInteger(x))) fail(o, v, where);
      return x;
    }
    case "intList": {
      const items = listItems(v);
      if (items === null) return fail(o, v, where);
      const xs = items.map(toNumber);
      if (xs.some((x) => !Number.isSafeInteger(x) || !inBounds(o, x))) fail(o, v, where);
      if (o.nonEmpty && xs.length === 0) fail(o, v, where);
      return xs;
    }
  }
}

/** Partial settings as given by a user: raw strings from flags or JSON values from a file. */
export type RawSettings = Record<string, unknown>;

/** The grid of teacher weights: {-1, -0.75, ..., 0.75, 1}. */
export const GRID_SIZE = 9;

/**
 * Resolves user settings over the defaults, decides "auto" values, validates every value and the
 * combination, and returns a frozen {@linkcode RunConfig}.
 *
 * `layers` lists settings from lowest to highest priority (e.g. config file, then flags), each
 * with a label for messages ("" for flags, the file name for a file).
 */
export function resolveConfig(...layers: { settings: RawSettings; source?: string }[]): RunConfig {
  const out: Record<string, unknown> = {};
  for (const o of OPTIONS) out[o.key] = o.default;
  for (const { settings, source } of layers) {
    const where = source ? `${source}: ` : "";
    for (const [key, value] of Object.entries(settings)) {
      if (IGNORED_KEYS.has(key)) continue;
      const o = BY_KEY.get(key);
      if (!o) {
        const known = OPTIONS.map((x) => x.key).join(", ");
        throw new ConfigError(`${where}Unknown setting "${key}": accepted keys are ${known}`);
      }
      if (value === "auto" && o.default === "auto") out[key] = "auto";
      else out[key] = parseValue(o, value, where);
    }
  }
  const c = out as unknown as RunConfig;
  const deep = c.widths.length > 1;
  if ((c.precision as string) === "auto") c.precision = deep ? "f32" : "f64";
  if ((c.init as string) === "auto") c.init = deep ? "uniform" : "gaussian";
  if ((c.biasTuning as unknown) === "auto") c.biasTuning = deep;
  if ((c.teacherSlope as unknown) === "auto") c.teacherSlope = c.slope;
  const total = c.epochs * c.iters;
  const at = c.evalAt as unknown as number[] | { log: number };
  if (!Array.isArray(at)) c.evalAt = logSteps(at.log, total);
  checkCombination(c);
  return Object.freeze(c);
}

function checkCombination(c: RunConfig): void {
  if (c.population) {
    const why = c.widths.length !== 1
      ? `a two-layer network (one --widths value), got --widths ${c.widths.join(",")}`
      : c.slope !== 0
      ? `ReLU (--slope 0), got --slope ${c.slope}`
      : c.data !== "gaussian"
      ? `Gaussian inputs, got --data ${c.data}`
      : c.loss !== "mse"
      ? `the squared loss, got --loss ${c.loss}`
      : null;
    if (why) {
      throw new ConfigError(`Invalid --population true: the exact population loss needs ${why}`);
    }
  }
  if (c.flow && c.evalAt.some((step) => step % c.iters !== 0)) {
    throw new ConfigError(
      `Invalid --eval-at with --flow true: the gradient flow is integrated an epoch at a time, so ` +
        `evaluation steps must be multiples of --iters (${c.iters})`,
    );
  }
  if (c.flow && !c.population) {
    throw new ConfigError(`Invalid --flow true: the gradient flow needs --population true`);
  }
  if (c.polish && c.nTrain === 0) {
    throw new ConfigError(
      `Invalid --polish true: polishing minimizes the loss on a fixed training set (--n-train > 0)`,
    );
  }
  if (c.polish && c.loss !== "mse") {
    throw new ConfigError(
      `Invalid --polish true: it minimizes the squared loss, got --loss ${c.loss}`,
    );
  }
  if (c.flow && c.optimizer !== "sgd") {
    throw new ConfigError(
      `Invalid --flow true: the gradient flow is plain gradient descent's limit, got --optimizer ${c.optimizer}`,
    );
  }
  if (c.flow && c.momentum > 0) {
    throw new ConfigError(
      `Invalid --flow true: the gradient flow has no momentum, got --momentum ${c.momentum}`,
    );
  }
  // Teacher rows are distinct non-zero grid vectors: fan-in f admits at most 9^f - 1 of them.
  const fanIns = [c.d, ...c.widths];
  const counts = [...c.widths, c.outputs];
  for (let l = 0; l < counts.length; l++) {
    const possible = Math.pow(GRID_SIZE, fanIns[l]) - 1;
    if (counts[l] > possible) {
      const what = l === counts.length - 1 ? "--outputs" : "--widths";
      throw new ConfigError(
        `Invalid ${what} ${counts[l]}: a layer with fan-in ${fanIns[l]} has at most ${possible} ` +
          `distinct grid rows`,
      );
    }
  }
  if (c.sampling === "shuffle" && c.nTrain > 0 && c.batch > c.nTrain) {
    throw new ConfigError(
      `Invalid --batch ${c.batch}: with --sampling shuffle it must be ≤ --n-train (${c.nTrain})`,
    );
  }
  if (c.data === "teacher-aware" && c.nTrain === 0) {
    throw new ConfigError(
      `Invalid --data teacher-aware: needs a fixed training set (--n-train > 0)`,
    );
  }
  if (c.labelNoise > 0 && c.nTrain === 0) {
    throw new ConfigError(
      `Invalid --label-noise ${c.labelNoise}: needs a fixed training set (--n-train > 0)`,
    );
  }
  if (c.sampling === "shuffle" && c.nTrain === 0) {
    throw new ConfigError(`Invalid --sampling shuffle: needs a fixed training set (--n-train > 0)`);
  }
  if (c.optimizer !== "sgd" && c.momentum !== 0) {
    throw new ConfigError(
      `Invalid --momentum ${c.momentum}: momentum applies to --optimizer sgd only ` +
        `(adam has --adam-beta1)`,
    );
  }
  const last = c.lr[c.lr.length - 1][0];
  if (last >= c.epochs) {
    throw new ConfigError(
      `Invalid --lr: schedule epoch ${last} is outside the run (epochs 0 to ${c.epochs - 1})`,
    );
  }
  for (const s of c.evalAt) {
    if (s > c.epochs * c.iters) {
      throw new ConfigError(
        `Invalid --eval-at ${s}: steps of this run are 0 to ${c.epochs * c.iters} ` +
          `(epochs × iters)`,
      );
    }
  }
  for (const e of c.saveCorrAt) {
    if (e > c.epochs) {
      throw new ConfigError(
        `Invalid --save-corr-at ${e}: epochs of this run are 0 (before training) to ${c.epochs}`,
      );
    }
  }
  const bytes = estimateMemory(c);
  if (bytes > MEMORY_LIMIT) {
    throw new ConfigError(
      `This run needs up to ${(bytes / 2 ** 30).toFixed(2)} GiB of WASM memory; at most ` +
        `${
          (MEMORY_LIMIT / 2 ** 30).toFixed(2)
        } GiB can be addressed (reduce --n-train, --n-eval, --batch, --d, --widths, --multi or --outputs)`,
    );
  }
}

/** The most WASM memory one run may use (4 GiB address space, less headroom). */
export const MEMORY_LIMIT = 3.5 * 2 ** 30;

/** Bytes of the kernels module's static data and the arena's rounding (padding, pages). */
export const MEMORY_OVERHEAD = 2 * 2 ** 20;

/**
 * An upper bound of the bytes of WASM memory a run allocates, all phases together (WASM memory
 * never shrinks): the module's static data, both networks' weights, the training buffers
 * (gradients, momentum, minibatch, index), the data sets and the training subsample, the teacher's bias-tuning sample, the
 * forward/backward workspaces of every row count used (minibatch, evaluation chunks and their
 * remainders), the analysis' accumulators and gradient buffers per hidden layer, and its cache of
 * teacher activations (at most 64 MiB). `tests/memory_test.ts` checks it against the real
 * allocation over a grid of configurations.
 */
export function estimateMemory(c: RunConfig): number {
  const bpe = c.precision === "f32" ? 4 : 8;
  const teacher = [c.d, ...c.widths, c.outputs];
  const student = [c.d, ...c.widths.map((w) => w * c.multi), c.outputs];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const L = student.length - 1;
  let wS = 0, wT = 0;
  for (let l = 0; l < L; l++) {
    wS += (student[l] + 1) * student[l + 1];
    wT += (teacher[l] + 1) * teacher[l + 1];
  }
  const chunk = CHUNK_ROWS;
  const subsample = c.nTrain > c.nTrainEval ? c.nTrainEval : 0;
  // Workspaces, one per distinct row count: the minibatch (the teacher's only for fresh samples),
  // full evaluation chunks and the remainders of the data sets.
  const wsElems = (s: number[]) => s[0] + 2 * s[L] + 4 * sum(s.slice(1, L));
  const chunkRows = Math.min(chunk, Math.max(c.nTrain, c.nEval)) + (c.nTrain % chunk) +
    (c.nEval % chunk) + (subsample % chunk);
  const workspaces = (c.batch + chunkRows) * wsElems(student) +
    ((c.nTrain === 0 ? c.batch : 0) + chunkRows) * wsElems(teacher);
  const tuning = c.biasTuning || c.standardize ? TUNING_SAMPLES * (c.d + 4 * sum(teacher)) : 0;
  // Student weights, gradients, momentum and the analysis' gradients (× 2 for the f64 sums).
  const weights = wT + 5 * wS;
  const batch = c.batch * (c.d + c.outputs + 1);
  const data = (c.nTrain + c.nEval + subsample) * (c.d + c.outputs + 1);
  let elements = weights + batch + data + workspaces + tuning;
  let f64 = 0;
  for (let h = 0; h < L - 1; h++) {
    const m = teacher[h + 1], n = student[h + 1];
    // correlation (shifts, deviations, sums, cross products) and observability accumulators,
    // per-node gradient sums, the Jacobian β chunk
    elements += 6 * chunk * (m + n) + 2 * m * n + 3 * n + chunk * n;
    f64 += 2 * m * n + 4 * (m + n);
  }
  elements += 2 * L * chunk + c.outputs * student[L - 1]; // per-sample norms, top Jacobian
  f64 += 2 * wS;
  // --polish: its gradient buffers and per-sample norms (its workspaces are the chunks above).
  if (c.polish) elements += wS + 2 * L * chunk;
  // The analysis caches teacher activations of the measured data sets (at most 64 MiB).
  const measured = Math.min(c.nTrain, c.nTrainEval) + c.nEval;
  const cacheBytes = Math.min(64 * 2 ** 20, 2 * measured * sum(c.widths) * bpe);
  return elements * bpe + f64 * 8 + cacheBytes + MEMORY_OVERHEAD;
}

/** The CLI flag of a config key. */
export function flagOf(key: keyof RunConfig): string {
  return BY_KEY.get(key)!.flag;
}

/** The config key of a CLI flag, or undefined. */
export function keyOfFlag(flag: string): keyof RunConfig | undefined {
  return OPTIONS.find((o) => o.flag === flag)?.key;
}

/** Formats a value as shown in help and summaries (schedules as e:lr pairs). */
export function formatValue(v: unknown): string {
  if (Array.isArray(v) && Array.isArray(v[0])) {
    return v.length === 1 ? String(v[0][1]) : v.map(([e, lr]) => `${e}:${lr}`).join(",");
  }
  if (Array.isArray(v)) return v.length ? v.join(",") : "(none)";
  return String(v);
}

/** The placeholder shown for an option's value in help ("N", "X", "f32|f64", ...). */
export function placeholder(o: OptionSpec): string {
  const k = o.kind;
  if (typeof k === "object") return k.choices.join("|");
  return {
    int: "N",
    number: "X",
    intList: "N,N,...",
    schedule: "LR",
    bool: "",
    evalTimes: "log:K|N,...",
  }[
    k
  ];
}
