/**
 * Gradient and usefulness measurements of a student (docs/science.md, "The measurements"):
 * - per-sample gradient norms: at sample i, layer l's weight gradient of the per-sample objective
 *   0.5‖y − t‖² is the outer product [h_i, 1]ᵀ δ_i (h_i the layer's input, δ_i the gradient with
 *   respect to its pre-activation), so its squared norm is (‖h_i‖² + 1)·‖δ_i‖², computed with
 *   `rowSumsq` and no per-sample matrices; the sample's norm is the sqrt of the sum over layers;
 * - per student node, the mean over samples of its squared back-propagated gradient δ² (with
 *   respect to its pre-activation), via `colSumsq` of the deltas;
 * - fan-out norm of student k in hidden layer l: ‖W_{l+1}[k, :]‖ (bias row excluded);
 * - β through the Jacobian: V(x) = ∂y/∂h_l (outputs × nodes). β_kk(x) = Σ_o V(x)[o,k]², obtained
 *   by back-propagating each output's unit vector over a chunk of samples (for the diagonal of
 *   ReLU students: one sample at a time through its active nodes only); E_x[β_kk] is the mean
 *   over samples. For the top hidden layer V = W_topᵀ for every x, computed from the weights. The
 *   optional matrices are E[V_sᵀV_s] (student × student) and E[V_sᵀV_t] (student × teacher);
 * - boundary observability obs(j, k) = min(#samples where teacher j and student k are both active,
 *   #samples where teacher j is inactive and student k active), from 0/1 activity indicators
 *   (gates of the forward pass) and one `matmulTN` per chunk.
 *
 * Hidden layers are numbered from 0 (the lowest); in a {@linkcode Network} hidden layer h has
 * activations `acts[h + 1]`, gates `gates[h]` and fan-out weights `weights[h + 1]`.
 * @module
 */

import { F64Accumulator } from "./_accumulate.ts";
import type { Kernels, Mat } from "./kernels.ts";
import type { Network, Workspace } from "./network.ts";

/** Summary of per-sample gradient norms. */
export interface SampleGradientStats {
  /** Samples. */
  samples: number;
  /** Largest per-sample gradient norm. */
  max: number;
  /** Mean per-sample gradient norm. */
  mean: number;
  /** Median (linear interpolation between order statistics, as NumPy's default). */
  q50: number;
  /** 90th percentile. */
  q90: number;
  /** 99th percentile. */
  q99: number;
  /** Largest per-sample gradient norm of each weight layer alone. */
  layerMax: number[];
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of ascending values, interpolating linearly (NumPy's default).
 *
 * @example
 * ```ts
 * import { quantileSorted } from "@specialize/specialize";
 * console.log(quantileSorted([1, 2, 3, 4, 10], 0.9)); // 7.6
 * ```
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1), lo = Math.floor(pos), hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Per-sample gradient norms of a network, accumulated chunk by chunk after
 * `network.backward(ws, err, ...)` with the *unscaled* error err = y − t of each sample.
 *
 * @example
 * ```ts
 * import { Kernels, Network, PerSampleGradients } from "@specialize/specialize";
 * const k = new Kernels("f64");
 * const net = new Network(k, [2, 2, 1]);
 * net.setWeights(0, [1, -1, 1, 1, 0, -1]); // h = ReLU([x1 + x2, −x1 + x2 − 1])
 * net.setWeights(1, [1, 2, 0.5]); // y = h1 + 2·h2 + 0.5
 * const x = k.alloc(2, 2), t = k.alloc(2, 1), ws = net.workspace(2);
 * k.view(x).set([2, 1, -3, 1]); // y = 3.5 and 6.5
 * k.view(t).set([3, 6]); // both errors are 0.5
 * const err = ws.deltas[net.depth - 1];
 * k.sub(net.forward(x, ws), t, err);
 * net.backward(ws, err, net.allocLike());
 * const ps = new PerSampleGradients(net, 2);
 * ps.add(ws);
 * // sample 0: (3² + 1)·0.5² + (2² + 1² + 1)·0.5² = 4; sample 1: (3² + 1)·0.5² + (3² + 1² + 1)·1² = 13.5
 * console.log(ps.stats().max, ps.stats().mean); // 3.674… (√13.5), 2.837… ((2 + √13.5) / 2)
 * ```
 */
export class PerSampleGradients {
  /** The network. */
  readonly network: Network;
  readonly #hSq: Mat[];
  readonly #dSq: Mat[];
  #norms = new Float64Array(0);
  #samples = 0;
  #layerMax: number[];

