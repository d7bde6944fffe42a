/**
 * The population (infinite-data) quantities of a two-layer ReLU teacher–student pair with biases,
 * c outputs and Gaussian inputs x ~ N(0, σ² I_d), in closed form: the loss L = ½ E‖y_s − y_t‖², its
 * gradient with respect to every student weight and bias, and the exact teacher × student
 * correlation matrix of the hidden activations. No sampling: the only errors are rounding and
 * those of Φ and Φ₂ (about 1e-16, see `normal.ts`).
 *
 * Notation: a hidden unit computes relu(u), u = a·x + α; s = σ‖a‖, β = α/s; for two units u, v
 * (weights a, c), ρ = σ² a·c/(s_u s_v), q = √(1 − ρ²). Formulas (re-derived and tested here
 * against Monte Carlo, finite differences and the zero-bias kernels):
 * - E[relu(u)] = s(βΦ(β) + φ(β)); E[relu(u)²] = s²((1 + β²)Φ(β) + βφ(β)).
 * - P(u > 0, v > 0) = Φ₂(β_u, β_v; ρ).
 * - E[relu(u) relu(v)] = s_u s_v [(β_uβ_v + ρ)Φ₂ + β_u φ(β_v)Φ((β_u − ρβ_v)/q)
 *   + β_v φ(β_u)Φ((β_v − ρβ_u)/q) + q φ(β_u)φ((β_v − ρβ_u)/q)]: the product moment of a truncated
 *   bivariate normal (Rosenbaum, J. R. Stat. Soc. B 23, 1961; Kan & Robotti, J. Comput. Graph.
 *   Stat. 26, 2017); with zero biases Cho & Saul's arc-cosine kernel (NeurIPS 2009),
 *   s_u s_v/(2π)(sin θ + (π − θ) cos θ).
 * - E[1(u > 0) relu(v)] = s_v [β_v Φ₂ + φ(β_v)Φ((β_u − ρβ_v)/q) + ρ φ(β_u)Φ((β_v − ρβ_u)/q)]
 *   (the derivative of the product moment with respect to α_u).
 * - E[x 1(u > 0) relu(v)] = σ² [c Φ₂ + a D_uv] by Stein's lemma, with D_uv = E[δ(u) relu(v)] =
 *   (φ(β_u)/s_u) E[relu(v) | u = 0], v | u = 0 ~ N(s_v(β_v − ρβ_u), s_v² q²),
 *   E[relu(N(μ, t²))] = μΦ(μ/t) + tφ(μ/t); with zero biases Tian's population gradient (ICML 2017).
 * - At ρ = ±1 (v a scaled copy of ±u; every student against itself) the exact limits q → 0 are
 *   used; a unit with a = 0 (or |β| > 1e150) is the constant relu(α).
 *
 * Two-layer network: student h_s (K units), teacher h_t (J units), y_s = W₂h_s + b₂,
 * y_t = V₂h_t + c₂. With A = [W₂, −V₂], h = [h_s; h_t], M = E[hhᵀ], m = E[h], Δb = b₂ − c₂,
 * C = AᵀA:
 * - L = ½ (Σ C_ij M_ij + 2Δb·Am + ‖Δb‖²); the reported MSE (per output) is 2L/c.
 * - ∂L/∂W₂ = (AM)[:, :K] + Δb m_sᵀ, ∂L/∂b₂ = Am + Δb.
 * - ∂L/∂w_k = Σ_l C_kl E[x 1(u_k > 0) h_l] + (A_k·Δb) E[x 1(u_k > 0)], E[x 1(u > 0)] = σ²aφ(β)/s.
 * - ∂L/∂α_k = Σ_l C_kl E[1(u_k > 0) h_l] + (A_k·Δb) Φ(β_k).
 * - corr(h_i, h_j) = (M_ij − m_i m_j)/√(Var h_i Var h_j), 0 if either variance is 0.
 *
 * Weights use the layout of {@linkcode Network}: layer 0 is (d + 1) × K row-major (column k is
 * unit k's weights, the last row the biases), layer 1 is (K + 1) × c (row k is unit k's fan-out,
 * the last row the output biases). Everything is computed in f64 with basic IEEE operations and
 * `Math.sqrt` only, in a fixed order, so the same weights give the same bits everywhere.
 * @module
 */

