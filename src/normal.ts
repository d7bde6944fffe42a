/**
 * The standard normal distribution in double precision, from basic IEEE operations only (+, −, ×,
 * ÷, `Math.sqrt`, `Math.trunc`), so its bits do not depend on the JavaScript engine's `Math.exp`,
 * `Math.sin` or `Math.asin` (sin and asin on the short ranges BVNU needs are Taylor series):
 *
 * - exp: the deterministic fdlibm exp of `detmath.ts` (error below 1 ulp).
 * - {@linkcode normalCdf} Φ and {@linkcode normalPdf} φ: W. J. Cody's rational Chebyshev
 *   approximations of erf and erfc ("Rational Chebyshev approximations for the error function",
 *   Math. Comp. 23, 1969; the coefficients of his SPECFUN routine CALERF), with exp(−x²/2)
 *   evaluated from x itself in two exact parts, so Φ has a relative error of a few ulp in the
 *   lower tail down to Φ(−37) ≈ 6e-300 (and 0 below), and an absolute error below 1e-16 elsewhere.
 * - {@linkcode bivariateNormalCdf} Φ₂: Genz's BVNU (A. Genz, "Numerical computation of rectangular
 *   bivariate and trivariate normal and t probabilities", Statistics and Computing 14:251–260,
 *   2004): the Drezner–Wesolowsky integral over asin ρ with 6, 12 or 20 Gauss–Legendre points
 *   for |ρ| < 0.3, < 0.75, < 0.925, and Genz's series in √(1 − ρ²) for |ρ| ≥ 0.925; exact
 *   limits at ρ = ±1. Absolute error about 1e-16.
 * @module
 */

import { exp } from "./detmath.ts";

// -- Φ and φ (Cody's CALERF coefficients) --
const ERF_A = [
  3.16112374387056560e00,
  1.13864154151050156e02,
  3.77485237685302021e02,
  3.20937758913846947e03,
  1.85777706184603153e-1,
];
const ERF_B = [
  2.36012909523441209e01,
  2.44024637934444173e02,
  1.28261652607737228e03,
  2.84423683343917062e03,
];
const ERF_C = [
  5.64188496988670089e-1,
  8.88314979438837594e00,
  6.61191906371416295e01,
  2.98635138197400131e02,
  8.81952221241769090e02,
  1.71204761263407058e03,
  2.05107837782607147e03,
  1.23033935479799725e03,
  2.15311535474403846e-8,
];
const ERF_D = [
  1.57449261107098347e01,
  1.17693950891312499e02,
  5.37181101862009858e02,
  1.62138957456669019e03,
  3.29079923573345963e03,
  4.36261909014324716e03,
  3.43936767414372164e03,
  1.23033935480374942e03,
];
const ERF_P = [
  3.05326634961232344e-1,
  3.60344899949804439e-1,
  1.25781726111229246e-1,
  1.60837851487422766e-2,
  6.58749161529837803e-4,
  1.63153871373020978e-2,
];
const ERF_Q = [
  2.56852019228982242e00,
  1.87295284992346047e00,
  5.27905102951428412e-1,
  6.05183413124413191e-2,
  2.33520497626869185e-3,
];
const SQRT1_2 = 0.7071067811865476;
const INV_SQRT_PI = 5.6418958354775628695e-1;
/** 1/√(2π). */
const INV_SQRT_2PI = 0.3989422804014327;
/** Below −XNEG Φ underflows (Cody's XBIG for erfc, times √2). */
const PHI_UNDERFLOW = -37.5;

/**
 * exp(−x²/2). For |x| > 4 from x itself in two parts whose first square is exact (Cody's device),
 * so the rounding of x² (relative error x²·2⁻⁵³) does not reach the result.
 */
function gauss(x: number): number {
  const ax = x < 0 ? -x : x;
  if (ax <= 4) return exp(-0.5 * ax * ax);
  if (ax > 38.7) return 0;
  const xs = Math.trunc(ax * 16) / 16;
  return exp(-0.5 * xs * xs) * exp(-0.5 * (ax - xs) * (ax + xs));
}

/**
 * The standard normal density φ(x) = exp(−x²/2)/√(2π), relative error below 2 ulp.
 *
 * @example
 * ```ts
 * import { normalPdf } from "@specialize/specialize";
 * console.log(normalPdf(0)); // 0.3989422804014327
 * ```
 */
export function normalPdf(x: number): number {
  return INV_SQRT_2PI * gauss(x);
}

/** erfc(y)·exp(y²) / (rational part), for y = |x|/√2 ≥ 0.46875 (Cody's second and third ranges). */
function erfcScaled(y: number): number {
  if (y <= 4) {
    let num = ERF_C[8] * y, den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + ERF_C[i]) * y;
      den = (den + ERF_D[i]) * y;
    }
    return (num + ERF_C[7]) / (den + ERF_D[7]);
  }
  const z = 1 / (y * y);
  let num = ERF_P[5] * z, den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + ERF_P[i]) * z;
    den = (den + ERF_Q[i]) * z;
  }
  return (INV_SQRT_PI - (z * (num + ERF_P[4])) / (den + ERF_Q[4])) / y;
}

