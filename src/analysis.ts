/**
 * One entry point for every measurement of docs/science.md ("The measurements"): {@linkcode Analyzer} makes one
 * pass over each data split (chunks of {@linkcode CHUNK_ROWS} rows) and, per chunk, runs the
 * teacher and the student forward, the student backward with the unscaled error (full-batch
 * gradient, per-sample gradient norms, per-node squared deltas) on the gradient split, and feeds
 * the correlation, observability and Jacobian-β accumulators of every hidden layer.
 *
 * Hidden layers are numbered from 0 (the lowest); teachers and students from 0 (teacher 0 the
 * strongest). Accumulators are allocated on the first evaluation and reused afterwards, so
 * repeated evaluations do not grow WASM memory.
 *
 * The CSV helpers at the end write the run folder's tidy `alignment.csv`, `students.csv` and
 * `timeline.csv` (one observation per row, empty cells for values that do not apply).
 * @module
 */

import { F64Accumulator } from "./_accumulate.ts";
import {
  type Correlation,
  CorrelationAccumulator,
  type SpecializationTimeline,
  type StudentSummary,
  summarizeStudents,
  summarizeTeachers,
  TAUS,
  type TeacherSummary,
} from "./alignment.ts";
import { csvRow } from "./csv.ts";
import { CHUNK_ROWS, type DataSet, forEachChunk } from "./data.ts";
import {
  type BetaLayer,
  fanoutNorms,
  JacobianBeta,
  ObservabilityAccumulator,
  PerSampleGradients,
  type SampleGradientStats,
} from "./gradients.ts";
import type { Mat } from "./kernels.ts";
import type { LayerBuffers, Network } from "./network.ts";
import { populationMse } from "./population.ts";
import type { EpochMetrics, Trainer } from "./train.ts";

/** Samples per split over which E_x[β] below the top hidden layer is averaged by default. */
export const DEFAULT_BETA_SAMPLES = 200;

/** Options of an {@linkcode Analyzer}. */
export interface AnalysisOptions {
  /** Thresholds of the match counts (default {@linkcode TAUS}). */
  taus?: readonly number[];
  /** Samples per split (the first ones) over which E_x[β] of the hidden layers below the top one
   * is averaged; each costs one backward pass per output through the layers above, so this is
   * the dominant cost of deep, wide runs (default {@linkcode DEFAULT_BETA_SAMPLES}). */
  betaSamples?: number;
  /** Also compute the E[β] matrices student × student and student × teacher (default false). */
  betaMatrices?: boolean;
  /** Keep the teacher's hidden activations and gates of each data set in WASM memory (up to
   * {@linkcode TEACHER_CACHE_BYTES} in all) instead of recomputing them at every evaluation.
   * Only for data sets whose inputs never change (as a trainer's); the cache is refilled when the
   * teacher's weights change. Default false. */
  cacheTeacher?: boolean;
  /** Keep every per-sample gradient norm in the result (default false). */
  keepSampleNorms?: boolean;
  /** The objective whose gradients are measured (default "mse"); "cross-entropy" also reports
   * the cross-entropy and the accuracy against the teacher's arg-max class per split. */
  loss?: "mse" | "cross-entropy";
}

/** A data split to analyze. */
export interface SplitInput {
  /** Its name in results and CSV files ("train", "eval"). */
  name: string;
  /** The samples and their teacher outputs. */
  data: DataSet;
  /** Whether gradients are measured on this split (the training set, in a run). */
  gradients?: boolean;
  /** Gradients on the first this many samples only (default: all); the other measurements
   * still use every sample. */
  gradientSamples?: number;
  /** Whether boundary observability is measured on this split (default: as `gradients`). */
  observability?: boolean;
  /** Whether E_x[β] of the hidden layers below the top one is sampled on this split (default
   * true); when false their `betaNorm` is NaN. The top hidden layer's β does not depend on x and
   * is given on every split. */
  beta?: boolean;
}