import { bivariateNormalCdf, normalCdf, normalCdfPdf } from "./normal.ts";
import * as normal from "./normal.ts";

/** Per-unit quantities of relu(u), u = a·x + α, x ~ N(0, σ²I). */
export interface ReluUnit {
  /** s = σ‖a‖ (0 for a constant unit). */
  s: number;
  /** The bias α. */
  alpha: number;
  /** β = α/s (±Infinity or NaN for a constant unit: not used then). */
  beta: number;
  /** Whether the unit is treated as the constant relu(α) (s = 0 or |β| > 1e150). */
  constant: boolean;
  /** P(u > 0) = Φ(β) (constant unit: 1 if α > 0, else 0). */
  pOn: number;
  /** φ(β) (0 for a constant unit). */
  pdf: number;
  /** E[relu(u)]. */
  mean: number;
  /** Var[relu(u)], computed without the cancellation of E[relu²] − E[relu]² where possible. */
  variance: number;
}

/**
 * The per-unit statistics of relu(u) for s = σ‖a‖ ≥ 0 and bias α.
 *
 * @example
 * ```ts
 * import { reluUnit } from "@specialize/specialize";
 * const u = reluUnit(1, 0); // relu of a standard normal
 * console.log(u.mean, u.variance); // 1/√(2π) ≈ 0.3989, 1/2 − 1/(2π) ≈ 0.3408
 * ```
 */
export function reluUnit(s: number, alpha: number): ReluUnit {
  const beta = alpha / s;
  if (s === 0 || !(Math.abs(beta) <= 1e150)) {
    const on = alpha > 0 ? 1 : 0;
    return { s, alpha, beta, constant: true, pOn: on, pdf: 0, mean: on ? alpha : 0, variance: 0 };
  }
  const P = normalCdfPdf(beta), f = normal.lastPdf, Pbar = normalCdf(-beta);
  const mean = s * (beta * P + f);
  // E[relu²] − E[relu]² = s²[Φ + β²ΦΦ̄ + βφ(Φ̄ − Φ) − φ²], Φ̄ = Φ(−β).
  const v = s * s * (P + beta * beta * P * Pbar + beta * f * (Pbar - P) - f * f);
  return { s, alpha, beta, constant: false, pOn: P, pdf: f, mean, variance: v > 0 ? v : 0 };
}

/** The joint moments of two relu units u, v (see {@linkcode reluPair}). */
export interface ReluPair {
  /** P(u > 0, v > 0) = Φ₂(β_u, β_v; ρ). */
  pBoth: number;
  /** E[relu(u) relu(v)]. */
  m: number;
  /** E[1(u > 0) relu(v)]. */
  gUV: number;
  /** E[1(v > 0) relu(u)]. */
  gVU: number;
  /** D_uv = E[δ(u) relu(v)]: E[x 1(u > 0) relu(v)] = σ²(c·pBoth + a·dUV). */
  dUV: number;
  /** D_vu = E[δ(v) relu(u)]: E[x 1(v > 0) relu(u)] = σ²(a·pBoth + c·dVU). */
  dVU: number;
}

/** A fresh {@linkcode ReluPair} to pass as `out`. */
export function newReluPair(): ReluPair {
  return { pBoth: 0, m: 0, gUV: 0, gVU: 0, dUV: 0, dVU: 0 };
}

/**
 * The joint moments of relu(u) and relu(v) for units from {@linkcode reluUnit} whose
 * pre-activations have correlation ρ ∈ [−1, 1] (ρ = σ² a·c/(s_u s_v); any value for a constant
 * unit). Exact limits at ρ = ±1 (when `q2` = 1 − ρ² is 0) and for constant units. Near ρ = ±1
 * pass `q2` computed without cancellation (ρ rounded to 1 − 1e-16 would make q ≈ 1.5e-8 instead of
 * 0). Writes into and returns `out`.
 *
 * @example
 * ```ts
 * import { reluPair, reluUnit } from "@specialize/specialize";
 * const u = reluUnit(1, 0), v = reluUnit(2, 0);
 * // Zero biases: Cho & Saul's arc-cosine kernel, s_u s_v/(2π)(sin θ + (π − θ)cos θ), here θ = π/2.
 * console.log(reluPair(u, v, 0).m, 2 / (2 * Math.PI));
 * ```
 */
