/**
 * Node alignment between a teacher and a student layer: the streaming Pearson correlation of
 * post-ReLU activations, its summaries (best matches, match counts, covered teachers) and the
 * specialization timeline.
 *
 * Correlation (docs/science.md, "The measurements"), for teacher node j and student node k of one hidden layer
 * over N samples with activations t_j and s_k:
 * - shift: K_j and L_k are the activations of the first sample seen, a = t − K, b = s − L (exact
 *   zero deviations for a node that never varies, and no cancellation for large means);
 * - sums over the data, kept in f64: A_j = Σa_j, Q_j = Σa_j², B_k, R_k likewise, X_jk = Σa_j b_k;
 * - N²·var_j = N·Q_j − A_j² (same for students, with R_k and B_k), N²·cov_jk = N·X_jk − A_j·B_k;
 * - ρ_jk = (N·X_jk − A_j·B_k) / (sqrt(N·Q_j − A_j²) · sqrt(N·R_k − B_k²)), the exact Pearson
 *   correlation, with nothing added to the denominator: it does not change when a layer's
 *   activations are all scaled by any c > 0 (1e-9 or 1e9), clipped to [−1, 1];
 *   ρ_jk = 0 only when a variance is zero or below zero by rounding (a dead or constant node:
 *   defined, never NaN). σ_j = sqrt(var_j) is reported per node.
 *
 * Matrices are teacher × student, row-major Float64Array (row j = teacher j, 0 = strongest).
 * Per chunk, the kernels compute shifted sums in the run's precision; f32 runs add each chunk's
 * sums into the f64 totals (so the error does not grow with the data set).
 * @module
 */

import { F64Accumulator } from "./_accumulate.ts";
import { ilogb, pow2 } from "./detmath.ts";
import type { Kernels, Mat } from "./kernels.ts";

/** Thresholds τ of the match counts and the timeline. */
export const TAUS: readonly number[] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/** Best correlation above which a teacher counts as learned ("success"). */
export const SUCCESS_TAU = 0.95;

/** A finished correlation: the teacher × student matrix and each node's standard deviation. */
export interface Correlation {
  /** Teacher nodes (rows of `corr`). */
  readonly teachers: number;
  /** Student nodes (columns of `corr`). */
  readonly students: number;
  /** Samples accumulated. */
  readonly samples: number;
  /** ρ, teachers × students row-major. */
  readonly corr: Float64Array;
  /** Standard deviation of each teacher node's activation. */
  readonly teacherStd: Float64Array;
  /** Standard deviation of each student node's activation (0 = dead or constant). */
  readonly studentStd: Float64Array;
}

/**
 * Streaming teacher × student correlation of one layer: feed activation chunks (rows × width, any
 * number of rows) with {@linkcode CorrelationAccumulator.add}, then read {@linkcode
 * CorrelationAccumulator.result}. Buffers are allocated once, in the constructor.
 *
 * @example
 * ```ts
 * import { CorrelationAccumulator, Kernels } from "@specialize/specialize";
 * const k = new Kernels("f64");
 * const t = k.alloc(4, 1), s = k.alloc(4, 2);
 * k.view(t).set([0, 1, 2, 3]);
 * k.view(s).set([0, 5, 2, 0, 4, 1, 6, 1]);
 * const acc = new CorrelationAccumulator(k, { teachers: 1, students: 2 });
 * acc.add(t, s);
 * console.log(acc.result().corr); // [≈1, ≈-0.64]
 * ```
 */
export class CorrelationAccumulator {
  /** Teacher nodes. */
  readonly teachers: number;
  /** Student nodes. */
  readonly students: number;
  /** Rows processed per kernel call (longer inputs are split). */
  readonly chunkRows: number;
  readonly #k: Kernels;
  readonly #shiftT: Mat;
  readonly #shiftS: Mat;
  readonly #devT: Mat;
  readonly #devS: Mat;
  readonly #sumT: F64Accumulator;
  readonly #sumS: F64Accumulator;
  readonly #sqT: F64Accumulator;
  readonly #sqS: F64Accumulator;
  readonly #cross: F64Accumulator;
  #samples = 0;
  /** Powers of two the deviations are multiplied by (exact), so their sums of squares neither
   * underflow nor overflow at any scale of the activations; undone in the reported σ. */
  #scaleT = 1;
  #scaleS = 1;