/** Measurements of one hidden layer on one split. */
export interface LayerAnalysis {
  /** Hidden layer, 0 = lowest. */
  layer: number;
  /** Teacher × student correlation and node standard deviations. */
  correlation: Correlation;
  /** Per teacher: best student, best correlation, match counts; covered teachers per τ. */
  teachers: TeacherSummary;
  /** Per student: best teacher and correlation. */
  students: StudentSummary;
  /** Per student: 1 if its activation never varies on this split (dead), else 0. */
  dead: Uint8Array;
  /** Per student: L2 norm of its fan-out weights (bias excluded). */
  fanoutNorm: Float64Array;
  /** Per student: sqrt(E_x[β_kk(x)]) (NaN below the top layer on splits with `beta` false). */
  betaNorm: Float64Array;
  /** E_x[β] of this layer (diagonal, and the matrices when asked for). */
  beta: BetaLayer;
  /** obs(j, k), teachers × students, on splits with `observability` (else null). */
  observability: Float64Array | null;
  /** Per student: mean over samples of its squared back-propagated gradient (gradient split only). */
  gradSqMean: Float64Array | null;
}

/** Gradient measurements of the student on one split. */
export interface GradientAnalysis {
  /** Samples the gradients were measured on (the first ones of the split). */
  samples: number;
  /** L2 norm of the full-batch gradient of each weight layer (objective averaged over the
   * gradient samples). */
  fullBatchNorm: number[];
  /** Per-sample gradient norm summary. */
  perSample: SampleGradientStats;
  /** Every per-sample gradient norm (with `keepSampleNorms`), else null. */
  sampleNorms: Float64Array | null;
}

/** Measurements on one split. */
export interface SplitAnalysis {
  /** Split name. */
  name: string;
  /** Samples. */
  samples: number;
  /** Student MSE over samples and outputs. */
  mse: number;
  /** Mean softmax cross-entropy vs the teacher's arg-max class (loss "cross-entropy", else null). */
  crossEntropy: number | null;
  /** Fraction of samples whose student arg-max is the teacher's (loss "cross-entropy", else null). */
  accuracy: number | null;
  /** Per hidden layer. */
  layers: LayerAnalysis[];
  /** Gradients (only on splits marked `gradients`). */
  gradients: GradientAnalysis | null;
}

interface LayerState {
  corr: CorrelationAccumulator;
  obs: ObservabilityAccumulator;
  gradSq: F64Accumulator;
}

/** Teacher hidden activations and gates of one data set, all rows. */
interface TeacherCache {
  acts: Mat[];
  gates: Mat[];
  weights: Float64Array[];
}

/** Most WASM memory an {@linkcode Analyzer} spends on cached teacher activations. */
export const TEACHER_CACHE_BYTES: number = 64 * 2 ** 20;

interface AnalyzerState {
  layers: LayerState[];
  grads: LayerBuffers;
  perSample: PerSampleGradients;
  beta: JacobianBeta;
}

/**
 * Measures a student against a teacher on data splits (correlations and their summaries, fan-out
 * and β norms, gradients, observability). Teacher and student must live in the same kernels and
 * have the same depth.
 *
 * @example
 * ```ts
 * import { Analyzer, resolveConfig, Trainer } from "@specialize/specialize";
 * const settings = { d: 10, widths: [4], outputs: 3, multi: 5, nTrain: 2000, iters: 2000 };
 * const t = new Trainer(resolveConfig({ settings }));
 * for (let e = 0; e < 3; e++) t.trainEpoch();
 * const analyzer = new Analyzer(t.teacher, t.student);
 * const [train] = analyzer.analyze([{ name: "train", data: t.train!, gradients: true }]);
 * // each teacher node's best correlation with a student node (near 1 once it is learned) and the
 * // largest gradient norm at a single training sample
 * console.log(train.layers[0].teachers.bestCorr, train.gradients!.perSample.max);
 * ```
 */
export class Analyzer {
  /** The teacher. */
  readonly teacher: Network;
  /** The student. */
  readonly student: Network;
  /** Options with defaults filled in. */
  readonly options: Readonly<Required<AnalysisOptions>>;
  #state: AnalyzerState | null = null;
  readonly #cache = new WeakMap<DataSet, TeacherCache>();
  #cacheBytes = 0;