export function reluPair(
  u: ReluUnit,
  v: ReluUnit,
  rho: number,
  out: ReluPair = newReluPair(),
  q2: number = (1 - rho) * (1 + rho),
): ReluPair {
  if (u.constant || v.constant) return constantPair(u, v, out);
  const su = u.s, sv = v.s, bu = u.beta, bv = v.beta, fu = u.pdf, fv = v.pdf;
  const qq = q2;
  if (!(qq > 0)) {
    if (rho > 0) {
      // v = (s_v/s_u)(u − α_u) + α_v: both positive iff Z > −min(β_u, β_v).
      const lo = bu < bv ? bu : bv, P = normalCdfPdf(lo), f = normal.lastPdf;
      out.pBoth = P;
      out.m = su * sv * ((1 + bu * bv) * P + (bu + bv - lo) * f);
      out.gUV = sv * (f + bv * P);
      out.gVU = su * (f + bu * P);
      out.dUV = fu * (sv / su) * (bv > bu ? bv - bu : 0);
      out.dVU = fv * (su / sv) * (bu > bv ? bu - bv : 0);
    } else {
      // v = −(s_v/s_u)(u − α_u) + α_v: both positive iff −β_u < Z < β_v.
      const sum = bu + bv;
      if (sum > 0) {
        const P = normalCdf(bv) - normalCdf(-bu);
        out.pBoth = P;
        out.m = su * sv * ((bu * bv - 1) * P + bv * fu + bu * fv);
        out.gUV = sv * (bv * P - fu + fv);
        out.gVU = su * (bu * P - fv + fu);
        out.dUV = fu * (sv / su) * sum;
        out.dVU = fv * (su / sv) * sum;
      } else {
        out.pBoth =
          out.m =
          out.gUV =
          out.gVU =
          out.dUV =
          out.dVU =
            0;
      }
    }
    return out;
  }
  const q = Math.sqrt(qq);
  const P2 = bivariateNormalCdf(bu, bv, rho);
  const yu = (bu - rho * bv) / q, yv = (bv - rho * bu) / q;
  const Pu = normalCdfPdf(yu), fyu = normal.lastPdf;
  const Pv = normalCdfPdf(yv), fyv = normal.lastPdf;
  out.pBoth = P2;
  out.m = su * sv * ((bu * bv + rho) * P2 + bu * fv * Pu + bv * fu * Pv + q * fu * fyv);
  out.gUV = sv * (bv * P2 + fv * Pu + rho * fu * Pv);
  out.gVU = su * (bu * P2 + fu * Pv + rho * fv * Pu);
  out.dUV = fu * (sv / su) * ((bv - rho * bu) * Pv + q * fyv);
  out.dVU = fv * (su / sv) * ((bu - rho * bv) * Pu + q * fyu);
  return out;
}

function constantPair(u: ReluUnit, v: ReluUnit, out: ReluPair): ReluPair {
  // A constant unit is relu(α) everywhere: independent of the other, its δ(·) is 0 a.s.
  const cu = u.mean, cv = v.mean;
  out.pBoth = u.pOn * v.pOn;
  out.m = u.constant && v.constant ? cu * cv : u.constant ? cu * v.mean : cv * u.mean;
  out.gUV = u.pOn * v.mean;
  out.gVU = v.pOn * u.mean;
  out.dUV = u.constant ? 0 : (u.pdf / u.s) * cv;
  out.dVU = v.constant ? 0 : (v.pdf / v.s) * cu;
  return out;
}