/**
 * The standard normal cdf Φ(x) = P(Z ≤ x), from Cody's erf/erfc approximations: relative error of
 * a few ulp for x < 0 (down to Φ(−37.5) ≈ 5e-308; 0 below), absolute error below 1e-16 for x ≥ 0.
 * NaN gives NaN; ±Infinity give 1 and 0.
 *
 * @example
 * ```ts
 * import { normalCdf } from "@specialize/specialize";
 * console.log(normalCdf(-10)); // 7.619853024160525e-24 (exact: 7.61985302416052606e-24)
 * ```
 */
export function normalCdf(x: number): number {
  if (!(x === x)) return x;
  const y = (x < 0 ? -x : x) * SQRT1_2;
  if (y <= 0.46875) {
    const z = y * y;
    let num = ERF_A[4] * z, den = z;
    for (let i = 0; i < 3; i++) {
      num = (num + ERF_A[i]) * z;
      den = (den + ERF_B[i]) * z;
    }
    const erf = (x * SQRT1_2 * (num + ERF_A[3])) / (den + ERF_B[3]);
    return 0.5 + 0.5 * erf;
  }
  if (x < PHI_UNDERFLOW) return 0;
  if (x > -PHI_UNDERFLOW) return 1;
  const tail = 0.5 * gauss(x) * erfcScaled(y);
  return x < 0 ? tail : 1 - tail;
}

/** φ(x) of the last {@linkcode normalCdfPdf} call. */
export let lastPdf = 0;

/**
 * Φ(x), and φ(x) into {@linkcode lastPdf}, sharing one exp(−x²/2) (the same bits as
 * {@linkcode normalCdf} and {@linkcode normalPdf}).
 */
export function normalCdfPdf(x: number): number {
  const g = gauss(x);
  lastPdf = INV_SQRT_2PI * g;
  if (!(x === x)) return x;
  const y = (x < 0 ? -x : x) * SQRT1_2;
  if (y <= 0.46875 || x < PHI_UNDERFLOW || x > -PHI_UNDERFLOW) return normalCdf(x);
  const tail = 0.5 * g * erfcScaled(y);
  return x < 0 ? tail : 1 - tail;
}

// -- sin and asin on the ranges BVNU needs --
/** Taylor coefficients (−1)^n/(2n+1)!, n = 1 … 12, for |x| ≤ 1.6. */
const SIN_C: number[] = [];
{
  let f = 1;
  for (let n = 1; n <= 12; n++) {
    f /= (2 * n) * (2 * n + 1);
    SIN_C.push(n % 2 ? -f : f);
  }
}

/** sin x for |x| ≤ 1.6 (Taylor series to x^25: truncation below 1e-20). */
function sinSmall(x: number): number {
  const t = x * x;
  let s = SIN_C[11];
  for (let i = 10; i >= 0; i--) s = s * t + SIN_C[i];
  return x + x * t * s;
}

/** Taylor coefficients of asin: (2n)!/(4^n (n!)² (2n+1)), n = 0 … 19. */
const ASIN_C: number[] = [];
{
  let c = 1;
  for (let n = 0; n < 20; n++) {
    ASIN_C.push(c / (2 * n + 1));
    c *= (2 * n + 1) / (2 * n + 2);
  }
}

/** asin r for |r| ≤ 0.95: two half-angle steps (|t| ≤ 0.31), then the Taylor series. */
function asinSmall(r: number): number {
  let t = r;
  for (let i = 0; i < 2; i++) t = t / Math.sqrt(2 * (1 + Math.sqrt((1 - t) * (1 + t))));
  const z = t * t;
  let s = ASIN_C[19];
  for (let i = 18; i >= 0; i--) s = s * z + ASIN_C[i];
  return 4 * t * s;
}

// -- Φ₂ (Genz's BVNU) --
/** Gauss–Legendre half-rules (nodes in (0, 1) with weights) with 6, 12 and 20 points. */
const GL_W = [
  [0.1713244923791705, 0.3607615730481384, 0.4679139345726904],
  [
    0.04717533638651177,
    0.1069393259953183,
    0.1600783285433464,
    0.2031674267230659,
    0.2334925365383547,
    0.2491470458134029,
  ],
  [
    0.01761400713915212,
    0.04060142980038694,
    0.06267204833410906,
    0.08327674157670475,
    0.1019301198172404,
    0.1181945319615184,
    0.1316886384491766,
    0.1420961093183821,
    0.1491729864726037,
    0.1527533871307259,
  ],
];
const GL_X = [
  [0.9324695142031522, 0.6612093864662647, 0.2386191860831970],
  [
    0.9815606342467191,
    0.9041172563704750,
    0.7699026741943050,
    0.5873179542866171,
    0.3678314989981802,
    0.1252334085114692,
  ],
  [
    0.9931285991850949,
    0.9639719272779138,
    0.9122344282513259,
    0.8391169718222188,
    0.7463319064601508,
    0.6360536807265150,
    0.5108670019508271,
    0.3737060887154196,
    0.2277858511416451,
    0.07652652113349733,
  ],
];
const TWO_PI = 6.283185307179586;
const SQRT_2PI = 2.5066282746310002;