  /** Checks the pair; buffers are allocated on the first {@linkcode Analyzer.analyze}. */
  constructor(teacher: Network, student: Network, options: AnalysisOptions = {}) {
    if (teacher.kernels !== student.kernels) {
      throw new RangeError("Teacher and student must live in the same Kernels instance");
    }
    if (teacher.depth !== student.depth || teacher.sizes[0] !== student.sizes[0]) {
      throw new RangeError(
        `Teacher ${teacher.sizes.join("-")} and student ${student.sizes.join("-")} need the same ` +
          `depth and input dimension`,
      );
    }
    if (teacher.sizes[teacher.depth] !== student.sizes[student.depth]) {
      throw new RangeError("Teacher and student need the same number of outputs");
    }
    if (teacher.depth < 2) throw new RangeError("The networks have no hidden layer to analyze");
    const betaSamples = options.betaSamples ?? DEFAULT_BETA_SAMPLES;
    if (!Number.isInteger(betaSamples) || betaSamples < 0) {
      throw new RangeError(`betaSamples must be a non-negative integer, got ${betaSamples}`);
    }
    this.teacher = teacher;
    this.student = student;
    this.options = {
      taus: [...(options.taus ?? TAUS)],
      betaSamples,
      betaMatrices: options.betaMatrices ?? false,
      cacheTeacher: options.cacheTeacher ?? false,
      keepSampleNorms: options.keepSampleNorms ?? false,
      loss: options.loss ?? "mse",
    };
  }

  /** Number of hidden layers. */
  get hiddenLayers(): number {
    return this.student.depth - 1;
  }

  #allocate(): AnalyzerState {
    if (this.#state) return this.#state;
    const s = this.student, t = this.teacher, k = s.kernels;
    const layers: LayerState[] = [];
    for (let h = 0; h < this.hiddenLayers; h++) {
      const m = t.sizes[h + 1], n = s.sizes[h + 1];
      layers.push({
        corr: new CorrelationAccumulator(k, { teachers: m, students: n, chunkRows: CHUNK_ROWS }),
        obs: new ObservabilityAccumulator(k, {
          teachers: m,
          students: n,
          chunkRows: CHUNK_ROWS,
          slope: s.slope,
        }),
        gradSq: new F64Accumulator(k, 1, n),
      });
    }
    const state = {
      layers,
      grads: s.allocLike(),
      perSample: new PerSampleGradients(s, CHUNK_ROWS),
      beta: new JacobianBeta(s, this.options.betaMatrices ? t : null, {
        chunkRows: CHUNK_ROWS,
        matrices: this.options.betaMatrices,
      }),
    };
    this.#state = state;
    return state;
  }

  /** The cached teacher activations of a data set (filled or refreshed now), or null when caching
   * is off or over budget. */
  #teacherCache(data: DataSet): TeacherCache | null {
    if (!this.options.cacheTeacher) return null;
    const t = this.teacher, k = t.kernels, H = this.hiddenLayers;
    let c = this.#cache.get(data);
    const current = t.weights.map((_, l) => t.getWeights(l));
    if (c && c.weights.every((w, l) => w.every((v, i) => v === current[l][i]))) return c;
    if (!c) {
      let bytes = 0;
      for (let h = 0; h < H; h++) bytes += 2 * data.n * t.sizes[h + 1] * k.bytesPerElement;
      if (this.#cacheBytes + bytes > TEACHER_CACHE_BYTES) return null;
      this.#cacheBytes += bytes;
      c = { acts: [], gates: [], weights: current };
      for (let h = 0; h < H; h++) {
        c.acts.push(k.alloc(data.n, t.sizes[h + 1]));
        c.gates.push(k.alloc(data.n, t.sizes[h + 1]));
      }
      this.#cache.set(data, c);
    }
    c.weights = current;
    const cache = c;
    forEachChunk(data.n, (start, rows) => {
      const tws = t.workspace(rows);
      t.forward(k.rowsOf(data.x, start, rows), tws);
      for (let h = 0; h < H; h++) {
        k.view(k.rowsOf(cache.acts[h], start, rows)).set(k.view(tws.acts[h + 1]));
        k.view(k.rowsOf(cache.gates[h], start, rows)).set(k.view(tws.gates[h]));
      }
    });
    return cache;
  }