  /** Allocates per-row scratch for chunks of up to `chunkRows` rows. */
  constructor(network: Network, chunkRows: number) {
    this.network = network;
    const k = network.kernels;
    this.#hSq = network.weights.map(() => k.alloc(1, chunkRows));
    this.#dSq = network.weights.map(() => k.alloc(1, chunkRows));
    this.#layerMax = network.weights.map(() => 0);
  }

  /** Forgets every sample. */
  reset(): void {
    this.#samples = 0;
    this.#layerMax = this.network.weights.map(() => 0);
  }

  /** Adds the samples of a workspace after forward and backward (unscaled error). */
  add(ws: Workspace): void {
    const k = this.network.kernels, L = this.network.depth, rows = ws.rows;
    if (rows > this.#hSq[0].cols) {
      throw new RangeError(`A ${rows}-row chunk exceeds the ${this.#hSq[0].cols} rows allocated`);
    }
    for (let l = 0; l < L; l++) {
      k.rowSumsq(ws.acts[l], this.#hSq[l].ptr);
      k.rowSumsq(ws.deltas[l], this.#dSq[l].ptr);
    }
    if (this.#samples + rows > this.#norms.length) {
      const grown = new Float64Array(Math.max(this.#samples + rows, 2 * this.#norms.length));
      grown.set(this.#norms.subarray(0, this.#samples));
      this.#norms = grown;
    }
    const out = this.#norms.subarray(this.#samples, this.#samples + rows);
    out.fill(0);
    for (let l = 0; l < L; l++) {
      const h = k.view(this.#hSq[l]), d = k.view(this.#dSq[l]);
      let max = this.#layerMax[l];
      for (let i = 0; i < rows; i++) {
        const g2 = (h[i] + 1) * d[i];
        out[i] += g2;
        if (g2 > max) max = g2;
      }
      this.#layerMax[l] = max;
    }
    for (let i = 0; i < rows; i++) out[i] = Math.sqrt(out[i]);
    this.#samples += rows;
  }

  /** The per-sample gradient norms so far (a copy, in sample order). */
  norms(): Float64Array {
    return this.#norms.slice(0, this.#samples);
  }

  /** Max, mean and quantiles of the per-sample norms so far. */
  stats(): SampleGradientStats {
    const v = this.#norms.subarray(0, this.#samples);
    const sorted = Float64Array.from(v).sort();
    let sum = 0;
    for (let i = 0; i < v.length; i++) sum += v[i];
    const n = v.length;
    return {
      samples: n,
      max: n ? sorted[n - 1] : NaN,
      mean: n ? sum / n : NaN,
      q50: quantileSorted(sorted, 0.5),
      q90: quantileSorted(sorted, 0.9),
      q99: quantileSorted(sorted, 0.99),
      layerMax: this.#layerMax.map(Math.sqrt),
    };
  }
}

/**
 * Fan-out norm of every node of hidden layer `layer` (0 = lowest): the L2 norm of its outgoing
 * weights, bias row excluded.
 *
 * @example
 * ```ts
 * import { fanoutNorms, Kernels, Network } from "@specialize/specialize";
 * const net = new Network(new Kernels("f64"), [2, 2, 1]);
 * net.setWeights(1, [3, 4, 0]);
 * console.log(fanoutNorms(net, 0)); // [3, 4]
 * ```
 */
export function fanoutNorms(network: Network, layer: number): Float64Array {
  const L = network.depth;
  if (!Number.isInteger(layer) || layer < 0 || layer > L - 2) {
    throw new RangeError(`Hidden layer ${layer} does not exist: expected 0 to ${L - 2}`);
  }
  const n = network.sizes[layer + 1], c = network.sizes[layer + 2];
  const w = network.weightView(layer + 1);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let o = 0; o < c; o++) s += w[k * c + o] * w[k * c + o];
    out[k] = Math.sqrt(s);
  }
  return out;
}

/** E_x[β] of one hidden layer. */
export interface BetaLayer {
  /** Samples averaged over (0 for the top hidden layer, where β does not depend on x). */
  samples: number;
  /** E[β_kk] per student node. */
  diag: Float64Array;
  /** E[V_sᵀV_s], students × students (with `matrices`). */
  studentStudent: Float64Array | null;
  /** E[V_sᵀV_t], students × teachers (with `matrices` and a teacher). */
  studentTeacher: Float64Array | null;
}

/**
 * E_x[β(x)] of every hidden layer of a student, through the Jacobian V(x) of the output with
 * respect to the layer's activations (see the module doc). Buffers are allocated once.
 *
 * @example
 * ```ts
 * import { JacobianBeta, Kernels, Network } from "@specialize/specialize";
 * const k = new Kernels("f64");
 * const net = new Network(k, [2, 2, 2, 1]);
 * net.setWeights(0, [1, -1, 1, 1, 0, -1]); // h0 = ReLU([x1 + x2, −x1 + x2 − 1])
 * net.setWeights(1, [1, 0, 0, 1, 0, 0]); // h1 = ReLU(h0) = h0
 * net.setWeights(2, [1, 2, 0.5]); // y = h1[0] + 2·h1[1] + 0.5
 * const x = k.alloc(2, 2), ws = net.workspace(2);
 * k.view(x).set([2, 1, -3, 1]); // h0 = (3, 0), then (0, 3)
 * net.forward(x, ws);
 * const beta = new JacobianBeta(net, null, { chunkRows: 2 });
 * beta.add(ws, null, 2);
 * // ∂y/∂h0 = (1, 0) on sample 0 (node 1 inactive above), (0, 2) on sample 1: E[β_kk] = (0.5, 2)
 * console.log(beta.result()[0].diag, beta.result()[1].diag); // [0.5, 2], [1, 4]
 * ```
 */
export class JacobianBeta {
  /** The student. */
  readonly student: Network;
  /** The teacher (for student–teacher β), or null. */
  readonly teacher: Network | null;
  /** Whether the β matrices are accumulated (besides the diagonal). */
  readonly matrices: boolean;
  readonly #chunkRows: number;
  readonly #gS: Mat[] = [];
  readonly #gT: Mat[] = [];
  readonly #topS: Mat;
  readonly #topT: Mat | null;
  /** The sparse path's buffers (diagonal only, ReLU): see {@linkcode JacobianBeta.add}. */
  readonly #sparse: SparseBeta | null;
  readonly #diag: F64Accumulator[] = [];
  readonly #ss: F64Accumulator[] = [];
  readonly #st: F64Accumulator[] = [];
  #samples = 0;

  /** Allocates scratch for chunks of up to `chunkRows` rows. */
  constructor(
    student: Network,
    teacher: Network | null,
    opts: { chunkRows: number; matrices?: boolean },
  ) {
    const k = student.kernels, L = student.depth;
    if (teacher && (teacher.depth !== L || teacher.kernels !== k)) {
      throw new RangeError("JacobianBeta needs a teacher of the student's depth and kernels");
    }
    this.student = student;
    this.teacher = teacher;
    this.matrices = opts.matrices ?? false;
    this.#chunkRows = opts.chunkRows;
    const withT = teacher !== null && this.matrices;
    // Lower hidden layers only: h = 0 .. L-3 (the top one, L-2, is closed-form).
    for (let h = 0; h + 2 < L; h++) {
      const n = student.sizes[h + 1];
      this.#diag.push(new F64Accumulator(k, 1, n));
      if (this.matrices) this.#ss.push(new F64Accumulator(k, n, n));
      if (withT) this.#st.push(new F64Accumulator(k, n, teacher!.sizes[h + 1]));
    }
    // Scratch for ∂y_o/∂h at hidden layers 0 .. L-2.
    for (let h = 0; h + 1 < L; h++) {
      this.#gS.push(k.alloc(opts.chunkRows, student.sizes[h + 1]));
      if (withT) this.#gT.push(k.alloc(opts.chunkRows, teacher!.sizes[h + 1]));
    }
    const c = student.sizes[L];
    this.#topS = k.alloc(c, student.sizes[L - 1]);
    this.#topT = withT ? k.alloc(c, teacher!.sizes[L - 1]) : null;
    this.#sparse = null;
    if (!this.matrices && student.slope === 0 && L >= 3) {
      const widest = Math.max(...student.sizes.slice(1, L));
      this.#sparse = {
        wt: Array.from(
          { length: L },
          (_, l) => l >= 1 && l <= L - 2 ? k.alloc(student.sizes[l + 1], student.sizes[l]) : null,
        ),
        vt: student.sizes.slice(1, L - 1).map((n) => k.alloc(n, c)),
        q: k.alloc(widest, c),
        p: k.alloc(widest, widest),
        idx: k.allocI32(widest),
        sq: k.alloc(1, widest),
      };
    }
  }

  /** Forgets every sample. */
  reset(): void {
    for (const a of [...this.#diag, ...this.#ss, ...this.#st]) a.reset();
    this.#samples = 0;
  }

  /** Samples accumulated. */
  get samples(): number {
    return this.#samples;
  }

  /** Adds the first `rows` samples of a student workspace after its forward pass; for
   * student–teacher β also the teacher's gates of the same inputs (`teacherGates[h]`: rows × width
   * of hidden layer h, as `Workspace.gates`). */
  add(sws: Workspace, teacherGates: readonly Mat[] | null, rows: number): void {
    const s = this.student, L = s.depth, k = s.kernels;
    if (L < 3 || rows === 0) return;
    if (rows > this.#chunkRows || rows > sws.rows) {
      throw new RangeError(`JacobianBeta.add: ${rows} rows exceed the chunk or the workspace`);
    }
    const withT = this.#topT !== null;
    if (withT && teacherGates === null) {
      throw new RangeError("JacobianBeta.add needs the teacher's gates");
    }
    if (this.#sparse) {
      this.#addSparse(this.#sparse, sws, rows);
      this.#samples += rows;
      return;
    }
    transposeInto(s, L - 1, this.#topS);
    if (withT) transposeInto(this.teacher!, L - 1, this.#topT!);
    const c = s.sizes[L];
    const rowsOf = (m: Mat) => k.rowsOf(m, 0, rows);
    for (let o = 0; o < c; o++) {
      // ∂y_o/∂h at the top hidden layer: row o of W_topᵀ for every sample.
      let gs = rowsOf(this.#gS[L - 2]);
      k.fillRows(gs, k.rowsOf(this.#topS, o, 1).ptr);
      let gt: Mat | null = null;
      if (withT) {
        gt = rowsOf(this.#gT[L - 2]);
        k.fillRows(gt, k.rowsOf(this.#topT!, o, 1).ptr);
      }
      for (let h = L - 3; h >= 0; h--) {
        // From hidden layer h+1 down to h: through the ReLU of h+1, then W_{h+1}ᵀ.
        k.reluBackward(gs, rowsOf(sws.gates[h + 1]), gs);
        const below = rowsOf(this.#gS[h]);
        k.matmulNT(gs, s.params.main[h + 1], below);
        gs = below;
        this.#diag[h].colSumsq(gs);
        if (this.matrices) this.#ss[h].matmulTN(gs, gs);
        if (gt) {
          k.reluBackward(gt, rowsOf(teacherGates![h + 1]), gt);
          const belowT = rowsOf(this.#gT[h]);
          k.matmulNT(gt, this.teacher!.params.main[h + 1], belowT);
          gt = belowT;
          this.#st[h].matmulTN(gs, gt);
        }
      }
    }
    for (const a of [...this.#diag, ...this.#ss, ...this.#st]) a.flush();
    this.#samples += rows;
  }

  /**
   * The diagonal of ReLU students, one sample at a time with the inactive nodes left out: with
   * Vᵀ_h = ∂y/∂h_h transposed (nodes × outputs) and A the nodes of hidden layer h+1 active at the
   * sample, Vᵀ_h = W_{h+1}[:, A]·Vᵀ_{h+1}[A, :], computed as (W_{h+1}ᵀ[A, :])ᵀ·Vᵀ_{h+1}[A, :] from
   * gathered rows (the gated-out terms are exact zeros, so every entry of V has the bits of the
   * dense product over all nodes, for about half its multiply-adds); β_kk(x) is row k's sum of
   * squares, added per sample into the f64 sums.
   */
  #addSparse(sp: SparseBeta, sws: Workspace, rows: number): void {
    const s = this.student, L = s.depth, k = s.kernels;
    for (let l = 1; l <= L - 2; l++) transposeInto(s, l, sp.wt[l]!);
    const idx = k.viewI32(sp.idx, sp.q.rows);
    const gates = sws.gates.map((g) => k.view(g));
    for (let i = 0; i < rows; i++) {
      // Vᵀ of the top hidden layer: its fan-out weights (bias row excluded), for every sample.
      let vt = s.params.main[L - 1];
      for (let h = L - 3; h >= 0; h--) {
        const n1 = s.sizes[h + 2], g = gates[h + 1], o = i * n1;
        let a = 0;
        for (let j = 0; j < n1; j++) if (g[o + j] !== 0) idx[a++] = j;
        const out = sp.vt[h];
        if (a === 0) k.view(out).fill(0);
        else {
          const q = k.rowsOf(sp.q, 0, a), p = { ptr: sp.p.ptr, rows: a, cols: s.sizes[h + 1] };
          k.gatherRows(vt, sp.idx, q);
          k.gatherRows(sp.wt[h + 1]!, sp.idx, p);
          k.matmulTN(p, q, out);
        }
        k.rowSumsq(out, sp.sq.ptr);
        this.#diag[h].addFrom(sp.sq.ptr);
        vt = out;
      }
    }
  }

  /** E_x[β] of every hidden layer (0 = lowest), means over the samples added (lower layers). */
  result(): BetaLayer[] {
    const s = this.student, L = s.depth, out: BetaLayer[] = [];
    const N = this.#samples;
    const mean = (a: Float64Array) => a.map((v) => N > 0 ? v / N : NaN);
    for (let h = 0; h + 2 < L; h++) {
      out.push({
        samples: N,
        diag: mean(this.#diag[h].read()),
        studentStudent: this.matrices ? mean(this.#ss[h].read()) : null,
        studentTeacher: this.#st.length ? mean(this.#st[h].read()) : null,
      });
    }
    // Top hidden layer: V = W_topᵀ for every x.
    const top = topBeta(s, this.matrices ? this.teacher : null, this.matrices);
    out.push(top);
    return out;
  }
}

/** Buffers of {@linkcode JacobianBeta}'s sparse path. */
interface SparseBeta {
  /** W_lᵀ (bias excluded) of weight layers 1 .. L−2 (null elsewhere). */
  wt: (Mat | null)[];
  /** Vᵀ of hidden layers 0 .. L−3 at one sample (nodes × outputs). */
  vt: Mat[];
  /** Gathered rows of Vᵀ of the layer above (active nodes × outputs). */
  q: Mat;
  /** Gathered rows of W_{h+1}ᵀ (active nodes × nodes of layer h). */
  p: Mat;
  /** The active nodes' indices (i32). */
  idx: number;
  /** One sample's β_kk (a row in the instance's precision). */
  sq: Mat;
}

/** Writes the transpose of network layer l's bias-free weights into t (outputs × inputs). */
function transposeInto(net: Network, l: number, t: Mat): void {
  const k = net.kernels, fi = net.sizes[l], fo = net.sizes[l + 1];
  const w = net.weightView(l), dst = k.view(t);
  for (let i = 0; i < fi; i++) for (let o = 0; o < fo; o++) dst[o * fi + i] = w[i * fo + o];
}

/** β of the top hidden layer, where V = W_topᵀ does not depend on x. */
function topBeta(s: Network, t: Network | null, matrices: boolean): BetaLayer {
  const L = s.depth, n = s.sizes[L - 1], c = s.sizes[L];
  const ws = Float64Array.from(s.weightView(L - 1));
  const diag = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let v = 0;
    for (let o = 0; o < c; o++) v += ws[k * c + o] * ws[k * c + o];
    diag[k] = v;
  }
  const dot = (a: Float64Array, i: number, b: Float64Array, j: number) => {
    let v = 0;
    for (let o = 0; o < c; o++) v += a[i * c + o] * b[j * c + o];
    return v;
  };
  let studentStudent: Float64Array | null = null, studentTeacher: Float64Array | null = null;
  if (matrices) {
    studentStudent = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) studentStudent[i * n + j] = dot(ws, i, ws, j);
    }
    if (t) {
      const m = t.sizes[L - 1], wt = Float64Array.from(t.weightView(L - 1));
      studentTeacher = new Float64Array(n * m);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++) studentTeacher[i * m + j] = dot(ws, i, wt, j);
      }
    }
  }
  return { samples: 0, diag, studentStudent, studentTeacher };
}

/**
 * Boundary observability of one layer: counts over the data of samples where teacher j and
 * student k are both active, and where teacher j is inactive and student k active; obs is their
 * minimum (teachers × students). Activity comes from the forward pass's gates (1 active, slope
 * inactive).
 *
 * @example
 * ```ts
 * import { Kernels, ObservabilityAccumulator } from "@specialize/specialize";
 * const k = new Kernels("f64");
 * const gt = k.alloc(4, 1), gs = k.alloc(4, 1);
 * k.view(gt).set([1, 1, 0, 0]);
 * k.view(gs).set([1, 0, 1, 1]);
 * const obs = new ObservabilityAccumulator(k, { teachers: 1, students: 1, chunkRows: 4 });
 * obs.add(gt, gs);
 * console.log(obs.result()); // [1]: both active once, teacher off and student on twice
 * ```
 */
export class ObservabilityAccumulator {
  /** Teacher nodes. */
  readonly teachers: number;
  /** Student nodes. */
  readonly students: number;
  readonly #k: Kernels;
  readonly #slope: number;
  readonly #chunkRows: number;
  readonly #slopeT: Mat | null;
  readonly #slopeS: Mat | null;
  readonly #indT: Mat | null;
  readonly #indS: Mat | null;
  readonly #both: F64Accumulator;
  readonly #activeS: F64Accumulator;

  /** Allocates the accumulators; `slope` is the leaky-ReLU slope of both networks. */
  constructor(
    k: Kernels,
    opts: { teachers: number; students: number; chunkRows: number; slope?: number },
  ) {
    this.#k = k;
    this.teachers = opts.teachers;
    this.students = opts.students;
    this.#slope = opts.slope ?? 0;
    this.#chunkRows = opts.chunkRows;
    if (this.#slope !== 0) {
      this.#slopeT = k.alloc(opts.chunkRows, opts.teachers);
      this.#slopeS = k.alloc(opts.chunkRows, opts.students);
      k.view(this.#slopeT).fill(this.#slope);
      k.view(this.#slopeS).fill(this.#slope);
      this.#indT = k.alloc(opts.chunkRows, opts.teachers);
      this.#indS = k.alloc(opts.chunkRows, opts.students);
    } else {
      this.#slopeT =
        this.#slopeS =
        this.#indT =
        this.#indS =
          null;
    }
    this.#both = new F64Accumulator(k, opts.teachers, opts.students);
    this.#activeS = new F64Accumulator(k, 1, opts.students);
  }

  /** Forgets every sample. */
  reset(): void {
    this.#both.reset();
    this.#activeS.reset();
  }

  #indicator(gate: Mat, ind: Mat | null, fill: Mat | null): Mat {
    if (ind === null || fill === null) return gate; // ReLU gates are already 0/1
    const k = this.#k, rows = gate.rows;
    const out = k.rowsOf(ind, 0, rows);
    k.sub(gate, k.rowsOf(fill, 0, rows), out);
    k.scale(out, 1 / (1 - this.#slope));
    return out;
  }

  /** Adds chunks of teacher gates (rows × teachers) and student gates (rows × students). */
  add(teacherGates: Mat, studentGates: Mat): void {
    const k = this.#k;
    for (let start = 0; start < teacherGates.rows; start += this.#chunkRows) {
      const rows = Math.min(this.#chunkRows, teacherGates.rows - start);
      const it = this.#indicator(k.rowsOf(teacherGates, start, rows), this.#indT, this.#slopeT);
      const is = this.#indicator(k.rowsOf(studentGates, start, rows), this.#indS, this.#slopeS);
      this.#both.matmulTN(it, is);
      this.#activeS.colSums(is);
      this.#both.flush();
      this.#activeS.flush();
    }
  }

  /** obs(j, k), teachers × students. */
  result(): Float64Array {
    const both = this.#both.read(), active = this.#activeS.read(), n = this.students;
    return both.map((b, i) => {
      const bb = Math.round(b);
      return Math.min(bb, Math.round(active[i % n]) - bb);
    });
  }
}