/** P(Z₁ > h, Z₂ > k) for standard normals with correlation r (Genz's BVNU). */
function bvnu(h: number, k: number, r: number): number {
  let hk = h * k, bvn = 0;
  const ar = r < 0 ? -r : r;
  if (ar < 0.925) {
    const g = ar < 0.3 ? 0 : ar < 0.75 ? 1 : 2;
    const w = GL_W[g], xs = GL_X[g];
    const hs = (h * h + k * k) / 2, asr = asinSmall(r);
    for (let i = 0; i < w.length; i++) {
      let sn = sinSmall((asr * (1 - xs[i])) / 2);
      bvn += w[i] * exp((sn * hk - hs) / (1 - sn * sn));
      sn = sinSmall((asr * (1 + xs[i])) / 2);
      bvn += w[i] * exp((sn * hk - hs) / (1 - sn * sn));
    }
    return bvn * asr / (2 * TWO_PI) + normalCdf(-h) * normalCdf(-k);
  }
  if (r < 0) {
    k = -k;
    hk = -hk;
  }
  if (ar < 1) {
    const w = GL_W[2], xs = GL_X[2];
    const aas = (1 - r) * (1 + r);
    let a = Math.sqrt(aas);
    const bs = (h - k) * (h - k);
    const c = (4 - hk) / 8, d = (12 - hk) / 16;
    let asr = -(bs / aas + hk) / 2;
    if (asr > -100) {
      bvn = a * exp(asr) * (1 - c * (bs - aas) * (1 - d * bs / 5) / 3 + c * d * aas * aas / 5);
    }
    if (-hk < 100) {
      const b = Math.sqrt(bs);
      const sp = SQRT_2PI * normalCdf(-b / a);
      bvn -= exp(-hk / 2) * sp * b * (1 - c * bs * (1 - d * bs / 5) / 3);
    }
    a /= 2;
    for (let i = 0; i < w.length; i++) {
      for (let is = -1; is <= 1; is += 2) {
        const xsq = (a * (is * xs[i] + 1)) ** 2;
        const rs = Math.sqrt(1 - xsq);
        asr = -(bs / xsq + hk) / 2;
        if (asr > -100) {
          const sp = 1 + c * xsq * (1 + d * xsq);
          const ep = exp(-hk * (1 - rs) / (2 * (1 + rs))) / rs;
          bvn += a * w[i] * exp(asr) * (ep - sp);
        }
      }
    }
    bvn = -bvn / TWO_PI;
  }
  if (r > 0) return bvn + normalCdf(-(h > k ? h : k));
  const diff = normalCdf(-h) - normalCdf(-k);
  return -bvn + (diff > 0 ? diff : 0);
}

/**
 * The standard bivariate normal cdf Φ₂(h, k; ρ) = P(Z₁ ≤ h, Z₂ ≤ k), corr(Z₁, Z₂) = ρ, by Genz's
 * BVNU (absolute error about 1e-16), with the exact limits Φ(min(h, k)) at ρ = 1 and
 * max(0, Φ(h) + Φ(k) − 1) at ρ = −1. Infinite limits are allowed. Throws a RangeError if ρ is
 * outside [−1, 1] or NaN.
 *
 * @example
 * ```ts
 * import { bivariateNormalCdf } from "@specialize/specialize";
 * console.log(bivariateNormalCdf(0, 0, 0.5)); // 1/4 + asin(0.5)/(2π) = 0.3333333333333333
 * ```
 */
export function bivariateNormalCdf(h: number, k: number, rho: number): number {
  if (!(rho >= -1 && rho <= 1)) throw new RangeError(`Correlation ${rho} is outside [-1, 1]`);
  if (h !== h || k !== k) return NaN;
  if (h === -Infinity || k === -Infinity) return 0;
  if (h === Infinity) return normalCdf(k);
  if (k === Infinity) return normalCdf(h);
  if (rho === 1) return normalCdf(h < k ? h : k);
  if (rho === -1) {
    const p = normalCdf(h) - normalCdf(-k);
    return p > 0 ? p : 0;
  }
  const p = bvnu(-h, -k, rho);
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