  /** Measures every split (one pass over each). */
  analyze(splits: readonly SplitInput[]): SplitAnalysis[] {
    return splits.map((sp) => this.#split(sp));
  }

  #split(sp: SplitInput): SplitAnalysis {
    const st = this.#allocate();
    const s = this.student, t = this.teacher, k = s.kernels, L = s.depth, H = L - 1;
    const data = sp.data, grad = sp.gradients === true, obs = sp.observability ?? grad;
    if (data.x.cols !== s.sizes[0] || data.y.cols !== s.sizes[L]) {
      throw new RangeError(
        `Split ${sp.name} has ${data.x.cols} inputs and ${data.y.cols} outputs; the networks ` +
          `take ${s.sizes[0]} and give ${s.sizes[L]}`,
      );
    }
    for (const ls of st.layers) {
      ls.corr.reset();
      ls.obs.reset();
      ls.gradSq.reset();
    }
    st.perSample.reset();
    st.beta.reset();
    const ce = this.options.loss === "cross-entropy";
    let sse = 0, ceSum = 0, agree = 0, first = true;
    let betaLeft = sp.beta === false ? 0 : this.options.betaSamples;
    const cache = this.#teacherCache(data);
    const tActs: Mat[] = [], tGates: Mat[] = [];
    const gradN = grad ? gradientRows(sp, data.n) : 0;
    // Chunks end where the gradient samples do.
    const chunks = (fn: (start: number, rows: number) => void) => {
      forEachChunk(gradN, fn);
      forEachChunk(data.n - gradN, (start, rows) => fn(gradN + start, rows));
    };
    chunks((start, rows) => {
      const x = k.rowsOf(data.x, start, rows);
      for (let h = 0; h < H; h++) {
        if (cache) {
          tActs[h] = k.rowsOf(cache.acts[h], start, rows);
          tGates[h] = k.rowsOf(cache.gates[h], start, rows);
        } else {
          const tws = t.workspace(rows);
          if (h === 0) t.forward(x, tws);
          tActs[h] = tws.acts[h + 1];
          tGates[h] = tws.gates[h];
        }
      }
      const sws = s.workspace(rows);
      const out = s.forward(x, sws);
      const err = sws.deltas[L - 1];
      const y = k.rowsOf(data.y, start, rows);
      k.sub(out, y, err);
      sse += k.sumsq(err);
      if (ce) {
        ceSum += k.crossEntropy(out, y, err);
        agree += k.argmaxAgree(out, y);
      }
      if (start < gradN) {
        s.backward(sws, err, st.grads, !first);
        st.perSample.add(sws);
        for (let h = 0; h < H; h++) {
          st.layers[h].gradSq.colSumsq(sws.deltas[h]);
          st.layers[h].gradSq.flush();
        }
        first = false;
      }
      for (let h = 0; h < H; h++) {
        st.layers[h].corr.add(tActs[h], sws.acts[h + 1]);
        if (obs) st.layers[h].obs.add(tGates[h], sws.gates[h]);
      }
      if (betaLeft > 0 && L > 2) {
        const r = Math.min(rows, betaLeft);
        st.beta.add(sws, this.options.betaMatrices ? tGates : null, r);
        betaLeft -= r;
      }
    });
    const N = data.n;
    let gradients: GradientAnalysis | null = null;
    if (grad) {
      for (const g of st.grads.full) k.scale(g, 1 / gradN);
      gradients = {
        samples: gradN,
        fullBatchNorm: st.grads.full.map((g) => Math.sqrt(k.sumsq(g))),
        perSample: st.perSample.stats(),
        sampleNorms: this.options.keepSampleNorms ? st.perSample.norms() : null,
      };
    }
    const betas = st.beta.result();
    const layers: LayerAnalysis[] = st.layers.map((ls, h) => {
      const correlation = ls.corr.result();
      const m = correlation.teachers;
      return {
        layer: h,
        correlation,
        teachers: summarizeTeachers(correlation.corr, m, this.options.taus),
        students: summarizeStudents(correlation.corr, m),
        dead: Uint8Array.from(correlation.studentStd, (v) => (v === 0 ? 1 : 0)),
        fanoutNorm: fanoutNorms(s, h),
        betaNorm: betas[h].diag.map(Math.sqrt),
        beta: betas[h],
        observability: obs ? ls.obs.result() : null,
        gradSqMean: grad ? ls.gradSq.read().map((v) => v / gradN) : null,
      };
    });
    return {
      name: sp.name,
      samples: N,
      mse: sse / (N * s.sizes[L]),
      crossEntropy: ce ? ceSum / N : null,
      accuracy: ce ? agree / N : null,
      layers,
      gradients,
    };
  }
}

