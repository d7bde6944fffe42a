/**
 * One entry point for every measurement of PAPER.md "Measurements": {@linkcode Analyzer} makes one
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
import { lrAt } from "./config.ts";
import { CHUNK_ROWS, type DataSet, forEachChunk } from "./data.ts";
import {
  type BetaLayer,
  fanoutNorms,
  JacobianBeta,
  ObservabilityAccumulator,
  PerSampleGradients,
  type SampleGradientStats,
} from "./gradients.ts";
import type { LayerBuffers, Network } from "./network.ts";
import type { EpochMetrics, Trainer } from "./train.ts";

/** Options of an {@linkcode Analyzer}. */
export interface AnalysisOptions {
  /** Thresholds of the match counts (default {@linkcode TAUS}). */
  taus?: readonly number[];
  /** Samples per split (the first ones) over which E_x[β] of the hidden layers below the top one
   * is averaged; each costs one backward pass per output (default 1000). */
  betaSamples?: number;
  /** Also compute the E[β] matrices student × student and student × teacher (default false). */
  betaMatrices?: boolean;
  /** Compute boundary observability on the gradient splits (default true). */
  observability?: boolean;
  /** Keep every per-sample gradient norm in the result (default false). */
  keepSampleNorms?: boolean;
}

/** A data split to analyze. */
export interface SplitInput {
  /** Its name in results and CSV files ("train", "eval"). */
  name: string;
  /** The samples and their teacher outputs. */
  data: DataSet;
  /** Whether gradients and boundary observability are measured on this split (the training
   * set, in a run). */
  gradients?: boolean;
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
  /** Per student: sqrt(E_x[β_kk(x)]). */
  betaNorm: Float64Array;
  /** E_x[β] of this layer (diagonal, and the matrices when asked for). */
  beta: BetaLayer;
  /** obs(j, k), teachers × students, on gradient splits (else null). */
  observability: Float64Array | null;
  /** Per student: mean over samples of its squared back-propagated gradient (gradient split only). */
  gradSqMean: Float64Array | null;
}

/** Gradient measurements of the student on one split. */
export interface GradientAnalysis {
  /** L2 norm of the full-batch gradient of each weight layer (objective averaged over samples). */
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
  /** Per hidden layer. */
  layers: LayerAnalysis[];
  /** Gradients (only on splits marked `gradients`). */
  gradients: GradientAnalysis | null;
}

