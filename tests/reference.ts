/**
 * Plain-TypeScript reference of every WASM kernel (computed in f64 from the same, already rounded
 * inputs) and the table of kernels that drives both `tests/kernels_test.ts` and
 * `bench/kernels_bench.ts`.
 *
 * Layout: dense row-major throughout; a matmul shape is [m, k, n] (C is m×n, the shared dimension
 * is k), an elementwise or reduction shape is [rows, cols].
 *
 * @module
 */
import type { Kernels, Mat } from "../src/kernels.ts";

// ---------------------------------------------------------------------------------------------
// Reference kernels. Each returns the expected outputs and, per output element, a magnitude
// (Σ|terms|) against which the rounding error of the WASM result is judged.

/** Reference output with per-element magnitudes. */
export interface Expected {
  /** Expected values, f64. */
  readonly values: Float64Array;
  /** Σ of the absolute values of the terms of each element (scale of its rounding error). */
  readonly magnitude: Float64Array;
}

/** Matmul variant: nn C = A·B, nt C = A·Bᵀ, tn C = Aᵀ·B. */
export type MatmulMode = "nn" | "nt" | "tn";

/** C (+)= op(A)·op(B) for a [m, k, n] shape; c0 (m×n) is added when given. */
export function refMatmul(
  mode: MatmulMode,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  c0: ArrayLike<number> | null,
): Expected {
  const values = new Float64Array(m * n);
  const magnitude = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = c0 ? c0[i * n + j] : 0;
      let mag = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const av = mode === "tn" ? a[p * m + i] : a[i * k + p];
        const bv = mode === "nt" ? b[j * k + p] : b[p * n + j];
        s += av * bv;
        mag += Math.abs(av * bv);
      }
      values[i * n + j] = s;
      magnitude[i * n + j] = mag;
    }
  }
  return { values, magnitude };
}

/** Leaky ReLU forward: [y, gate] concatenated. */
export function refReluForward(x: ArrayLike<number>, slope: number): Expected {
  const len = x.length;
  const values = new Float64Array(2 * len);
  const magnitude = new Float64Array(2 * len);
  for (let i = 0; i < len; i++) {
    const pos = x[i] > 0;
    values[i] = pos ? x[i] : slope * x[i];
    values[len + i] = pos ? 1 : slope;
    magnitude[i] = Math.abs(values[i]);
    magnitude[len + i] = Math.abs(values[len + i]);
  }
  return { values, magnitude };
}

/** Elementwise binary operation. */
export function refElementwise(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  op: (x: number, y: number) => number,
): Expected {
  const values = new Float64Array(a.length);
  const magnitude = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    values[i] = op(a[i], b[i]);
    magnitude[i] = Math.abs(a[i]) + Math.abs(b[i]) + Math.abs(values[i]);
  }
  return { values, magnitude };
}

/** Σ a². */
export function refSumsq(a: ArrayLike<number>): Expected {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return { values: Float64Array.of(s), magnitude: Float64Array.of(s) };
}

/** SGD update: [w', v'] concatenated (v' = v when momentum is 0). */
export function refSgdUpdate(
  w: ArrayLike<number>,
  g: ArrayLike<number>,
  v: ArrayLike<number>,
  lr: number,
  momentum: number,
  weightDecay: number,
): Expected {
  const len = w.length;
  const values = new Float64Array(2 * len);
  const magnitude = new Float64Array(2 * len);
  for (let i = 0; i < len; i++) {
    const gp = g[i] + weightDecay * w[i];
    const gpMag = Math.abs(g[i]) + Math.abs(weightDecay * w[i]);
    if (momentum !== 0) {
      const vv = momentum * v[i] + gp;
      const vMag = Math.abs(momentum * v[i]) + gpMag;
      values[i] = w[i] - lr * vv;
      magnitude[i] = Math.abs(w[i]) + Math.abs(lr) * vMag;
      values[len + i] = vv;
      magnitude[len + i] = vMag;
    } else {
      values[i] = w[i] - lr * gp;
      magnitude[i] = Math.abs(w[i]) + Math.abs(lr) * gpMag;
      values[len + i] = v[i];
      magnitude[len + i] = Math.abs(v[i]);
    }
  }
  return { values, magnitude };
}

