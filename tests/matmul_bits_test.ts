/**
 * Every matrix product gives, bit for bit, the sequential sum of its documented order: each
 * element of C is ((c₀ + a₀·b₀) + a₁·b₁) + … in k order, every product and every sum rounded to
 * the precision, c₀ being zero, C itself (accumulate) or the bias; then the leaky ReLU or the gate.
 * The plain-TS sums below are that order (Math.fround after each operation in f32), so any
 * blocking, packing, edge handling or skipping of zero terms that changed one element's bits fails
 * here. Inputs: awkward shapes (edges in every direction, one and several k blocks, thin and wide)
 * and A with about half of its elements zero (ReLU outputs are; +0 and −0 mixed, one row all
 * zero), both precisions; then the cases where skipping a zero term would change the bits (a −0
 * bias, an infinite or NaN weight) and must not be taken.
 */
import { Kernels, type Mat, type Precision } from "../src/kernels.ts";
import { assertEquals } from "./assert.ts";
import { makeRng } from "./reference.ts";

const PRECISIONS: readonly Precision[] = ["f32", "f64"];
/** [m, k, n] as used: op(A) m×k, op(B) k×n. */
const SHAPES: readonly number[][] = [
  [1, 1, 1],
  [1, 3, 5],
  [3, 5, 1],
  [5, 17, 3],
  [4, 8, 8],
  [17, 33, 5],
  [16, 200, 50],
  [16, 100, 200],
  [200, 16, 50],
  [100, 16, 200],
  [33, 17, 19],
  [64, 70, 130],
  [37, 300, 270],
  [2, 513, 41],
  [70, 500, 270], // zero-skipping in groups of rows (k blocks 256, 244 × 270 columns > 256 KiB)
];
type Mode = "nn" | "nt" | "tn";
const MODES: readonly Mode[] = ["nn", "nt", "tn"];

/** [m, k, n] of products large enough (≥ 2¹⁹ multiply-adds) to be split over threads: into
 * column ranges, or row ranges from 256 rows (261: a partial register block); one and several k
 * blocks; zero-skipping row by row and in groups of rows. */
const SPLIT_SHAPES: readonly (readonly [number, number, number])[] = [
  [64, 70, 130],
  [37, 300, 270],
  [64, 200, 250],
  [261, 300, 270],
  [64, 300, 1100],
];

/** Values of A: about half zeros (+0 and −0), row `zeroRow` of op(A) all zero. */
function fillA(
  v: Float32Array | Float64Array,
  mode: Mode,
  m: number,
  k: number,
  rng: () => number,
) {
  const zeroRow = Math.floor(m / 2);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const r = rng();
      const x = i === zeroRow || r < 0 ? (r < -0.5 ? -0 : 0) : rng();
      v[mode === "tn" ? p * m + i : i * k + p] = x;
    }
  }
}

function fill(k: Kernels, m: Mat, rng: () => number): Float64Array {
  const v = k.view(m);
  for (let i = 0; i < v.length; i++) v[i] = rng();
  return Float64Array.from(v);
}

/** The sequential sums in k order, rounded like the kernels (f32: after every operation). */
function reference(
  precision: Precision,
  mode: Mode,
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  init: (i: number, j: number) => number,
): Float64Array {
  const r = precision === "f32" ? Math.fround : (x: number) => x;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let c = init(i, j);
      for (let p = 0; p < k; p++) {
        const av = mode === "tn" ? a[p * m + i] : a[i * k + p];
        const bv = mode === "nt" ? b[j * k + p] : b[p * n + j];
        c = r(c + r(av * bv));
      }
      out[i * n + j] = c;
    }
  }
  return out;
}

/** Bit-exact comparison (−0 ≠ +0, NaN = NaN); returns the first difference or "". */
function firstDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): string {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      const show = (x: number) => (Object.is(x, -0) ? "-0" : String(x));
      return `element ${i}: ${show(actual[i])} ≠ ${show(expected[i])}`;
    }
  }
  return "";
}

interface Operands {
  a: Mat;
  b: Mat;
  av: Float64Array;
  bv: Float64Array;
}