/** Rows of a split that gradients are measured on (at least one). */
function gradientRows(sp: SplitInput, n: number): number {
  const g = sp.gradientSamples ?? n;
  if (!Number.isInteger(g) || g < 1) {
    throw new RangeError(`Split ${sp.name}: gradientSamples must be a positive integer, got ${g}`);
  }
  return Math.min(g, n);
}

/**
 * The splits of a trainer: train (its fixed training subsample {@linkcode Trainer.trainEval}, with
 * gradients on its first `nGradEval` samples, all when 0) and eval, or eval alone (with
 * gradients) when the run draws fresh samples.
 * Observability is measured on the gradient split when asked for; E_x[β] of the lower hidden
 * layers (a property of the student over the input distribution, one backward pass per output
 * and sample) on the eval split only.
 *
 * @example
 * ```ts
 * import { resolveConfig, Trainer, trainerSplits } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 1 } }));
 * console.log(trainerSplits(t).map((s) => s.name)); // ["train", "eval"]
 * ```
 */
export function trainerSplits(trainer: Trainer, observability = true): SplitInput[] {
  const gradientSamples = trainer.config.nGradEval > 0 ? trainer.config.nGradEval : undefined;
  return trainer.trainEval
    ? [
      {
        name: "train",
        data: trainer.trainEval,
        gradients: true,
        gradientSamples,
        observability,
        beta: false,
      },
      { name: "eval", data: trainer.eval, observability: false },
    ]
    : [{ name: "eval", data: trainer.eval, gradients: true, gradientSamples, observability }];
}

/** Options of {@linkcode evaluateTrainer}. */
export interface EvaluateTrainerOptions {
  /** The analyzer (default: one per trainer, created on first use, caching teacher activations). */
  analyzer?: Analyzer;
  /** Measure boundary observability on the training set (default true). */
  observability?: boolean;
}

/** The exact population measurements of a two-layer ReLU student (no sampling). */
export interface PopulationAnalysis {
  /** The population MSE, 2L/c. */
  mse: number;
  /** Exact teacher × student correlation of the hidden activations, row-major. */
  corr: Float64Array;
  /** Teacher nodes (rows of `corr`). */
  teachers: number;
  /** Per teacher: best student, best correlation, counts above each τ. */
  summary: TeacherSummary;
}

/** One evaluation of a trainer: the usual losses and gradient norms, and every measurement. */
export interface TrainerEvaluation {
  /** Losses and full-batch gradient norms, as {@linkcode Trainer.evaluate} reports them. */
  metrics: EpochMetrics;
  /** Measurements per split. */
  splits: SplitAnalysis[];
  /** Exact population loss and correlations (two-layer ReLU networks), else null. */
  population: PopulationAnalysis | null;
}

const ANALYZERS = new WeakMap<Trainer, Analyzer>();