/** Writable arrays for a gradient in the layout of the weights (Float32Array or Float64Array). */
export interface TwoLayerGradient {
  /** (d + 1) × K: ∂L/∂(first-layer weights and biases). */
  w0: { [i: number]: number; length: number };
  /** (K + 1) × c: ∂L/∂(output weights and biases). */
  w1: { [i: number]: number; length: number };
}

/**
 * The population loss of students against one fixed two-layer teacher.
 *
 * The teacher's own pair moments are computed once; {@linkcode Population.evaluate} costs
 * K(K + 1)/2 + K·J bivariate normal evaluations plus O((K + J)² (d + c)) arithmetic, and allocates
 * only when the student width changes.
 *
 * @example
 * ```ts
 * import { Population } from "@specialize/specialize";
 * // d = 2, teacher with 1 unit and 1 output: y_t = relu(x₁) ; student with 1 unit starting at 0.
 * const pop = new Population({ d: 2, outputs: 1, dataStd: 1, teacherW0: [1, 0, 0], teacherW1: [1, 0] });
 * const grad = { w0: new Float64Array(3), w1: new Float64Array(2) };
 * const loss = pop.evaluate([1, 0, 0], [1, 0], grad); // the student equals the teacher
 * console.log(loss, Math.max(...grad.w0.map(Math.abs))); // 0 0
 * ```
 */