interface LayerState {
  corr: CorrelationAccumulator;
  obs: ObservabilityAccumulator | null;
  gradSq: F64Accumulator;
}

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
 * import { resolveConfig } from "./config.ts";
 * import { Trainer } from "./train.ts";
 * import { Analyzer } from "./analysis.ts";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 1 } }));
 * const analyzer = new Analyzer(t.teacher, t.student);
 * const [train] = analyzer.analyze([{ name: "train", data: t.train!, gradients: true }]);
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
    const betaSamples = options.betaSamples ?? 1000;
    if (!Number.isInteger(betaSamples) || betaSamples < 0) {
      throw new RangeError(`betaSamples must be a non-negative integer, got ${betaSamples}`);
    }
    this.teacher = teacher;
    this.student = student;
    this.options = {
      taus: [...(options.taus ?? TAUS)],
      betaSamples,
      betaMatrices: options.betaMatrices ?? false,
      observability: options.observability ?? true,
      keepSampleNorms: options.keepSampleNorms ?? false,
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
        obs: this.options.observability
          ? new ObservabilityAccumulator(k, {
            teachers: m,
            students: n,
            chunkRows: CHUNK_ROWS,
            slope: s.slope,
          })
          : null,
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

  /** Measures every split (one pass over each). */
  analyze(splits: readonly SplitInput[]): SplitAnalysis[] {
    return splits.map((sp) => this.#split(sp));
  }

  #split(sp: SplitInput): SplitAnalysis {
    const st = this.#allocate();
    const s = this.student, t = this.teacher, k = s.kernels, L = s.depth, H = L - 1;
    const data = sp.data, grad = sp.gradients === true;
    if (data.x.cols !== s.sizes[0] || data.y.cols !== s.sizes[L]) {
      throw new RangeError(
        `Split ${sp.name} has ${data.x.cols} inputs and ${data.y.cols} outputs; the networks ` +
          `take ${s.sizes[0]} and give ${s.sizes[L]}`,
      );
    }
    for (const ls of st.layers) {
      ls.corr.reset();
      ls.obs?.reset();
      ls.gradSq.reset();
    }
    st.perSample.reset();
    st.beta.reset();
    let sse = 0, first = true, betaLeft = this.options.betaSamples;
    forEachChunk(data.n, (start, rows) => {
      const x = k.rowsOf(data.x, start, rows);
      const tws = t.workspace(rows);
      t.forward(x, tws);
      const sws = s.workspace(rows);
      const out = s.forward(x, sws);
      const err = sws.deltas[L - 1];
      k.sub(out, k.rowsOf(data.y, start, rows), err);
      sse += k.sumsq(err);
      if (grad) {
        s.backward(sws, err, st.grads, !first);
        st.perSample.add(sws);
        for (let h = 0; h < H; h++) {
          st.layers[h].gradSq.colSumsq(sws.deltas[h]);
          st.layers[h].gradSq.flush();
        }
      }
      first = false;
      for (let h = 0; h < H; h++) {
        st.layers[h].corr.add(tws.acts[h + 1], sws.acts[h + 1]);
        if (grad) st.layers[h].obs?.add(tws.gates[h], sws.gates[h]);
      }
      if (betaLeft > 0 && L > 2) {
        const r = Math.min(rows, betaLeft);
        st.beta.add(sws, this.options.betaMatrices ? tws : null, r);
        betaLeft -= r;
      }
    });
    const N = data.n;
    let gradients: GradientAnalysis | null = null;
    if (grad) {
      for (const g of st.grads.full) k.scale(g, 1 / N);
      gradients = {
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
        observability: ls.obs && grad ? ls.obs.result() : null,
        gradSqMean: grad ? ls.gradSq.read().map((v) => v / N) : null,
      };
    });
    return { name: sp.name, samples: N, mse: sse / (N * s.sizes[L]), layers, gradients };
  }
}

/** The splits of a trainer: train (with gradients) and eval, or eval alone (with gradients) when
 * the run draws fresh samples. */
export function trainerSplits(trainer: Trainer): SplitInput[] {
  return trainer.train
    ? [
      { name: "train", data: trainer.train, gradients: true },
      { name: "eval", data: trainer.eval },
    ]
    : [{ name: "eval", data: trainer.eval, gradients: true }];
}

/** One evaluation of a trainer: the usual losses and gradient norms, and every measurement. */
export interface TrainerEvaluation {
  /** Losses and full-batch gradient norms, as {@linkcode Trainer.evaluate} reports them. */
  metrics: EpochMetrics;
  /** Measurements per split. */
  splits: SplitAnalysis[];
}

const ANALYZERS = new WeakMap<Trainer, Analyzer>();

/**
 * Evaluates a trainer now: losses and full-batch gradient norms (the same numbers as
 * {@linkcode Trainer.evaluate}, from the same pass) and every measurement on its splits. The
 * analyzer defaults to one cached per trainer.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * import { Trainer } from "./train.ts";
 * import { evaluateTrainer } from "./analysis.ts";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 1 } }));
 * const { metrics, splits } = evaluateTrainer(t);
 * console.log(metrics.evalMse, splits.map((s) => s.name)); // …, ["train", "eval"]
 * ```
 */