/** First index of the largest value of row r (rows of c values). */
function refArgmaxRow(a: ArrayLike<number>, r: number, c: number): number {
  let at = 0;
  for (let j = 1; j < c; j++) if (a[r * c + j] > a[r * c + at]) at = j;
  return at;
}

/**
 * Softmax cross-entropy against the arg-max class of y: [Σ loss, delta...] where per row
 * loss = log Σ exp(o) − o_class and delta = softmax(o) − onehot(class).
 */
export function refCrossEntropy(o: ArrayLike<number>, y: ArrayLike<number>, c: number): Expected {
  const rows = o.length / c;
  const values = new Float64Array(1 + o.length), magnitude = new Float64Array(1 + o.length);
  let total = 0, totalMag = 0;
  for (let r = 0; r < rows; r++) {
    const cls = refArgmaxRow(y, r, c);
    let mx = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, o[r * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(o[r * c + j] - mx);
    for (let j = 0; j < c; j++) {
      const p = Math.exp(o[r * c + j] - mx) / s;
      values[1 + r * c + j] = j === cls ? p - 1 : p;
      magnitude[1 + r * c + j] = 1;
    }
    const loss = Math.log(s) + mx - o[r * c + cls];
    total += loss;
    totalMag += Math.abs(Math.log(s)) + Math.abs(mx) + Math.abs(o[r * c + cls]);
  }
  values[0] = total;
  magnitude[0] = totalMag;
  return { values, magnitude };
}

/** Rows whose arg-max agrees between a and b. */
export function refArgmaxAgree(a: ArrayLike<number>, b: ArrayLike<number>, c: number): Expected {
  let n = 0;
  for (let r = 0; r < a.length / c; r++) if (refArgmaxRow(a, r, c) === refArgmaxRow(b, r, c)) n++;
  return { values: Float64Array.of(n), magnitude: Float64Array.of(0) };
}

/**
 * PyTorch's Adam step (torch.optim.Adam, amsgrad off, L2 weight decay) in f64: [w', m', v']
 * concatenated. `r` rounds the hyper-parameters as the kernel does (Math.fround for f32).
 */
export function refAdamUpdate(
  w: ArrayLike<number>,
  g: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  p: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number },
  r: (x: number) => number = (x) => x,
): Expected {
  const len = w.length;
  const values = new Float64Array(3 * len), magnitude = new Float64Array(3 * len);
  const stepSize = r(p.lr / (1 - p.beta1 ** p.step));
  const bc2 = r(Math.sqrt(1 - p.beta2 ** p.step));
  const a1 = r(1 - p.beta1), b2 = r(p.beta2), a2 = r(1 - p.beta2);
  const wd = r(p.weightDecay), eps = r(p.eps);
  for (let i = 0; i < len; i++) {
    const gp = g[i] + wd * w[i];
    const gMag = Math.abs(g[i]) + Math.abs(wd * w[i]);
    const mm = m[i] + a1 * (gp - m[i]);
    const vv = v[i] * b2 + a2 * gp * gp;
    const den = Math.sqrt(vv) / bc2 + eps;
    const upd = stepSize * mm / den;
    values[i] = w[i] - upd;
    magnitude[i] = Math.abs(w[i]) + Math.abs(upd) * (1 + gMag);
    values[len + i] = mm;
    magnitude[len + i] = Math.abs(m[i]) + a1 * (Math.abs(m[i]) + gMag);
    values[2 * len + i] = vv;
    magnitude[2 * len + i] = Math.abs(v[i]) + a2 * gMag * gMag;
  }
  return { values, magnitude };
}