  /** Allocates the accumulators and scratch for `chunkRows` rows (default 1000). */
  constructor(
    k: Kernels,
    opts: { teachers: number; students: number; chunkRows?: number },
  ) {
    const m = opts.teachers, n = opts.students, rows = opts.chunkRows ?? 1000;
    if (![m, n, rows].every((v) => Number.isInteger(v) && v >= 1)) {
      throw new RangeError(
        `CorrelationAccumulator needs positive integer sizes, got teachers ${m}, students ${n}, ` +
          `chunkRows ${rows}`,
      );
    }
    this.#k = k;
    this.teachers = m;
    this.students = n;
    this.chunkRows = rows;
    this.#shiftT = k.alloc(rows, m);
    this.#shiftS = k.alloc(rows, n);
    this.#devT = k.alloc(rows, m);
    this.#devS = k.alloc(rows, n);
    this.#sumT = new F64Accumulator(k, 1, m);
    this.#sumS = new F64Accumulator(k, 1, n);
    this.#sqT = new F64Accumulator(k, 1, m);
    this.#sqS = new F64Accumulator(k, 1, n);
    this.#cross = new F64Accumulator(k, m, n);
  }

  /** Samples accumulated since the last reset. */
  get samples(): number {
    return this.#samples;
  }

  /** Forgets every sample (the shift is taken again from the next sample). */
  reset(): void {
    for (const a of [this.#sumT, this.#sumS, this.#sqT, this.#sqS, this.#cross]) a.reset();
    this.#samples = 0;
  }

  /** Adds the rows of teacher activations t (rows × teachers) and student activations s
   * (rows × students) of the same samples. Neither is modified. */
  add(t: Mat, s: Mat): void {
    const k = this.#k;
    if (t.cols !== this.teachers || s.cols !== this.students || t.rows !== s.rows) {
      throw new RangeError(
        `CorrelationAccumulator.add needs rows × ${this.teachers} teacher and rows × ` +
          `${this.students} student activations, got ${t.rows}×${t.cols} and ${s.rows}×${s.cols}`,
      );
    }
    for (let start = 0; start < t.rows; start += this.chunkRows) {
      const rows = Math.min(this.chunkRows, t.rows - start);
      const tc = k.rowsOf(t, start, rows), sc = k.rowsOf(s, start, rows);
      if (this.#samples === 0) {
        // The first sample is the shift of every later one; the first chunk sets the scale.
        k.fillRows(this.#shiftT, tc.ptr);
        k.fillRows(this.#shiftS, sc.ptr);
        this.#scaleT = unitScale(k.view(tc), k.precision);
        this.#scaleS = unitScale(k.view(sc), k.precision);
      }
      const dt = k.rowsOf(this.#devT, 0, rows), ds = k.rowsOf(this.#devS, 0, rows);
      k.sub(tc, k.rowsOf(this.#shiftT, 0, rows), dt);
      k.sub(sc, k.rowsOf(this.#shiftS, 0, rows), ds);
      if (this.#scaleT !== 1) k.scale(dt, this.#scaleT);
      if (this.#scaleS !== 1) k.scale(ds, this.#scaleS);
      this.#sumT.colSums(dt);
      this.#sumS.colSums(ds);
      this.#sqT.colSumsq(dt);
      this.#sqS.colSumsq(ds);
      this.#cross.matmulTN(dt, ds);
      for (const a of [this.#sumT, this.#sumS, this.#sqT, this.#sqS, this.#cross]) a.flush();
      this.#samples += rows;
    }
  }

  /** The correlation of everything added so far (see the module doc for the formula). */
  result(): Correlation {
    const c = finishCorrelation({
      samples: this.#samples,
      sumT: this.#sumT.read(),
      sumS: this.#sumS.read(),
      sqT: this.#sqT.read(),
      sqS: this.#sqS.read(),
      cross: this.#cross.read(),
    });
    // σ of the unscaled activations (ρ does not depend on the scale).
    c.teacherStd.forEach((v, j) => c.teacherStd[j] = v / this.#scaleT);
    c.studentStd.forEach((v, k) => c.studentStd[k] = v / this.#scaleS);
    return c;
  }
}

/**
 * The power of two that brings the largest |value| of a chunk near 1 (1 for an all-zero chunk),
 * within what the precision represents exactly.
 */
function unitScale(values: ArrayLike<number>, precision: string): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > max) max = a;
  }
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const limit = precision === "f32" ? 100 : 1000;
  return pow2(Math.max(-limit, Math.min(limit, -ilogb(max))));
}

/** Shifted sums of one layer (see the module doc). */
export interface CorrelationSums {
  /** N. */
  samples: number;
  /** Σa_j. */
  sumT: Float64Array;
  /** Σb_k. */
  sumS: Float64Array;
  /** Σa_j². */
  sqT: Float64Array;
  /** Σb_k². */
  sqS: Float64Array;
  /** Σa_j b_k, teachers × students. */
  cross: Float64Array;
}

/**
 * The correlation from shifted sums (the module doc's formula).
 *
 * @example
 * ```ts
 * import { finishCorrelation } from "@specialize/specialize";
 * // Two samples: teacher deviations (0, 1), student deviations (0, 2) → ρ = 1.
 * const c = finishCorrelation({
 *   samples: 2,
 *   sumT: Float64Array.of(1),
 *   sumS: Float64Array.of(2),
 *   sqT: Float64Array.of(1),
 *   sqS: Float64Array.of(4),
 *   cross: Float64Array.of(2),
 * });
 * console.log(c.corr[0]); // 1
 * ```
 */
export function finishCorrelation(s: CorrelationSums): Correlation {
  const m = s.sumT.length, n = s.sumS.length, N = s.samples;
  const corr = new Float64Array(m * n);
  // sqrt(N·Q − A²) = N·σ: scales like the activations, so the ratio below does not depend on scale.
  const rootOf = (sum: Float64Array, sq: Float64Array) =>
    sum.map((a, i) => Math.sqrt(Math.max(0, N * sq[i] - a * a)));
  const rootT = rootOf(s.sumT, s.sqT), rootS = rootOf(s.sumS, s.sqS);
  if (N > 0) {
    for (let j = 0; j < m; j++) {
      const a = s.sumT[j], rt = rootT[j];
      if (rt === 0) continue;
      for (let c = 0; c < n; c++) {
        const rs = rootS[c];
        if (rs === 0) continue;
        const r = (N * s.cross[j * n + c] - a * s.sumS[c]) / rt / rs;
        corr[j * n + c] = Math.max(-1, Math.min(1, r));
      }
    }
  }
  const teacherStd = rootT.map((r) => N > 0 ? r / N : 0);
  const studentStd = rootS.map((r) => N > 0 ? r / N : 0);
  return { teachers: m, students: n, samples: N, corr, teacherStd, studentStd };
}

/** Per-teacher summary of a correlation matrix. */
export interface TeacherSummary {
  /** Student with the highest correlation to each teacher (lowest index on ties). */
  bestStudent: Int32Array;
  /** That correlation. */
  bestCorr: Float64Array;
  /** Students with ρ > τ, teachers × taus row-major. */
  nAbove: Int32Array;
  /** Per τ, teachers with at least one student above τ. */
  covered: number[];
  /** The thresholds used. */
  taus: readonly number[];
}

/**
 * For each teacher (row of a teachers × students matrix): its best student, best correlation,
 * and the number of students above each τ; and per τ the number of covered teachers.
 *
 * @example
 * ```ts
 * import { summarizeTeachers } from "@specialize/specialize";
 * const s = summarizeTeachers(Float64Array.of(0.2, 0.97, 0.55, 0.1), 2);
 * console.log(s.bestStudent, s.covered); // [1, 0], [2, 1, 1, 1, 1, 1]
 * ```
 */
export function summarizeTeachers(
  corr: Float64Array,
  teachers: number,
  taus: readonly number[] = TAUS,
): TeacherSummary {
  const n = corr.length / teachers;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`A ${corr.length}-element matrix cannot have ${teachers} teacher rows`);
  }
  const bestStudent = new Int32Array(teachers), bestCorr = new Float64Array(teachers);
  const nAbove = new Int32Array(teachers * taus.length);
  const covered = taus.map(() => 0);
  for (let j = 0; j < teachers; j++) {
    let best = 0;
    for (let k = 1; k < n; k++) if (corr[j * n + k] > corr[j * n + best]) best = k;
    bestStudent[j] = best;
    bestCorr[j] = corr[j * n + best];
    taus.forEach((tau, t) => {
      let count = 0;
      for (let k = 0; k < n; k++) if (corr[j * n + k] > tau) count++;
      nAbove[j * taus.length + t] = count;
      if (count > 0) covered[t]++;
    });
  }
  return { bestStudent, bestCorr, nAbove, covered, taus };
}

/** Per-student summary of a correlation matrix. */
export interface StudentSummary {
  /** Teacher with the highest correlation to each student (lowest index on ties). */
  bestTeacher: Int32Array;
  /** That correlation. */
  bestCorr: Float64Array;
}

/**
 * For each student (column of a teachers × students matrix): its best teacher and correlation.
 *
 * @example
 * ```ts
 * import { summarizeStudents } from "@specialize/specialize";
 * const s = summarizeStudents(Float64Array.of(0.2, 0.97, 0.55, 0.1), 2);
 * console.log(s.bestTeacher, s.bestCorr); // [1, 0], [0.55, 0.97]
 * ```
 */
export function summarizeStudents(corr: Float64Array, teachers: number): StudentSummary {
  const n = corr.length / teachers;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`A ${corr.length}-element matrix cannot have ${teachers} teacher rows`);
  }
  const bestTeacher = new Int32Array(n), bestCorr = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let best = 0;
    for (let j = 1; j < teachers; j++) if (corr[j * n + k] > corr[best * n + k]) best = j;
    bestTeacher[k] = best;
    bestCorr[k] = corr[best * n + k];
  }
  return { bestTeacher, bestCorr };
}

/** One entry of the specialization timeline. */
export interface TimelineEntry {
  /** Data split the correlation was measured on. */
  split: string;
  /** Hidden layer (0 = lowest). */
  layer: number;
  /** Teacher node. */
  teacher: number;
  /** Threshold. */
  tau: number;
  /** First evaluated epoch whose best correlation was above τ, or null if none yet. */
  epoch: number | null;
}

/**
 * The specialization timeline: for each split, layer, teacher and τ, the first evaluated epoch at
 * which the teacher's best correlation exceeded τ.
 *
 * @example
 * ```ts
 * import { SpecializationTimeline } from "@specialize/specialize";
 * const tl = new SpecializationTimeline([0.5, 0.9]);
 * tl.record("eval", 0, 0, Float64Array.of(0.3, 0.6));
 * tl.record("eval", 0, 5, Float64Array.of(0.95, 0.7));
 * console.log(tl.entries().map((e) => e.epoch)); // [5, 5, 0, null]
 * ```
 */
export class SpecializationTimeline {
  /** The thresholds. */
  readonly taus: readonly number[];
  readonly #first = new Map<string, { split: string; layer: number; epochs: (number | null)[] }>();

  /** A timeline over the given thresholds (default {@linkcode TAUS}). */
  constructor(taus: readonly number[] = TAUS) {
    this.taus = [...taus];
  }

  /** Records each teacher's best correlation at an epoch (epochs in increasing order). */
  record(split: string, layer: number, epoch: number, bestCorr: ArrayLike<number>): void {
    const key = `${split}\u0000${layer}`;
    const T = this.taus.length;
    let e = this.#first.get(key);
    if (!e) {
      e = { split, layer, epochs: new Array(bestCorr.length * T).fill(null) };
      this.#first.set(key, e);
    }
    for (let j = 0; j < bestCorr.length; j++) {
      for (let t = 0; t < T; t++) {
        if (e.epochs[j * T + t] === null && bestCorr[j] > this.taus[t]) e.epochs[j * T + t] = epoch;
      }
    }
  }

  /** The recorded first epochs, as JSON-able data (for checkpoints). */
  getState(): { split: string; layer: number; epochs: (number | null)[] }[] {
    return [...this.#first.values()].map((e) => ({ ...e, epochs: [...e.epochs] }));
  }

  /** Replaces the recorded first epochs with a state from {@linkcode SpecializationTimeline.getState}. */
  setState(state: { split: string; layer: number; epochs: (number | null)[] }[]): void {
    this.#first.clear();
    for (const e of state) {
      this.#first.set(`${e.split}\u0000${e.layer}`, { ...e, epochs: [...e.epochs] });
    }
  }

  /** Every (split, layer, teacher, τ) with its first epoch, in recording order. */
  entries(): TimelineEntry[] {
    const out: TimelineEntry[] = [];
    const T = this.taus.length;
    for (const { split, layer, epochs } of this.#first.values()) {
      for (let i = 0; i < epochs.length; i++) {
        const teacher = Math.floor(i / T), tau = this.taus[i % T];
        out.push({ split, layer, teacher, tau, epoch: epochs[i] });
      }
    }
    return out;
  }
}