function operands(k: Kernels, mode: Mode, m: number, kk: number, n: number, rng: () => number) {
  const a = mode === "tn" ? k.alloc(kk, m) : k.alloc(m, kk);
  const b = mode === "nt" ? k.alloc(n, kk) : k.alloc(kk, n);
  fillA(k.view(a), mode, m, kk, rng);
  const bv = fill(k, b, rng);
  return { a, b, av: Float64Array.from(k.view(a)), bv } satisfies Operands;
}

/**
 * Runs `linear` (bias, leaky ReLU of the given slope) on fresh zero-rich operands; returns the
 * matrices it wrote beside their expected values from the sequential sums, in `{ what: [got,
 * expected] }` form, the expected gate also as `gExp` and the function that rounds to `precision`.
 */
function linearCase(
  k: Kernels,
  precision: Precision,
  [m, kk, n]: readonly number[],
  rng: () => number,
  slope: number,
) {
  const r = precision === "f32" ? Math.fround : (x: number) => x;
  const o = operands(k, "nn", m, kk, n, rng);
  const biasRow = k.alloc(1, n);
  const bias = fill(k, biasRow, rng);
  const z = k.alloc(m, n), y = k.alloc(m, n), gate = k.alloc(m, n);
  k.linear(o.a, o.b, biasRow.ptr, z, { y, gate, slope });
  const zExp = reference(precision, "nn", o.av, o.bv, m, kk, n, (_i, j) => bias[j]);
  const s = r(slope);
  const yExp = zExp.map((v) => (v > 0 ? v : r(v * s)));
  const gExp = zExp.map((v) => (v > 0 ? 1 : s));
  const outputs = { z: [z, zExp], y: [y, yExp], gate: [gate, gExp] } as const;
  return { outputs, gate, gExp, r };
}

function product(k: Kernels, mode: Mode, o: Operands, c: Mat, acc: boolean): void {
  if (mode === "nn") k.matmulNN(o.a, o.b, c, acc);
  else if (mode === "nt") k.matmulNT(o.a, o.b, c, acc);
  else k.matmulTN(o.a, o.b, c, acc);
}