/** dst row r := src row idx[r]. */
export function refGatherRows(src: ArrayLike<number>, idx: ArrayLike<number>, n: number): Expected {
  const values = new Float64Array(idx.length * n);
  for (let r = 0; r < idx.length; r++) {
    for (let j = 0; j < n; j++) values[r * n + j] = src[idx[r] * n + j];
  }
  return { values, magnitude: values.map(Math.abs) };
}

/** Every row of an m×n matrix := row. */
export function refFillRows(row: ArrayLike<number>, m: number): Expected {
  const n = row.length;
  const values = new Float64Array(m * n);
  for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) values[r * n + j] = row[j];
  return { values, magnitude: values.map(Math.abs) };
}

/** out[j] (+)= Σ_i f(A[i,j]) with f the identity or the square; out0 added when given. */
export function refColSums(
  a: ArrayLike<number>,
  m: number,
  n: number,
  squared: boolean,
  out0: ArrayLike<number> | null,
): Expected {
  const values = new Float64Array(n);
  const magnitude = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = out0 ? out0[j] : 0;
    let mag = Math.abs(s);
    for (let i = 0; i < m; i++) {
      const x = squared ? a[i * n + j] * a[i * n + j] : a[i * n + j];
      s += x;
      mag += Math.abs(x);
    }
    values[j] = s;
    magnitude[j] = mag;
  }
  return { values, magnitude };
}

/** out[i] = Σ_j A[i,j]². */
export function refRowSumsq(a: ArrayLike<number>, m: number, n: number): Expected {
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] * a[i * n + j];
    values[i] = s;
  }
  return { values, magnitude: values.slice() };
}

// ---------------------------------------------------------------------------------------------
// The kernel table.

/** A deterministic uniform generator on [-1, 1) (mulberry32). */
export function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** One prepared call of a kernel on freshly allocated, random inputs. */
export interface PreparedCase {
  /** Runs the WASM kernel once (pure pointer call, no allocation). */
  run(): void;
  /** The WASM outputs (as f64) after `run`. */
  actual(): Float64Array;
  /** The reference outputs for the inputs as they were before the first `run`. */
  expected(): Expected;
}

/** A kernel of the table: its shapes and how to prepare a call. */
export interface KernelCase {
  /** Name of the wrapper method. */
  readonly name: string;
  /** Shapes used by the tests. */
  readonly shapes: readonly number[][];
  /** Shapes used by the benchmarks. */
  readonly benchShapes: readonly number[][];
  /** Whether the kernel has an accumulate flag. */
  readonly accumulates: boolean;
  /** Floating-point operations of one call (for GFLOP/s), or 0 for data-movement kernels. */
  flops(shape: readonly number[]): number;
  /** Allocates random inputs in `k` and returns the prepared call. */
  prepare(
    k: Kernels,
    shape: readonly number[],
    accumulate: boolean,
    rng: () => number,
  ): PreparedCase;
}

function random(k: Kernels, rows: number, cols: number, rng: () => number): Mat {
  const m = k.alloc(rows, cols);
  const v = k.view(m);
  for (let i = 0; i < v.length; i++) v[i] = rng();
  return m;
}

function snap(k: Kernels, m: Mat): Float64Array {
  return Float64Array.from(k.view(m));
}

const MATMUL_SHAPES: number[][] = [
  [1, 1, 1],
  [1, 3, 5],
  [3, 5, 1],
  [5, 17, 3],
  [4, 8, 8],
  [17, 33, 5],
  [33, 17, 19],
  [16, 101, 200],
  [16, 50, 200],
  [101, 16, 200],
  [64, 70, 130],
  // ≥ the packing block sizes: several k blocks (KC = 256) and column blocks (NC = 256 / 128).
  [37, 300, 270],
];
const EW_SHAPES: number[][] = [[1, 1], [1, 3], [5, 1], [3, 5], [17, 17], [33, 7], [8, 8], [
  64,
  130,
]];