/**
 * Evaluates a trainer now: losses and full-batch gradient norms (the same numbers as
 * {@linkcode Trainer.evaluate}, from the same pass) and every measurement on its splits. The
 * analyzer defaults to one cached per trainer.
 *
 * @example
 * ```ts
 * import { evaluateTrainer, resolveConfig, Trainer } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 1 } }));
 * const { metrics, splits } = evaluateTrainer(t);
 * console.log(metrics.evalMse, splits.map((s) => s.name)); // …, ["train", "eval"]
 * ```
 */
export function evaluateTrainer(
  trainer: Trainer,
  options: EvaluateTrainerOptions = {},
): TrainerEvaluation {
  let a = options.analyzer ?? ANALYZERS.get(trainer);
  if (!a) {
    a = new Analyzer(trainer.teacher, trainer.student, {
      cacheTeacher: true,
      loss: trainer.config.loss,
    });
    ANALYZERS.set(trainer, a);
  }
  const splits = a.analyze(trainerSplits(trainer, options.observability ?? true));
  const byName = (n: string) => splits.find((s) => s.name === n);
  const gradSplit = splits.find((s) => s.gradients !== null)!;
  const { epoch, lr, batchGradNorm } = trainer.metricsBase();
  let population: PopulationAnalysis | null = null;
  if (trainer.population) {
    const teachers = trainer.population.teacherWidth;
    const corr = new Float64Array(teachers * trainer.student.sizes[1]);
    const mse = populationMse(trainer.populationLoss(corr), trainer.config.outputs);
    population = { mse, corr, teachers, summary: summarizeTeachers(corr, teachers, TAUS) };
  }
  const metrics: EpochMetrics = {
    epoch,
    lr,
    trainMse: byName("train")?.mse ?? trainer.lastEpochBatchMse,
    evalMse: byName("eval")!.mse,
    gradNorm: gradSplit.gradients!.fullBatchNorm,
    batchGradNorm,
    populationMse: population?.mse ?? null,
  };
  if (trainer.config.loss === "cross-entropy") {
    const tr = byName("train");
    metrics.trainCe = tr ? tr.crossEntropy! : trainer.lastEpochBatchCe;
    metrics.evalCe = byName("eval")!.crossEntropy!;
    metrics.trainAcc = tr ? tr.accuracy! : trainer.lastEpochBatchAcc;
    metrics.evalAcc = byName("eval")!.accuracy!;
  }
  return { metrics, splits, population };
}

// ---------------------------------------------------------------------------------------------
// Tidy CSV output.

/**
 * Header of `alignment.csv` for the given thresholds.
 *
 * @example
 * ```ts
 * import { alignmentCsvHeader } from "@specialize/specialize";
 * console.log(alignmentCsvHeader([0.5, 0.9])); // "epoch,split,layer,teacher,best_student,best_corr,n_above_0.5,n_above_0.9\n"
 * ```
 */
export function alignmentCsvHeader(taus: readonly number[] = TAUS): string {
  return [
    "epoch",
    "split",
    "layer",
    "teacher",
    "best_student",
    "best_corr",
    ...taus.map((t) => `n_above_${t}`),
  ].join(",") + "\n";
}

/**
 * Rows of `alignment.csv` (one per split, layer and teacher) for one evaluation; with the exact
 * `population` measurements (two-layer ReLU), first the rows of split "population" (layer 0).
 *
 * @example
 * ```ts
 * import {
 *   alignmentCsvHeader,
 *   alignmentCsvRows,
 *   evaluateTrainer,
 *   resolveConfig,
 *   Trainer,
 * } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 1 } }));
 * const { splits, population } = evaluateTrainer(t);
 * const csv = alignmentCsvHeader() + alignmentCsvRows(t.epoch, splits, population);
 * ```
 */
