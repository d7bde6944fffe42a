/**
 * The population formulas of src/population.ts, each checked two ways: against Monte Carlo with
 * 10⁶ samples (within 4 standard errors), against the zero-bias arc-cosine kernel, against exact
 * one-dimensional integrals at ρ = ±1, and the gradient against central finite differences of
 * the analytic loss.
 * @module
 */

import { newReluPair, Population, populationMse, reluPair, reluUnit } from "../src/population.ts";
import { Rng } from "../src/rng.ts";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "./assert.ts";

const SAMPLES = 1_000_000;

/** Streaming mean and standard error (sums in f64; the values here are O(1)). */
class Acc {
  n = 0;
  s = 0;
  s2 = 0;
  add(v: number): void {
    this.n++;
    this.s += v;
    this.s2 += v * v;
  }
  get mean(): number {
    return this.s / this.n;
  }
  get se(): number {
    const m = this.mean;
    return Math.sqrt(Math.max(0, this.s2 / this.n - m * m) / (this.n - 1));
  }
}

function assertWithinSe(got: number, mc: Acc, what: string) {
  const tol = 4 * mc.se + 1e-12;
  assertAlmostEquals(got, mc.mean, tol, `${what} (Monte Carlo ${mc.mean} ± ${mc.se})`);
}

const dot = (x: number[], y: number[]) => x.reduce((s, xi, i) => s + xi * y[i], 0);
const relu = (z: number) => (z > 0 ? z : 0);

/** Pairs of units (a, α), (c, γ) in d = 3, of every sign pattern and correlation range. */
const PAIRS: { name: string; a: number[]; al: number; c: number[]; ga: number }[] = [
  {
    name: "weak correlation, mixed biases",
    a: [1, 0.2, -0.5],
    al: 0.3,
    c: [-0.2, 1, 0.4],
    ga: -0.7,
  },
  { name: "strong positive", a: [1, 0.5, 0], al: -0.4, c: [0.9, 0.6, 0.1], ga: 0.2 },
  { name: "strong negative", a: [1, -0.5, 0.3], al: 0.5, c: [-1.1, 0.45, -0.2], ga: 0.8 },
  { name: "mostly off", a: [0.3, 0.1, 0.2], al: -1.2, c: [0.1, -0.4, 0.2], ga: -0.1 },
  { name: "zero biases", a: [0.5, 0.5, 0.5], al: 0, c: [1, -1, 0.3], ga: 0 },
];

Deno.test("reluPair: every moment and the Stein gradient against Monte Carlo (10⁶ samples, 4 SE)", () => {
  const sigma = 1.5, d = 3;
  const rng = new Rng(7);
  const x = new Float64Array(SAMPLES * d);
  rng.fillNormal(x, sigma);
  for (const { name, a, al, c, ga } of PAIRS) {
    const acc = () => new Acc();
    const f = {
      mean: acc(),
      m: acc(),
      both: acc(),
      gUV: acc(),
      gVU: acc(),
      x: [acc(), acc(), acc()],
    };
    const u = reluUnit(sigma * Math.sqrt(dot(a, a)), al);
    const v = reluUnit(sigma * Math.sqrt(dot(c, c)), ga);
    const rho = (sigma * sigma * dot(a, c)) / (u.s * v.s);
    const p = reluPair(u, v, rho);
    const [a0, a1, a2] = a, [c0, c1, c2] = c;
    for (let n = 0; n < SAMPLES; n++) {
      const x0 = x[n * 3], x1 = x[n * 3 + 1], x2 = x[n * 3 + 2];
      const zu = a0 * x0 + a1 * x1 + a2 * x2 + al, zv = c0 * x0 + c1 * x1 + c2 * x2 + ga;
      const ru = zu > 0 ? zu : 0, rv = zv > 0 ? zv : 0, onU = zu > 0 ? 1 : 0;
      f.mean.add(ru);
      f.m.add(ru * rv);
      f.both.add(onU * (zv > 0 ? 1 : 0));
      f.gUV.add(onU * rv);
      f.gVU.add(zv > 0 ? ru : 0);
      f.x[0].add(x0 * onU * rv);
      f.x[1].add(x1 * onU * rv);
      f.x[2].add(x2 * onU * rv);
    }
    assertWithinSe(u.mean, f.mean, `${name}: E relu(u)`);
    assertWithinSe(p.m, f.m, `${name}: E relu(u) relu(v)`);
    assertWithinSe(p.pBoth, f.both, `${name}: P(u > 0, v > 0)`);
    assertWithinSe(p.gUV, f.gUV, `${name}: E 1(u > 0) relu(v)`);
    assertWithinSe(p.gVU, f.gVU, `${name}: E 1(v > 0) relu(u)`);
    for (let i = 0; i < d; i++) {
      const exact = sigma * sigma * (c[i] * p.pBoth + a[i] * p.dUV);
      assertWithinSe(exact, f.x[i], `${name}: E x_${i} 1(u > 0) relu(v)`);
    }
  }
});