export class Population {
  /** Input dimension d. */
  readonly d: number;
  /** Outputs c. */
  readonly outputs: number;
  /** Teacher hidden width J. */
  readonly teacherWidth: number;
  /** Input standard deviation σ. */
  readonly dataStd: number;
  readonly #ta: Float64Array; // J × d teacher weight vectors
  readonly #tUnits: ReluUnit[];
  readonly #tDir: Float64Array; // J × d unit directions
  readonly #tOut: Float64Array; // J × c: −V₂ rows (A's teacher columns)
  readonly #c2: Float64Array;
  readonly #tGram: Float64Array; // J × J, a·a'
  readonly #tM: Float64Array; // J × J
  #k = -1;
  #buf: {
    a: Float64Array; // N × d unit weight vectors
    dir: Float64Array; // N × d unit directions (0 for constant units)
    at: Float64Array; // N × c columns of A
    gram: Float64Array; // K × N
    cm: Float64Array; // K × N rows of C
    M: Float64Array; // K × N
    G: Float64Array; // K × N: E[1(u_k > 0) h_l]
    P: Float64Array; // K × N: Φ₂
    D: Float64Array; // K × N: D_kl (coefficient of a_k)
    row: Float64Array; // d
    outRow: Float64Array; // c
    units: ReluUnit[];
    db: Float64Array;
    am: Float64Array;
  } | null = null;
  readonly #pair = newReluPair();

  /**
   * A teacher of J hidden units: `teacherW0` is (d + 1) × J, `teacherW1` (J + 1) × c, in the
   * layout of {@linkcode Network} weights. Throws a RangeError for inconsistent sizes or σ ≤ 0.
   */
  constructor(opts: {
    d: number;
    outputs: number;
    dataStd: number;
    teacherW0: ArrayLike<number>;
    teacherW1: ArrayLike<number>;
  }) {
    const { d, outputs: c, dataStd } = opts;
    if (!(dataStd > 0)) throw new RangeError(`dataStd ${dataStd}: must be positive`);
    const J = opts.teacherW0.length / (d + 1);
    if (!Number.isInteger(J) || J < 1 || opts.teacherW1.length !== (J + 1) * c) {
      throw new RangeError(
        `Teacher weights of ${opts.teacherW0.length} and ${opts.teacherW1.length} values do not ` +
          `fit d = ${d}, ${c} outputs`,
      );
    }
    this.d = d;
    this.outputs = c;
    this.dataStd = dataStd;
    this.teacherWidth = J;
    this.#ta = unitWeights(opts.teacherW0, d, J);
    this.#tUnits = units(this.#ta, opts.teacherW0, d, J, dataStd);
    this.#tDir = directions(this.#ta, this.#tUnits, d, dataStd);
    this.#tOut = new Float64Array(J * c);
    for (let j = 0; j < J; j++) {
      for (let o = 0; o < c; o++) this.#tOut[j * c + o] = -opts.teacherW1[j * c + o];
    }
    this.#c2 = Float64Array.from({ length: c }, (_, o) => opts.teacherW1[J * c + o]);
    this.#tGram = new Float64Array(J * J);
    this.#tM = new Float64Array(J * J);
    const s2 = dataStd * dataStd;
    for (let i = 0; i < J; i++) {
      for (let j = i; j < J; j++) {
        const g = dot(this.#ta, i * d, this.#ta, j * d, d);
        this.#tGram[i * J + j] = this.#tGram[j * J + i] = g;
        const u = this.#tUnits[i], v = this.#tUnits[j];
        const rq = i === j ? { rho: 1, q2: 0 } : correlationOf(g, s2, u, v, this.#tDir, i, j, d);
        const m = reluPair(u, v, rq.rho, this.#pair, rq.q2).m;
        this.#tM[i * J + j] = this.#tM[j * J + i] = m;
      }
    }
  }

  #buffers(K: number) {
    if (this.#k === K && this.#buf) return this.#buf;
    const J = this.teacherWidth, N = K + J, d = this.d, c = this.outputs;
    const a = new Float64Array(N * d), at = new Float64Array(N * c);
    const dir = new Float64Array(N * d);
    a.set(this.#ta, K * d);
    dir.set(this.#tDir, K * d);
    at.set(this.#tOut, K * c);
    const KN = K * N;
    this.#buf = {
      a,
      dir,
      at,
      gram: new Float64Array(KN),
      cm: new Float64Array(KN),
      M: new Float64Array(KN),
      G: new Float64Array(KN),
      P: new Float64Array(KN),
      D: new Float64Array(KN),
      row: new Float64Array(d),
      outRow: new Float64Array(c),
      units: [],
      db: new Float64Array(c),
      am: new Float64Array(c),
    };
    this.#k = K;
    return this.#buf;
  }

  /**
   * The population loss L = ½ E‖y_s − y_t‖² of a student with first-layer weights `w0`
   * ((d + 1) × K) and output weights `w1` ((K + 1) × c); with `grad`, writes ∂L/∂w0 and ∂L/∂w1
   * into it (same layouts); with `corr` (length J·K), writes the exact teacher × student
   * correlation matrix of the hidden activations (row-major, J × K). Throws a RangeError for
   * inconsistent sizes.
   */
  evaluate(
    w0: ArrayLike<number>,
    w1: ArrayLike<number>,
    grad?: TwoLayerGradient | null,
    corr?: Float64Array | null,
  ): number {
    const d = this.d, c = this.outputs, J = this.teacherWidth, s2 = this.dataStd ** 2;
    const K = w0.length / (d + 1);
    if (!Number.isInteger(K) || K < 1 || w1.length !== (K + 1) * c) {
      throw new RangeError(
        `Student weights of ${w0.length} and ${w1.length} values do not fit d = ${d}, ${c} outputs`,
      );
    }
    if (grad && (grad.w0.length !== w0.length || grad.w1.length !== w1.length)) {
      throw new RangeError(`Gradient arrays do not match the student's weights`);
    }
    if (corr && corr.length !== J * K) {
      throw new RangeError(`Correlation array of ${corr.length} values, expected ${J * K}`);
    }
    const N = K + J;
    const b = this.#buffers(K);
    const { a, dir, at, gram, cm, M, G, P, D, db, am } = b;
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < d; i++) a[k * d + i] = w0[i * K + k];
      for (let o = 0; o < c; o++) at[k * c + o] = w1[k * c + o];
    }
    const sUnits = units(a, w0, d, K, this.dataStd);
    const all = b.units = sUnits.concat(this.#tUnits);
    dir.set(directions(a.subarray(0, K * d), sUnits, d, this.dataStd));
    for (let o = 0; o < c; o++) db[o] = w1[K * c + o] - this.#c2[o];
    // Gram and C rows of the students (symmetric student block computed once).
    for (let k = 0; k < K; k++) {
      for (let l = k; l < N; l++) {
        const g = dot(a, k * d, a, l * d, d), cc = dot(at, k * c, at, l * c, c);
        gram[k * N + l] = g;
        cm[k * N + l] = cc;
        if (l < K) {
          gram[l * N + k] = g;
          cm[l * N + k] = cc;
        }
      }
    }
    // Pair moments.
    const pr = this.#pair;
    for (let k = 0; k < K; k++) {
      const u = all[k];
      for (let l = k; l < N; l++) {
        const v = all[l];
        if (l === k) reluPair(u, v, 1, pr, 0);
        else {
          const rq = correlationOf(gram[k * N + l], s2, u, v, dir, k, l, d);
          reluPair(u, v, rq.rho, pr, rq.q2);
        }
        const kl = k * N + l;
        M[kl] = pr.m;
        G[kl] = pr.gUV;
        P[kl] = pr.pBoth;
        D[kl] = pr.dUV;
        if (l < K && l !== k) {
          const lk = l * N + k;
          M[lk] = pr.m;
          G[lk] = pr.gVU;
          P[lk] = pr.pBoth;
          D[lk] = pr.dVU;
        }
      }
    }
    // am = A m.
    am.fill(0);
    for (let i = 0; i < N; i++) {
      const mi = all[i].mean;
      for (let o = 0; o < c; o++) am[o] += mi * at[i * c + o];
    }
    // L = ½(Σ C_ij M_ij + 2Δb·Am + ‖Δb‖²): student rows (both orders within the student block),
    // the student × teacher block twice, the teacher block from the cache.
    let quad = 0;
    for (let k = 0; k < K; k++) {
      for (let l = 0; l < N; l++) {
        const w = l < K ? 1 : 2;
        quad += w * cm[k * N + l] * M[k * N + l];
      }
    }
    const tO = this.#tOut, tM = this.#tM;
    for (let i = 0; i < J; i++) {
      for (let j = 0; j < J; j++) quad += dot(tO, i * c, tO, j * c, c) * tM[i * J + j];
    }
    let lin = 0, bb = 0;
    for (let o = 0; o < c; o++) {
      lin += db[o] * am[o];
      bb += db[o] * db[o];
    }
    const loss = 0.5 * (quad + 2 * lin + bb);
    if (grad) this.#gradient(K, grad);
    if (corr) {
      for (let j = 0; j < J; j++) {
        const t = this.#tUnits[j];
        for (let k = 0; k < K; k++) {
          const s = sUnits[k];
          // σ_t·σ_s; taken apart only where the product of the variances under- or overflows
          // (activations below ~1e-77 or above ~1e77), so other runs keep their bits
          let den = Math.sqrt(t.variance * s.variance);
          if (!(den > 0 && den < Infinity) && t.variance > 0 && s.variance > 0) {
            den = Math.sqrt(t.variance) * Math.sqrt(s.variance);
          }
          corr[j * K + k] = den > 0 ? (M[k * N + K + j] - t.mean * s.mean) / den : 0;
        }
      }
    }
    return loss;
  }

  #gradient(K: number, grad: TwoLayerGradient): void {
    const b = this.#buf!, d = this.d, c = this.outputs, J = this.teacherWidth, N = K + J;
    const s2 = this.dataStd ** 2;
    const { a, at, cm, M, G, P, D, db, am, row, units: all } = b;
    // Output layer: row k = Σ_j M_kj A_j + m_k Δb; bias row = Am + Δb.
    const g1 = grad.w1, g0 = grad.w0;
    const acc = b.outRow;
    for (let k = 0; k < K; k++) {
      const mk = all[k].mean;
      for (let o = 0; o < c; o++) acc[o] = mk * db[o];
      for (let j = 0; j < N; j++) {
        const mkj = M[k * N + j], jc = j * c;
        for (let o = 0; o < c; o++) acc[o] += mkj * at[jc + o];
      }
      for (let o = 0; o < c; o++) g1[k * c + o] = acc[o];
    }
    for (let o = 0; o < c; o++) g1[K * c + o] = am[o] + db[o];
    // First layer: ∂L/∂w_k = σ²[Σ_l C_kl (Φ₂_kl a_l + D_kl a_k) + (A_k·Δb) φ(β_k)/s_k a_k],
    // ∂L/∂α_k = Σ_l C_kl G_kl + (A_k·Δb) Φ(β_k). D_kk = 0 (the exact ρ = 1 limit).
    for (let k = 0; k < K; k++) {
      const u = all[k], adb = dot(at, k * c, db, 0, c);
      let selfCoef = u.constant ? 0 : adb * u.pdf / u.s, gb = adb * u.pOn;
      row.fill(0);
      for (let l = 0; l < N; l++) {
        const ckl = cm[k * N + l];
        if (ckl === 0) continue;
        selfCoef += ckl * D[k * N + l];
        gb += ckl * G[k * N + l];
        const w = ckl * P[k * N + l];
        if (w !== 0) { for (let i = 0; i < d; i++) row[i] += w * a[l * d + i]; }
      }
      for (let i = 0; i < d; i++) g0[i * K + k] = s2 * (row[i] + selfCoef * a[k * d + i]);
      g0[d * K + k] = gb;
    }
  }
}

/** N unit weight vectors (N × d, row-major) from (d + 1) × N augmented weights. */
function unitWeights(w: ArrayLike<number>, d: number, n: number): Float64Array {
  const a = new Float64Array(n * d);
  for (let k = 0; k < n; k++) for (let i = 0; i < d; i++) a[k * d + i] = w[i * n + k];
  return a;
}

function units(
  a: Float64Array,
  w: ArrayLike<number>,
  d: number,
  n: number,
  sigma: number,
): ReluUnit[] {
  const out: ReluUnit[] = [];
  for (let k = 0; k < n; k++) {
    out.push(reluUnit(sigma * Math.sqrt(dot(a, k * d, a, k * d, d)), w[d * n + k]));
  }
  return out;
}

/** Unit directions a/‖a‖ = σa/s (rows; 0 for constant units). */
function directions(a: Float64Array, us: ReluUnit[], d: number, sigma: number): Float64Array {
  const out = new Float64Array(us.length * d);
  us.forEach((u, k) => {
    if (u.constant) return;
    const f = sigma / u.s;
    for (let i = 0; i < d; i++) out[k * d + i] = a[k * d + i] * f;
  });
  return out;
}

function dot(x: ArrayLike<number>, i0: number, y: ArrayLike<number>, j0: number, n: number) {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i0 + i] * y[j0 + i];
  return s;
}

/** Scratch result of {@linkcode correlationOf}. */
const RQ = { rho: 0, q2: 0 };

/**
 * ρ = σ² a·c/(s_u s_v) and q² = 1 − ρ² of units i, j (rows of `a`, unit directions in `dir`).
 * Near ρ = ±1, 1 ∓ ρ = ‖â ∓ ĉ‖²/2 from the directions, so q² keeps its relative accuracy (and is
 * exactly 0 for parallel vectors) instead of inheriting the rounding of ρ.
 */
function correlationOf(
  gram: number,
  s2: number,
  u: ReluUnit,
  v: ReluUnit,
  dir: Float64Array,
  i: number,
  j: number,
  d: number,
): typeof RQ {
  if (u.constant || v.constant) {
    RQ.rho = 0;
    RQ.q2 = 1;
    return RQ;
  }
  const r = (s2 * gram) / (u.s * v.s);
  if (r > -0.9 && r < 0.9) {
    RQ.rho = r;
    RQ.q2 = (1 - r) * (1 + r);
    return RQ;
  }
  const sign = r > 0 ? 1 : -1;
  let dist = 0;
  for (let t = 0; t < d; t++) {
    const e = dir[i * d + t] - sign * dir[j * d + t];
    dist += e * e;
  }
  const oneMinus = dist / 2; // 1 − |ρ|
  RQ.rho = sign * (1 - oneMinus);
  RQ.q2 = oneMinus * (2 - oneMinus);
  return RQ;
}

/** The reported MSE (per sample and output) of a population loss L = ½E‖e‖²: 2L/c. */
export function populationMse(loss: number, outputs: number): number {
  return (2 * loss) / outputs;
}