export function alignmentCsvRows(
  epoch: number,
  splits: readonly SplitAnalysis[],
  population: PopulationAnalysis | null = null,
): string {
  let out = "";
  if (population) {
    const ts = population.summary, T = ts.taus.length;
    for (let j = 0; j < population.teachers; j++) {
      const counts = Array.from(ts.nAbove.subarray(j * T, (j + 1) * T));
      out += csvRow([epoch, "population", 0, j, ts.bestStudent[j], ts.bestCorr[j], ...counts]);
    }
  }
  for (const sp of splits) {
    for (const la of sp.layers) {
      const ts = la.teachers, T = ts.taus.length;
      for (let j = 0; j < la.correlation.teachers; j++) {
        const counts = Array.from(ts.nAbove.subarray(j * T, (j + 1) * T));
        out += csvRow([epoch, sp.name, la.layer, j, ts.bestStudent[j], ts.bestCorr[j], ...counts]);
      }
    }
  }
  return out;
}

/** Header of `students.csv`. */
export const STUDENTS_CSV_HEADER =
  "epoch,split,layer,student,best_teacher,best_corr,fanout_norm,beta_norm,dead,grad_sq_mean\n";

/**
 * Rows of `students.csv` (one per split, layer and student) for one evaluation; cells that do not
 * apply (grad_sq_mean off the gradient split) are empty.
 *
 * @example
 * ```ts
 * import {
 *   evaluateTrainer,
 *   resolveConfig,
 *   STUDENTS_CSV_HEADER,
 *   studentsCsvRows,
 *   Trainer,
 * } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 1 } }));
 * const csv = STUDENTS_CSV_HEADER + studentsCsvRows(t.epoch, evaluateTrainer(t).splits);
 * ```
 */
export function studentsCsvRows(epoch: number, splits: readonly SplitAnalysis[]): string {
  const parts: string[] = [];
  for (const sp of splits) {
    for (const la of sp.layers) {
      for (let k = 0; k < la.correlation.students; k++) {
        parts.push(csvRow([
          epoch,
          sp.name,
          la.layer,
          k,
          la.students.bestTeacher[k],
          la.students.bestCorr[k],
          la.fanoutNorm[k],
          la.betaNorm[k],
          la.dead[k],
          la.gradSqMean?.[k],
        ]));
      }
    }
  }
  return parts.join("");
}

/**
 * `timeline.csv`: split, layer, teacher, tau and the first epoch above tau (empty if never).
 *
 * @example
 * ```ts
 * import { SpecializationTimeline, timelineCsv } from "@specialize/specialize";
 * const tl = new SpecializationTimeline([0.9]);
 * tl.record("eval", 0, 3, [0.95, 0.2]);
 * console.log(timelineCsv(tl)); // header, "eval,0,0,0.9,3", "eval,0,1,0.9,"
 * ```
 */
export function timelineCsv(timeline: SpecializationTimeline): string {
  let out = "split,layer,teacher,tau,epoch\n";
  for (const e of timeline.entries()) {
    out += csvRow([e.split, e.layer, e.teacher, e.tau, e.epoch]);
  }
  return out;
}

/**
 * Extra `metrics.csv` columns: per-sample gradient statistics of the gradient split.
 *
 * @example
 * ```ts
 * import { gradientCsvHeader } from "@specialize/specialize";
 * console.log(gradientCsvHeader(2).join(",")); // grad_sample_max,…,grad_sample_max_0,grad_sample_max_1
 * ```
 */
export function gradientCsvHeader(weightLayers: number): string[] {
  const cols = ["grad_sample_max", "grad_sample_mean", "grad_sample_q50", "grad_sample_q90"];
  cols.push("grad_sample_q99");
  for (let l = 0; l < weightLayers; l++) cols.push(`grad_sample_max_${l}`);
  return cols;
}

/**
 * Values of {@linkcode gradientCsvHeader}'s columns for one evaluation.
 *
 * @example
 * ```ts
 * import {
 *   evaluateTrainer,
 *   gradientCsvValues,
 *   resolveConfig,
 *   Trainer,
 * } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 1 } }));
 * console.log(gradientCsvValues(evaluateTrainer(t).splits)); // [max, mean, q50, q90, q99, …]
 * ```
 */
export function gradientCsvValues(splits: readonly SplitAnalysis[]): number[] {
  const g = splits.find((s) => s.gradients !== null)!.gradients!.perSample;
  return [g.max, g.mean, g.q50, g.q90, g.q99, ...g.layerMax];
}