function matmulCase(mode: MatmulMode, benchShapes: number[][]): KernelCase {
  const name = mode === "nn" ? "matmulNN" : mode === "nt" ? "matmulNT" : "matmulTN";
  return {
    name,
    shapes: MATMUL_SHAPES,
    benchShapes,
    accumulates: true,
    flops: ([m, k, n]) => 2 * m * k * n,
    prepare(kern, [m, k, n], accumulate, rng) {
      const a = mode === "tn" ? random(kern, k, m, rng) : random(kern, m, k, rng);
      const b = mode === "nt" ? random(kern, n, k, rng) : random(kern, k, n, rng);
      const c = random(kern, m, n, rng);
      const [as, bs, cs] = [snap(kern, a), snap(kern, b), snap(kern, c)];
      const fn = mode === "nn"
        ? kern.matmulNN.bind(kern)
        : mode === "nt"
        ? kern.matmulNT.bind(kern)
        : kern.matmulTN.bind(kern);
      return {
        run: () => fn(a, b, c, accumulate),
        actual: () => snap(kern, c),
        expected: () => refMatmul(mode, as, bs, m, k, n, accumulate ? cs : null),
      };
    },
  };
}

/** Every kernel of `Kernels`, with test and bench shapes. */
export const KERNEL_TABLE: readonly KernelCase[] = [
  matmulCase("nn", [[16, 101, 200], [16, 200, 50], [256, 256, 256]]),
  matmulCase("nt", [[16, 50, 200], [16, 200, 101], [256, 256, 256]]),
  matmulCase("tn", [[101, 16, 200], [200, 16, 50], [256, 256, 256]]),
  {
    name: "fillRows",
    shapes: EW_SHAPES,
    benchShapes: [[16, 200]],
    accumulates: false,
    flops: () => 0,
    prepare(kern, [m, n], _acc, rng) {
      const row = random(kern, 1, n, rng);
      const dst = random(kern, m, n, rng);
      const rs = snap(kern, row);
      return {
        run: () => kern.fillRows(dst, row.ptr),
        actual: () => snap(kern, dst),
        expected: () => refFillRows(rs, m),
      };
    },
  },
  {
    name: "reluForward",
    shapes: EW_SHAPES,
    benchShapes: [[16, 200]],
    accumulates: false,
    flops: ([m, n]) => m * n,
    prepare(kern, [m, n], _acc, rng) {
      const x = random(kern, m, n, rng);
      const y = kern.alloc(m, n), gate = kern.alloc(m, n);
      const xs = snap(kern, x);
      return {
        run: () => kern.reluForward(x, y, gate, 0.1),
        actual: () => Float64Array.from([...kern.view(y), ...kern.view(gate)]),
        expected: () => refReluForward(xs, kern.precision === "f32" ? Math.fround(0.1) : 0.1),
      };
    },
  },
  {
    name: "reluBackward",
    shapes: EW_SHAPES,
    benchShapes: [[16, 200]],
    accumulates: false,
    flops: ([m, n]) => m * n,
    prepare(kern, [m, n], _acc, rng) {
      const dy = random(kern, m, n, rng), gate = random(kern, m, n, rng);
      const dx = kern.alloc(m, n);
      const [ds, gs] = [snap(kern, dy), snap(kern, gate)];
      return {
        run: () => kern.reluBackward(dy, gate, dx),
        actual: () => snap(kern, dx),
        expected: () => refElementwise(ds, gs, (p, q) => p * q),
      };
    },
  },
  {
    name: "sub",
    shapes: EW_SHAPES,
    benchShapes: [[16, 50]],
    accumulates: false,
    flops: ([m, n]) => m * n,
    prepare(kern, [m, n], _acc, rng) {
      const a = random(kern, m, n, rng), b = random(kern, m, n, rng);
      const out = kern.alloc(m, n);
      const [as, bs] = [snap(kern, a), snap(kern, b)];
      return {
        run: () => kern.sub(a, b, out),
        actual: () => snap(kern, out),
        expected: () => refElementwise(as, bs, (p, q) => p - q),
      };
    },
  },
  {
    name: "sumsq",
    shapes: EW_SHAPES,
    benchShapes: [[16, 50], [101, 200]],
    accumulates: false,
    flops: ([m, n]) => 2 * m * n,
    prepare(kern, [m, n], _acc, rng) {
      const a = random(kern, m, n, rng);
      const as = snap(kern, a);
      let result = NaN;
      return {
        run: () => {
          result = kern.sumsq(a);
        },
        actual: () => Float64Array.of(result),
        expected: () => refSumsq(as),
      };
    },
  },
  {
    name: "scale",
    shapes: EW_SHAPES,
    benchShapes: [[101, 200]],
    accumulates: false,
    flops: ([m, n]) => m * n,
    prepare(kern, [m, n], _acc, rng) {
      const a = random(kern, m, n, rng);
      const as = snap(kern, a);
      const alpha = kern.precision === "f32" ? Math.fround(0.37) : 0.37;
      return {
        run: () => kern.scale(a, 0.37),
        actual: () => snap(kern, a),
        expected: () => refElementwise(as, as, (p) => p * alpha),
      };
    },
  },
  {
    name: "sgdUpdate",
    shapes: EW_SHAPES,
    benchShapes: [[101, 200]],
    // accumulate = true selects the momentum variant.
    accumulates: true,
    flops: ([m, n]) => 6 * m * n,
    prepare(kern, [m, n], momentum, rng) {
      const w = random(kern, m, n, rng), g = random(kern, m, n, rng), v = random(kern, m, n, rng);
      const [ws, gs, vs] = [snap(kern, w), snap(kern, g), snap(kern, v)];
      const r = (x: number) => kern.precision === "f32" ? Math.fround(x) : x;
      const mom = momentum ? 0.9 : 0;
      return {
        run: () => kern.sgdUpdate(w, g, momentum ? v : null, 0.05, mom, 1e-3),
        actual: () => Float64Array.from([...kern.view(w), ...kern.view(v)]),
        expected: () => refSgdUpdate(ws, gs, vs, r(0.05), r(mom), r(1e-3)),
      };
    },
  },
  {
    name: "crossEntropy",
    shapes: EW_SHAPES,
    benchShapes: [[64, 100]],
    accumulates: false,
    flops: ([m, n]) => 8 * m * n,
    prepare(kern, [m, n], _acc, rng) {
      const o = random(kern, m, n, rng), y = random(kern, m, n, rng);
      const vo = kern.view(o);
      for (let i = 0; i < vo.length; i++) vo[i] *= 20; // logits far apart: large exp ranges
      const delta = kern.alloc(m, n);
      const [os, ys] = [snap(kern, o), snap(kern, y)];
      let loss = NaN;
      return {
        run: () => {
          loss = kern.crossEntropy(o, y, delta);
        },
        actual: () => Float64Array.from([loss, ...kern.view(delta)]),
        expected: () => refCrossEntropy(os, ys, n),
      };
    },
  },
  {
    name: "argmaxAgree",
    shapes: EW_SHAPES,
    benchShapes: [[64, 100]],
    accumulates: false,
    flops: ([m, n]) => 2 * m * n,
    prepare(kern, [m, n], _acc, rng) {
      const a = random(kern, m, n, rng), b = random(kern, m, n, rng);
      // half of the rows of b copy a, so both outcomes occur
      const va = kern.view(a), vb = kern.view(b);
      for (let r = 0; r < m; r += 2) for (let j = 0; j < n; j++) vb[r * n + j] = va[r * n + j];
      const [as, bs] = [snap(kern, a), snap(kern, b)];
      let agree = NaN;
      return {
        run: () => {
          agree = kern.argmaxAgree(a, b);
        },
        actual: () => Float64Array.of(agree),
        expected: () => refArgmaxAgree(as, bs, n),
      };
    },
  },
  {
    name: "adamUpdate",
    shapes: EW_SHAPES,
    benchShapes: [[101, 200]],
    // accumulate = true selects weight decay and a later step.
    accumulates: true,
    flops: ([m, n]) => 12 * m * n,
    prepare(kern, [m, n], decay, rng) {
      const w = random(kern, m, n, rng), g = random(kern, m, n, rng);
      const mo = random(kern, m, n, rng), v = random(kern, m, n, rng);
      const vv = kern.view(v);
      for (let i = 0; i < vv.length; i++) vv[i] = Math.abs(vv[i]) * 0.1;
      const snaps = [w, g, mo, v].map((x) => snap(kern, x));
      const r = (x: number) => kern.precision === "f32" ? Math.fround(x) : x;
      const p = {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: decay ? 0.05 : 0,
        step: decay ? 7 : 1,
      };
      return {
        run: () => kern.adamUpdate(w, g, mo, v, p),
        actual: () => Float64Array.from([...kern.view(w), ...kern.view(mo), ...kern.view(v)]),
        expected: () => refAdamUpdate(snaps[0], snaps[1], snaps[2], snaps[3], p, r),
      };
    },
  },
  {
    name: "gatherRows",
    shapes: EW_SHAPES,
    benchShapes: [[16, 101]],
    accumulates: false,
    flops: () => 0,
    prepare(kern, [m, n], _acc, rng) {
      const srcRows = m + 3;
      const src = random(kern, srcRows, n, rng);
      const idxPtr = kern.allocI32(m);
      const is = Int32Array.from({ length: m }, () => Math.floor((rng() + 1) / 2 * srcRows));
      kern.viewI32(idxPtr, m).set(is);
      const dst = kern.alloc(m, n);
      const ss = snap(kern, src);
      return {
        run: () => kern.gatherRows(src, idxPtr, dst),
        actual: () => snap(kern, dst),
        expected: () => refGatherRows(ss, is, n),
      };
    },
  },
  ...(["colSums", "colSumsq"] as const).map((name): KernelCase => ({
    name,
    shapes: EW_SHAPES,
    benchShapes: [[16, 200]],
    accumulates: true,
    flops: ([m, n]) => (name === "colSums" ? 1 : 2) * m * n,
    prepare(kern, [m, n], accumulate, rng) {
      const a = random(kern, m, n, rng);
      const out = random(kern, 1, n, rng);
      const [as, os] = [snap(kern, a), snap(kern, out)];
      return {
        run: () => kern[name](a, out.ptr, accumulate),
        actual: () => snap(kern, out),
        expected: () => refColSums(as, m, n, name === "colSumsq", accumulate ? os : null),
      };
    },
  })),
  {
    name: "rowSumsq",
    shapes: EW_SHAPES,
    benchShapes: [[200, 101]],
    accumulates: false,
    flops: ([m, n]) => 2 * m * n,
    prepare(kern, [m, n], _acc, rng) {
      const a = random(kern, m, n, rng);
      const out = kern.alloc(1, m);
      const as = snap(kern, a);
      return {
        run: () => kern.rowSumsq(a, out.ptr),
        actual: () => snap(kern, out),
        expected: () => refRowSumsq(as, m, n),
      };
    },
  },
  {
    name: "accIntoF64",
    shapes: EW_SHAPES,
    benchShapes: [[101, 200]],
    accumulates: false,
    flops: ([m, n]) => m * n,
    prepare(kern, [m, n], _acc, rng) {
      const src = random(kern, m, n, rng);
      const len = m * n;
      const dst = kern.allocF64(len);
      const dv = kern.viewF64(dst, len);
      for (let i = 0; i < len; i++) dv[i] = rng();
      const [ss, ds] = [snap(kern, src), Float64Array.from(dv)];
      return {
        run: () => kern.accIntoF64(src.ptr, dst, len),
        actual: () => Float64Array.from(kern.viewF64(dst, len)),
        expected: () => refElementwise(ds, ss, (p, q) => p + q),
      };
    },
  },
];