Deno.test("reluPair: zero biases give Cho & Saul's arc-cosine kernel and Tian's gradient", () => {
  for (const [su, sv] of [[1, 1], [0.3, 2.5], [1.5, 0.01]]) {
    for (let i = -20; i <= 20; i++) {
      const rho = i / 20.5, theta = Math.acos(rho);
      const p = reluPair(reluUnit(su, 0), reluUnit(sv, 0), rho);
      const k = (su * sv) / (2 * Math.PI) * (Math.sin(theta) + (Math.PI - theta) * Math.cos(theta));
      assertAlmostEquals(p.m, k, 1e-15 * su * sv, `arc-cosine at ρ = ${rho}`);
      // Tian (2017): E[x 1(u>0) relu(v)] = σ²/(2π)[(π − θ) c + a (s_v/s_u) sin θ] for σ = 1.
      assertAlmostEquals(p.pBoth, (Math.PI - theta) / (2 * Math.PI), 1e-15);
      assertAlmostEquals(p.dUV, (sv / su) * Math.sin(theta) / (2 * Math.PI), 1e-14 * sv / su);
    }
  }
});

/** E[f(Z)] for a standard normal Z by composite Simpson on [−12, 12] (kinks on grid points). */
function integrate1d(f: (z: number) => number, kinks: number[]): number {
  const pts = [-12, ...kinks.filter((k) => k > -12 && k < 12).sort((p, q) => p - q), 12];
  let total = 0;
  for (let s = 0; s + 1 < pts.length; s++) {
    const lo = pts[s], hi = pts[s + 1], n = 4000, h = (hi - lo) / n;
    let acc = 0;
    for (let i = 0; i <= n; i++) {
      // The end points step inside the segment: the integrands jump at the kinks.
      const z = i === 0 ? lo + 1e-12 : i === n ? hi - 1e-12 : lo + i * h,
        w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
      acc += w * f(z) * Math.exp(-z * z / 2);
    }
    total += (acc * h) / 3;
  }
  return total / Math.sqrt(2 * Math.PI);
}

Deno.test("reluPair: ρ = ±1 equals exact 1-D integrals, and ρ → ±1 approaches it", () => {
  for (const [su, bu, sv, bv] of [[1, 0.3, 2, -0.4], [0.5, -1, 1.5, 0.7], [1, 0.2, 1, 0.2]]) {
    for (const sign of [1, -1]) {
      const u = reluUnit(su, su * bu), v = reluUnit(sv, sv * bv);
      const p = { ...reluPair(u, v, sign) };
      const zu = (z: number) => su * (z + bu), zv = (z: number) => sv * (sign * z + bv);
      const kinks = [-bu, -sign * bv];
      const what = `ρ = ${sign}, β = (${bu}, ${bv})`;
      assertAlmostEquals(p.m, integrate1d((z) => relu(zu(z)) * relu(zv(z)), kinks), 1e-9, what);
      const on = (t: number) => (t > 0 ? 1 : 0);
      assertAlmostEquals(p.pBoth, integrate1d((z) => on(zu(z)) * on(zv(z)), kinks), 1e-9, what);
      assertAlmostEquals(p.gUV, integrate1d((z) => on(zu(z)) * relu(zv(z)), kinks), 1e-9, what);
      assertAlmostEquals(p.gVU, integrate1d((z) => on(zv(z)) * relu(zu(z)), kinks), 1e-9, what);
      // Given u = 0 (Z = −β_u), v = s_v(−sign β_u + β_v) exactly.
      const dUV = (u.pdf / su) * relu(zv(-bu));
      assertAlmostEquals(p.dUV, dUV, 1e-15, what);
      for (const e of [1e-4, 1e-8, 1e-12]) {
        const near = reluPair(u, v, sign * (1 - e));
        const tol = 4 * Math.sqrt(e) * su * sv;
        for (const key of ["m", "pBoth", "gUV", "gVU", "dUV", "dVU"] as const) {
          assertAlmostEquals(near[key], p[key], tol, `${what}: ${key} at 1 − ${e}`);
        }
      }
    }
  }
});

