/**
 * The SIMD peak probe (assembly/peak.ts) against what it must return: every "% of peak" figure of
 * the benches divides by the FLOPs it claims, so a probe that skipped its work (or returned 0)
 * must fail here. Each of its 12 chains starts at add·(k+1) and iterates x ← x·mul + add (a
 * multiply, then a separately rounded add) in every lane, so:
 * - for a few iterations the result is reproduced bit for bit by the same arithmetic in plain TS
 *   (f32 through Math.fround after every operation: the product and the sum of two f32 values are
 *   exact in f64, so rounding once to f32 gives the f32 result);
 * - for the bench's iteration count it matches the closed form
 *   x_n = mul^n·x_0 + add·(1 − mul^n)/(1 − mul), summed over chains and lanes.
 */
import { Kernels, type Precision } from "../src/kernels.ts";
import { PEAK_ITERS } from "../bench/_timing.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";

/** The probe's constants (src/kernels.ts `peak`). */
const MUL = 0.999, ADD = 0.001, CHAINS = 12;
const LANES: Record<Precision, number> = { f32: 4, f64: 2 };

/** The probe's arithmetic in plain TS, rounding like the precision. */
function emulate(precision: Precision, iters: number): number {
  const r = precision === "f32" ? Math.fround : (x: number) => x;
  const m = r(MUL), a = r(ADD);
  const x = Array.from({ length: CHAINS }, (_, k) => r(a * (k + 1)));
  for (let i = 0; i < iters; i++) {
    for (let k = 0; k < CHAINS; k++) x[k] = r(r(x[k] * m) + a);
  }
  const add = (u: number, v: number) => r(u + v);
  // the probe's summation tree: ((x0+x1)+(x2+x3))+(x4+x5), ((x6+x7)+(x8+x9))+(x10+x11)
  const half = (o: number) =>
    add(add(add(x[o], x[o + 1]), add(x[o + 2], x[o + 3])), add(x[o + 4], x[o + 5]));
  const lane = add(half(0), half(6));
  let s = lane;
  for (let l = 1; l < LANES[precision]; l++) s = add(s, lane);
  return s;
}

/** The closed form of the probe's result after n iterations (exact arithmetic). */
function closedForm(precision: Precision, n: number): number {
  const mn = Math.pow(MUL, n), fixed = ADD / (1 - MUL);
  let s = 0;
  for (let k = 0; k < CHAINS; k++) s += mn * ADD * (k + 1) + fixed * (1 - mn);
  return s * LANES[precision];
}

for (const precision of ["f32", "f64"] as const) {
  Deno.test(`peak probe ${precision}: bit-exact for a few iterations, closed form at the bench's count`, () => {
    const k = new Kernels(precision);
    assertEquals(k.peakFlopsPerIter, CHAINS * 2 * LANES[precision]);
    for (const n of [0, 1, 2, 7, 1000]) {
      assertEquals(k.peak(n), emulate(precision, n), `${n} iterations`);
    }
    const tol = precision === "f32" ? 1e-3 : 1e-9;
    for (const n of [1000, PEAK_ITERS]) {
      const want = closedForm(precision, n);
      assertAlmostEquals(k.peak(n), want, tol * want, `${n} iterations`);
    }
    // the result depends on the iteration count (the loop ran): 1000 iterations move the chains
    // well away from both their start and their fixed point
    const start = closedForm(precision, 0), at1000 = closedForm(precision, 1000);
    const fixedPoint = CHAINS * LANES[precision] * ADD / (1 - MUL);
    assertOk(at1000 > 10 * start && at1000 < 0.9 * fixedPoint, `${start} → ${at1000}`);
  });
}