export function evaluateTrainer(trainer: Trainer, analyzer?: Analyzer): TrainerEvaluation {
  let a = analyzer ?? ANALYZERS.get(trainer);
  if (!a) {
    a = new Analyzer(trainer.teacher, trainer.student);
    ANALYZERS.set(trainer, a);
  }
  const splits = a.analyze(trainerSplits(trainer));
  const byName = (n: string) => splits.find((s) => s.name === n);
  const gradSplit = splits.find((s) => s.gradients !== null)!;
  const metrics: EpochMetrics = {
    epoch: trainer.epoch,
    lr: lrAt(trainer.config.lr, Math.max(0, trainer.epoch - 1)),
    trainMse: byName("train")?.mse ?? trainer.lastEpochBatchMse,
    evalMse: byName("eval")!.mse,
    gradNorm: gradSplit.gradients!.fullBatchNorm,
  };
  return { metrics, splits };
}

// ---------------------------------------------------------------------------------------------
// Tidy CSV output.

const cell = (v: number | null | undefined): string =>
  v === null || v === undefined || Number.isNaN(v) ? "" : String(v);

/** Header of `alignment.csv` for the given thresholds. */
export function alignmentCsvHeader(taus: readonly number[] = TAUS): string {
  return [
    "epoch",
    "split",
    "layer",
    "teacher",
    "best_student",
    "best_corr",
    ...taus.map((t) => `n_above_${t}`),
    "obs_best",
  ].join(",") + "\n";
}

/** Rows of `alignment.csv` (one per split, layer and teacher) for one evaluation. */
export function alignmentCsvRows(epoch: number, splits: readonly SplitAnalysis[]): string {
  let out = "";
  for (const sp of splits) {
    for (const la of sp.layers) {
      const ts = la.teachers, T = ts.taus.length, n = la.correlation.students;
      for (let j = 0; j < la.correlation.teachers; j++) {
        const counts = Array.from(ts.nAbove.subarray(j * T, (j + 1) * T));
        const obs = la.observability ? la.observability[j * n + ts.bestStudent[j]] : null;
        out += [
          epoch,
          sp.name,
          la.layer,
          j,
          ts.bestStudent[j],
          ts.bestCorr[j],
          ...counts,
          cell(obs),
        ].join(",") + "\n";
      }
    }
  }
  return out;
}

/** Header of `students.csv`. */
export const STUDENTS_CSV_HEADER =
  "epoch,split,layer,student,best_teacher,best_corr,fanout_norm,beta_norm,dead,grad_sq_mean\n";

/** Rows of `students.csv` (one per split, layer and student) for one evaluation. */
export function studentsCsvRows(epoch: number, splits: readonly SplitAnalysis[]): string {
  const parts: string[] = [];
  for (const sp of splits) {
    for (const la of sp.layers) {
      for (let k = 0; k < la.correlation.students; k++) {
        parts.push(
          `${epoch},${sp.name},${la.layer},${k},${la.students.bestTeacher[k]},` +
            `${la.students.bestCorr[k]},${la.fanoutNorm[k]},${cell(la.betaNorm[k])},` +
            `${la.dead[k]},${cell(la.gradSqMean?.[k])}\n`,
        );
      }
    }
  }
  return parts.join("");
}

/** `timeline.csv`: split, layer, teacher, tau and the first epoch above tau (empty if never). */
export function timelineCsv(timeline: SpecializationTimeline): string {
  let out = "split,layer,teacher,tau,epoch\n";
  for (const e of timeline.entries()) {
    out += `${e.split},${e.layer},${e.teacher},${e.tau},${cell(e.epoch)}\n`;
  }
  return out;
}

/** Extra `metrics.csv` columns: per-sample gradient statistics of the gradient split. */
export function gradientCsvHeader(weightLayers: number): string[] {
  const cols = ["grad_sample_max", "grad_sample_mean", "grad_sample_q50", "grad_sample_q90"];
  cols.push("grad_sample_q99");
  for (let l = 0; l < weightLayers; l++) cols.push(`grad_sample_max_${l}`);
  return cols;
}

/** Values of {@linkcode gradientCsvHeader}'s columns for one evaluation. */
export function gradientCsvValues(splits: readonly SplitAnalysis[]): number[] {
  const g = splits.find((s) => s.gradients !== null)!.gradients!.perSample;
  return [g.max, g.mean, g.q50, g.q90, g.q99, ...g.layerMax];
}