Deno.test("reluUnit and reluPair: a zero-norm unit is the constant relu(α), the limit of s → 0", () => {
  for (const alpha of [0.4, -0.3]) {
    const c = reluUnit(0, alpha), v = reluUnit(1.3, 0.2);
    assertOk(c.constant && c.variance === 0);
    assertEquals(c.mean, relu(alpha));
    const p = { ...reluPair(c, v, 0.7) };
    const tiny = reluUnit(1e-9, alpha);
    const near = reluPair(tiny, v, 0.7);
    for (const key of ["m", "pBoth", "gUV", "gVU", "dVU"] as const) {
      assertAlmostEquals(near[key], p[key], 1e-8, `α = ${alpha}: ${key}`);
    }
    assertAlmostEquals(p.m, relu(alpha) * v.mean, 0);
  }
});

/** A random two-layer net's augmented weights ((d+1) × k and (k+1) × c). */
function randomNet(rng: Rng, d: number, k: number, c: number, scale = 1) {
  const w0 = new Float64Array((d + 1) * k), w1 = new Float64Array((k + 1) * c);
  for (let i = 0; i < w0.length; i++) w0[i] = rng.normal() * scale;
  for (let i = 0; i < w1.length; i++) w1[i] = rng.normal() * scale;
  return { w0, w1 };
}

Deno.test("Population: loss and correlation matrix against Monte Carlo (10⁶ samples)", () => {
  const d = 4, J = 2, K = 3, c = 2, sigma = 1.5;
  const rng = new Rng(11);
  const t = randomNet(rng, d, J, c), s = randomNet(rng, d, K, c, 0.7);
  const pop = new Population({ d, outputs: c, dataStd: sigma, teacherW0: t.w0, teacherW1: t.w1 });
  const corr = new Float64Array(J * K);
  const loss = pop.evaluate(s.w0, s.w1, null, corr);
  const half = new Acc();
  const ht = [0, 1].map(() => new Float64Array(SAMPLES));
  const hs = [0, 1, 2].map(() => new Float64Array(SAMPLES));
  const xs = new Float64Array(SAMPLES * d);
  rng.fillNormal(xs, sigma);
  const yt = new Float64Array(c), ys = new Float64Array(c);
  /** Hidden activations into h[·][n] and outputs into y of a two-layer net at sample n. */
  const forward = (
    w0: Float64Array,
    w1: Float64Array,
    h: Float64Array[],
    n: number,
    y: Float64Array,
  ) => {
    const k = h.length;
    y.set(w1.subarray(k * c));
    for (let j = 0; j < k; j++) {
      let z = w0[d * k + j];
      for (let i = 0; i < d; i++) z += xs[n * d + i] * w0[i * k + j];
      const r = z > 0 ? z : 0;
      h[j][n] = r;
      for (let o = 0; o < c; o++) y[o] += r * w1[j * c + o];
    }
  };
  for (let n = 0; n < SAMPLES; n++) {
    forward(t.w0, t.w1, ht, n, yt);
    forward(s.w0, s.w1, hs, n, ys);
    let e = 0;
    for (let o = 0; o < c; o++) e += (ys[o] - yt[o]) ** 2;
    half.add(e / 2);
  }
  assertWithinSe(loss, half, "L = ½E‖y_s − y_t‖²");
  assertAlmostEquals(populationMse(loss, c), (2 * loss) / c, 0);
  for (let j = 0; j < J; j++) {
    for (let k = 0; k < K; k++) {
      const r = pearson(ht[j], hs[k]);
      // SE of a sample correlation ≈ (1 − r²)/√n (an approximation for non-normal data: 6 SE).
      const se = (1 - r * r) / Math.sqrt(SAMPLES);
      assertAlmostEquals(corr[j * K + k], r, 6 * se + 1e-6, `corr(teacher ${j}, student ${k})`);
    }
  }
});