for (const precision of PRECISIONS) {
  Deno.test(`matrix products are the sequential k-order sums, bit for bit (${precision})`, () => {
    const k = new Kernels(precision);
    const failures: string[] = [];
    let seed = 11;
    for (const mode of MODES) {
      for (const [m, kk, n] of SHAPES) {
        for (const acc of [false, true]) {
          const mark = k.mark();
          const rng = makeRng(seed++);
          const o = operands(k, mode, m, kk, n, rng);
          const c = k.alloc(m, n);
          const cv = fill(k, c, rng);
          product(k, mode, o, c, acc);
          const exp = reference(precision, mode, o.av, o.bv, m, kk, n, (i, j) => {
            return acc ? cv[i * n + j] : 0;
          });
          const d = firstDifference(k.view(c), exp);
          if (d) failures.push(`${mode} ${m}×${kk}×${n} accumulate=${acc}: ${d}`);
          k.release(mark);
        }
      }
    }
    assertEquals(failures, []);
  });

  Deno.test(`linear (bias, leaky ReLU) and matmulNTGated are the same sums, bit for bit (${precision})`, () => {
    const k = new Kernels(precision);
    const failures: string[] = [];
    let seed = 101;
    for (const [m, kk, n] of SHAPES) {
      for (const slope of [0, 0.1]) {
        const mark = k.mark();
        const rng = makeRng(seed++);
        const { outputs, gate, gExp, r } = linearCase(k, precision, [m, kk, n], rng, slope);
        for (const [what, [got, exp]] of Object.entries(outputs)) {
          const d = firstDifference(k.view(got), exp);
          if (d) failures.push(`linear ${what} ${m}×${kk}×${n} slope ${slope}: ${d}`);
        }
        // matmulNTGated: (A·Bᵀ)∘gate with A the zero-rich matrix (a ReLU layer's delta is).
        const o2 = operands(k, "nt", m, kk, n, rng);
        const c = k.alloc(m, n);
        k.matmulNTGated(o2.a, o2.b, gate, c);
        const cExp = reference(precision, "nt", o2.av, o2.bv, m, kk, n, () => 0)
          .map((v, i) => r(v * gExp[i]));
        const d = firstDifference(k.view(c), cExp);
        if (d) failures.push(`matmulNTGated ${m}×${kk}×${n} slope ${slope}: ${d}`);
        k.release(mark);
      }
    }
    assertEquals(failures, []);
  });

  Deno.test(`zero terms whose skipping would change the bits are summed (${precision})`, () => {
    // A −0 bias with an all-zero row of A: −0 + (+0) = +0, so the sums must really be taken; an
    // infinite or NaN element of B times a zero of A is NaN, as in the sequential sum.
    const k = new Kernels(precision);
    const failures: string[] = [];
    for (
      const [m, kk, n] of [[16, 200, 50], [5, 17, 3], [64, 70, 130], [16, 100, 200], [37, 300, 270]]
    ) {
      for (const special of [-Infinity, Infinity, NaN, "negzero-bias"] as const) {
        const mark = k.mark();
        const rng = makeRng(m + kk + n);
        const o = operands(k, "nn", m, kk, n, rng);
        const biasRow = k.alloc(1, n);
        const bias = fill(k, biasRow, rng);
        const bview = k.view(o.b);
        if (special === "negzero-bias") {
          bias.fill(-0);
          k.view(biasRow).fill(-0);
          // positive B: every skipped term of an all-zero row would be ±0 by A's sign
        } else {
          // an infinite or NaN weight in a row of B where some rows of A are zero
          const p = Math.floor(kk / 2);
          for (let j = 0; j < n; j++) bview[p * n + j] = special;
        }
        const bv = Float64Array.from(bview);
        for (const withBias of [false, true]) {
          const z = k.alloc(m, n);
          if (withBias) k.linear(o.a, o.b, biasRow.ptr, z);
          else k.matmulNN(o.a, o.b, z);
          const exp = reference(precision, "nn", o.av, bv, m, kk, n, (_i, j) => {
            return withBias ? bias[j] : 0;
          });
          const d = firstDifference(k.view(z), exp);
          if (d) failures.push(`${String(special)} ${m}×${kk}×${n} bias=${withBias}: ${d}`);
          // the same through Aᵀ·B (A stored k×m)
          const at = k.alloc(kk, m);
          const atv = k.view(at);
          for (let i = 0; i < m; i++) {
            for (let p = 0; p < kk; p++) atv[p * m + i] = o.av[i * kk + p];
          }
          const c = k.alloc(m, n);
          k.matmulTN(at, o.b, c);
          const expT = reference(precision, "nn", o.av, bv, m, kk, n, () => 0);
          const dT = firstDifference(k.view(c), expT);
          if (dT) failures.push(`tn ${String(special)} ${m}×${kk}×${n}: ${dT}`);
        }
        k.release(mark);
      }
    }
    assertEquals(failures, []);
  });
}

for (const precision of PRECISIONS) {
  Deno.test(`split over 2 and 3 threads, products on zero-rich A keep the sequential sums (${precision})`, () => {
    const failures: string[] = [];
    for (const threads of [2, 3]) {
      using k = new Kernels(precision, { threads });
      let seed = 500;
      for (const [m, kk, n] of SPLIT_SHAPES) {
        for (const mode of MODES) {
          const mark = k.mark();
          const rng = makeRng(seed++);
          const o = operands(k, mode, m, kk, n, rng);
          const c = k.alloc(m, n);
          product(k, mode, o, c, false);
          const exp = reference(precision, mode, o.av, o.bv, m, kk, n, () => 0);
          const d = firstDifference(k.view(c), exp);
          if (d) failures.push(`${threads} threads ${mode} ${m}×${kk}×${n}: ${d}`);
          k.release(mark);
        }
        const mark = k.mark();
        const { outputs } = linearCase(k, precision, [m, kk, n], makeRng(seed++), 0);
        for (const [what, [got, exp]] of Object.entries(outputs)) {
          const d = firstDifference(k.view(got), exp);
          if (d) failures.push(`${threads} threads linear ${what} ${m}×${kk}×${n}: ${d}`);
        }
        k.release(mark);
      }
      assertEquals(k.parallelCalls > 0, true);
    }
    assertEquals(failures, []);
  });
}