function pearson(x: Float64Array, y: Float64Array): number {
  let mx = 0, my = 0;
  for (let i = 0; i < x.length; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= x.length;
  my /= y.length;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

Deno.test("Population: gradient equals central finite differences of the analytic loss", () => {
  const d = 4, J = 3, K = 4, c = 3;
  for (const sigma of [1, 1.5]) {
    const rng = new Rng(5 + sigma * 10);
    const t = randomNet(rng, d, J, c), s = randomNet(rng, d, K, c, 0.8);
    // Student 1 copies teacher 0 (ρ = 1 across the pair); student 2 has zero fan-in (constant).
    for (let i = 0; i <= d; i++) s.w0[i * K + 1] = t.w0[i * J + 0];
    for (let i = 0; i < d; i++) s.w0[i * K + 2] = 0;
    s.w0[d * K + 2] = 0.3;
    const pop = new Population({ d, outputs: c, dataStd: sigma, teacherW0: t.w0, teacherW1: t.w1 });
    const grad = { w0: new Float64Array(s.w0.length), w1: new Float64Array(s.w1.length) };
    pop.evaluate(s.w0, s.w1, grad);
    const h = 1e-6;
    for (const layer of ["w0", "w1"] as const) {
      const w = s[layer];
      for (let i = 0; i < w.length; i++) {
        const keep = w[i];
        w[i] = keep + h;
        const up = pop.evaluate(s.w0, s.w1);
        w[i] = keep - h;
        const down = pop.evaluate(s.w0, s.w1);
        w[i] = keep;
        const fd = (up - down) / (2 * h);
        assertAlmostEquals(
          grad[layer][i],
          fd,
          2e-6 * (1 + Math.abs(fd)),
          `σ ${sigma} ${layer}[${i}]`,
        );
      }
    }
  }
});

Deno.test("Population: zero loss and gradient at the teacher; f32 and f64 students agree", () => {
  const d = 5, J = 3, c = 4;
  const rng = new Rng(3);
  const t = randomNet(rng, d, J, c);
  const pop = new Population({ d, outputs: c, dataStd: 1.5, teacherW0: t.w0, teacherW1: t.w1 });
  const grad = { w0: new Float64Array(t.w0.length), w1: new Float64Array(t.w1.length) };
  const corr = new Float64Array(J * J);
  assertAlmostEquals(pop.evaluate(t.w0, t.w1, grad, corr), 0, 1e-13);
  for (const g of [...grad.w0, ...grad.w1]) assertAlmostEquals(g, 0, 1e-13);
  for (let j = 0; j < J; j++) assertAlmostEquals(corr[j * J + j], 1, 1e-14);
  // An f32 student is read exactly: the same numbers in f64 give the same bits.
  const s = randomNet(rng, d, 6, c, 0.5);
  const s32 = { w0: Float32Array.from(s.w0), w1: Float32Array.from(s.w1) };
  const g32 = { w0: new Float32Array(s.w0.length), w1: new Float32Array(s.w1.length) };
  const g64 = { w0: new Float64Array(s.w0.length), w1: new Float64Array(s.w1.length) };
  const l32 = pop.evaluate(s32.w0, s32.w1, g32);
  const l64 = pop.evaluate(Float64Array.from(s32.w0), Float64Array.from(s32.w1), g64);
  assertEquals(l32, l64);
  assertEquals(Array.from(g32.w0), Array.from(Float32Array.from(g64.w0)));
  assertThrows(() => pop.evaluate(new Float64Array(7), s.w1), RangeError, /do not fit/);
  assertThrows(
    () => new Population({ d, outputs: c, dataStd: 0, teacherW0: t.w0, teacherW1: t.w1 }),
    RangeError,
    /dataStd/,
  );
  assertOk(newReluPair().m === 0);
});

Deno.test("Population: the exact correlation does not change with the scale of data or student (table)", () => {
  const d = 5, J = 3, c = 2, K = 4;
  const rng = new Rng(11);
  const t = randomNet(rng, d, J, c), s = randomNet(rng, d, K, c, 0.5);
  // without biases (the last row), ReLU activations scale with the data and the student's layer
  t.w0.fill(0, d * J);
  s.w0.fill(0, d * K);
  const at = (dataStd: number, scale: number) => {
    const pop = new Population({ d, outputs: c, dataStd, teacherW0: t.w0, teacherW1: t.w1 });
    const corr = new Float64Array(J * K);
    pop.evaluate(s.w0.map((w) => w * scale), s.w1, undefined, corr);
    return corr;
  };
  const base = at(1, 1);
  assertOk(base.some((r) => Math.abs(r) > 0.1), "the case has correlations to keep");
  // the product of the variances underflows at 2^-200 · 2^-200 and overflows at 2^200 · 2^200
  for (const [dataStd, scale] of [[2 ** -30, 1], [2 ** -200, 2 ** -200], [2 ** 200, 2 ** 200]]) {
    const r = at(dataStd, scale);
    for (let i = 0; i < base.length; i++) {
      assertAlmostEquals(r[i], base[i], 1e-12, `data std ${dataStd}, student × ${scale}`);
    }
  }
});
