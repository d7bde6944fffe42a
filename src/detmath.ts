/**
 * Deterministic elementary functions: `log`, `log10`, `exp` and `pow` computed with basic IEEE
 * double operations only (+, −, ×, ÷, comparisons and exact bit manipulation of the exponent), so
 * they return the same bits under every JavaScript engine and version. `Math.log`, `Math.exp` and
 * `Math.pow` are not specified to the bit and do change between V8 releases (V8 15 moved many
 * results by one ulp), which would change a run's random Gaussians and its teacher.
 *
 * The algorithms are those of Sun's fdlibm 5.3 (`e_log.c`, `e_log10.c`, `e_exp.c`, `e_pow.c`,
 * Copyright (C) 1993–2004 Sun Microsystems, freely redistributable), rewritten in TypeScript:
 * argument reduction by powers of two, a minimax polynomial on the reduced interval, and the
 * results assembled so that the error stays below one ulp (tests compare millions of inputs with
 * the engine's `Math` functions). JavaScript never contracts `a * b + c` into a fused multiply-add,
 * so each step is one correctly rounded IEEE operation and the result is fixed by the inputs.
 * @module
 */

/** What provenance records as the math of a run. */
export const MATH_PROVENANCE =
  "fdlibm 5.3 log/log10/exp/pow in TypeScript (basic IEEE operations only); sqrt from IEEE 754";

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Index of the high (sign, exponent) word in U32: 1 on little-endian hosts. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

function hiWord(x: number): number {
  F64[0] = x;
  return U32[HI] | 0;
}
function loWord(x: number): number {
  F64[0] = x;
  return U32[LO];
}
function withHi(x: number, hi: number): number {
  F64[0] = x;
  U32[HI] = hi;
  return F64[0];
}
function withLoZero(x: number): number {
  F64[0] = x;
  U32[LO] = 0;
  return F64[0];
}
function fromWords(hi: number, lo: number): number {
  U32[HI] = hi;
  U32[LO] = lo;
  return F64[0];
}

const TWO54 = 1.80143985094819840000e+16;
const LN2_HI = 6.93147180369123816490e-01; // 0x3fe62e42 fee00000
const LN2_LO = 1.90821492927058770002e-10; // 0x3dea39ef 35793c76
const LG1 = 6.666666666666735130e-01;
const LG2 = 3.999999999940941908e-01;
const LG3 = 2.857142874366239149e-01;
const LG4 = 2.222219843214978396e-01;
const LG5 = 1.818357216161805012e-01;
const LG6 = 1.531383769920937332e-01;
const LG7 = 1.479819860511658591e-01;

/**
 * The natural logarithm (fdlibm `e_log.c`): error below 1 ulp, same bits everywhere.
 * log(±0) = −Infinity, log(x < 0) = NaN, log(Infinity) = Infinity.
 */
export function log(x: number): number {
  let hx = hiWord(x);
  const lx = loWord(x);
  let k = 0;
  if (hx < 0x00100000) { // x < 2^-1022: zero, negative or subnormal
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54;
    hx = hiWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  x = withHi(x, hx | (i ^ 0x3ff00000)); // x or x/2 normalized into [sqrt(2)/2, sqrt(2))
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) { // -2^-20 <= f < 2^-20
    if (f === 0) {
      if (k === 0) return 0;
      return k * LN2_HI + k * LN2_LO;
    }
    const r = f * f * (0.5 - 0.33333333333333333 * f);
    if (k === 0) return f - r;
    return k * LN2_HI - ((r - k * LN2_LO) - f);
  }
  const s = f / (2.0 + f);
  const dk = k;
  const z = s * s;
  let i2 = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i2 |= j;
  const r = t2 + t1;
  if (i2 > 0) {
    const hfsq = 0.5 * f * f;
    if (k === 0) return f - (hfsq - s * (hfsq + r));
    return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
  }
  if (k === 0) return f - s * (f - r);
  return dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f);
}

const IVLN10_HI = 4.34294481878168880939e-01; // 0x3fdbcb7b 15200000
const IVLN10_LO = 2.50829467116452752298e-11; // 0x3dbb9438 ca9aadd5
const LOG10_2HI = 3.01029995663611771306e-01; // 0x3fd34413 509f6000
const LOG10_2LO = 3.69423907715893078616e-13; // 0x3d59fef3 11f12b36

/**
 * The base-10 logarithm (fdlibm's `e_log10.c` as revised in FreeBSD: log(1 + f) split into a
 * high and a low part before the multiplication by 1/ln 10): error below 1 ulp, same bits
 * everywhere.
 */
export function log10(x: number): number {
  let hx = hiWord(x);
  const lx = loWord(x);
  let k = 0;
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54;
    hx = hiWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  if (hx === 0x3ff00000 && lx === 0) return 0;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  x = withHi(x, hx | (i ^ 0x3ff00000)); // x or x/2 normalized into [sqrt(2)/2, sqrt(2))
  k += i >> 20;
  const y = k;
  const f = x - 1.0;
  const hfsq = 0.5 * f * f;
  const r = log1pTail(f);
  const hi = withLoZero(f - hfsq);
  const lo = (f - hi) - hfsq + r;
  let valHi = hi * IVLN10_HI;
  const y2 = y * LOG10_2HI;
  let valLo = y * LOG10_2LO + (lo + hi) * IVLN10_LO + lo * IVLN10_HI;
  const w = y2 + valHi;
  valLo += (y2 - w) + valHi;
  valHi = w;
  return valLo + valHi;
}

/** log(1 + f) − (f − f²/2) for f in [sqrt(2)/2 − 1, sqrt(2) − 1] (fdlibm's k_log1p). */
function log1pTail(f: number): number {
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const hfsq = 0.5 * f * f;
  return s * (hfsq + (t2 + t1));
}

const O_THRESHOLD = 7.09782712893383973096e+02; // 0x40862e42 fefa39ef
const U_THRESHOLD = -7.45133219101941108420e+02; // 0xc0874910 d52d3051
const INVLN2 = 1.44269504088896338700e+00; // 0x3ff71547 652b82fe
const TWOM1000 = 9.33263618503218878990e-302; // 2^-1000
const P1 = 1.66666666666666019037e-01;
const P2 = -2.77777777770155933842e-03;
const P3 = 6.61375632143793436117e-05;
const P4 = -1.65339022054652515390e-06;
const P5 = 4.13813679705723846039e-08;

/** y · 2^k for a y in [0.5, 2) from the exp/pow reconstruction (exponent arithmetic only). */
function scaleByPowerOfTwo(y: number, k: number): number {
  if (k >= -1021) return withHi(y, hiWord(y) + (k << 20));
  return withHi(y, hiWord(y) + ((k + 1000) << 20)) * TWOM1000;
}

/**
 * e^x (fdlibm `e_exp.c`): error below 1 ulp, same bits everywhere. Overflows to Infinity above
 * 709.78…, underflows to 0 below −745.13….
 */
export function exp(x: number): number {
  let hx = hiWord(x);
  const xsb = (hx >>> 31) & 1;
  hx &= 0x7fffffff;
  if (hx >= 0x40862e42) { // |x| >= 709.78...
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | loWord(x)) !== 0) return x + x; // NaN
      return xsb === 0 ? x : 0;
    }
    if (x > O_THRESHOLD) return Infinity;
    if (x < U_THRESHOLD) return 0;
  }
  let hi = 0, lo = 0, k = 0;
  if (hx > 0x3fd62e42) { // |x| > 0.5 ln2
    if (hx < 0x3ff0a2b2) { // and |x| < 1.5 ln2
      hi = xsb === 0 ? x - LN2_HI : x + LN2_HI;
      lo = xsb === 0 ? LN2_LO : -LN2_LO;
      k = 1 - xsb - xsb;
    } else {
      k = Math.trunc(INVLN2 * x + (xsb === 0 ? 0.5 : -0.5));
      hi = x - k * LN2_HI; // exact: k has at most 11 bits, LN2_HI 32
      lo = k * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) { // |x| < 2^-28
    return 1 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2.0) - x);
  const y = 1 - ((lo - (x * c) / (2.0 - c)) - hi);
  return scaleByPowerOfTwo(y, k);
}

const DP_H = [0.0, 5.84962487220764160156e-01]; // 0x3fe2b803 40000000
const DP_L = [0.0, 1.35003920212974897128e-08]; // 0x3e4cfdeb 43cfd006
const BP = [1.0, 1.5];
const TWO53 = 9007199254740992.0;
const L1 = 5.99999999999994648725e-01;
const L2 = 4.28571428578550184252e-01;
const L3 = 3.33333329818377432918e-01;
const L4 = 2.72728123808534006489e-01;
const L5 = 2.30660745775561754067e-01;
const L6 = 2.06975017800338417784e-01;
const LG2_FULL = 6.93147180559945286227e-01;
const LG2_H = 6.93147182464599609375e-01;
const LG2_L = -1.90465429995776804525e-09;
const OVT = 8.0085662595372944372e-17; // -(1024 - log2(overflow + 0.5 ulp))
const CP = 9.61796693925975554329e-01; // 2/(3 ln2)
const CP_H = 9.61796700954437255859e-01;
const CP_L = -7.02846165095275826516e-09;
const IVLN2 = 1.44269504088896338700e+00;
const IVLN2_H = 1.44269502162933349609e+00;
const IVLN2_L = 1.92596299112661746887e-08;

/**
 * x^y (fdlibm `e_pow.c`): error below 1 ulp, exact for representable integer powers of integers,
 * same bits everywhere. Special values follow IEEE 754 / C99 `pow` (x^0 = 1, 1^y = 1, a negative
 * x with a non-integer y is NaN, ...), except ±1 ^ ±Infinity which is NaN as in JavaScript.
 */
export function pow(x: number, y: number): number {
  const hx = hiWord(x), lx = loWord(x);
  const hy = hiWord(y), ly = loWord(y);
  let ix = hx & 0x7fffffff;
  const iy = hy & 0x7fffffff;

  if (y !== y || x !== x) return (iy | ly) === 0 ? 1 : NaN; // NaN involved (x^0 = 1)
  if ((iy | ly) === 0) return 1;

  // yisint: 0 = not an integer, 1 = odd integer, 2 = even integer (only needed for x < 0)
  let yisint = 0;
  if (hx < 0) {
    if (iy >= 0x43400000) yisint = 2;
    else if (iy >= 0x3ff00000) {
      const k = (iy >> 20) - 0x3ff;
      if (k > 20) {
        const j = ly >>> (52 - k);
        if (((j << (52 - k)) >>> 0) === ly) yisint = 2 - (j & 1);
      } else if (ly === 0) {
        const j = iy >> (20 - k);
        if ((j << (20 - k)) === iy) yisint = 2 - (j & 1);
      }
    }
  }

  if (ly === 0) {
    if (iy === 0x7ff00000) { // y is ±Infinity
      if (((ix - 0x3ff00000) | lx) === 0) return NaN; // JavaScript: (±1)^±Infinity is NaN
      if (ix >= 0x3ff00000) return hy >= 0 ? y : 0;
      return hy < 0 ? -y : 0;
    }
    if (iy === 0x3ff00000) return hy < 0 ? 1 / x : x;
    if (hy === 0x40000000) return x * x;
    if (hy === 0x3fe00000 && hx >= 0 && ix < 0x7ff00000 && (ix | lx) !== 0) return Math.sqrt(x);
  }

  let ax = Math.abs(x);
  if (lx === 0 && (ix === 0x7ff00000 || ix === 0 || ix === 0x3ff00000)) { // ±0, ±Infinity, ±1
    let z = ax;
    if (hy < 0) z = 1 / z;
    if (hx < 0) {
      if (((ix - 0x3ff00000) | yisint) === 0) return NaN; // (-1)^non-integer
      if (yisint === 1) z = -z;
    }
    return z;
  }

  let n = (hx >>> 31) - 1; // 0 if x < 0, -1 otherwise
  if ((n | yisint) === 0) return NaN; // negative ^ non-integer
  let s = 1; // sign of the result
  if ((n | (yisint - 1)) === 0) s = -1; // negative ^ odd integer

  let t1: number, t2: number;
  if (iy > 0x41e00000) { // |y| > 2^31
    if (iy > 0x43f00000) { // |y| > 2^64: certain overflow or underflow
      if (ix <= 0x3fefffff) return hy < 0 ? Infinity : 0;
      if (ix >= 0x3ff00000) return hy > 0 ? Infinity : 0;
    }
    if (ix < 0x3fefffff) return hy < 0 ? s * Infinity : s * 0;
    if (ix > 0x3ff00000) return hy > 0 ? s * Infinity : s * 0;
    // |1 - x| <= 2^-20: log(x) by x - x²/2 + x³/3 - x⁴/4
    const t = ax - 1;
    const w = (t * t) * (0.5 - t * (0.3333333333333333333333 - t * 0.25));
    const u = IVLN2_H * t;
    const v = t * IVLN2_L - w * IVLN2;
    t1 = withLoZero(u + v);
    t2 = v - (t1 - u);
  } else {
    n = 0;
    if (ix < 0x00100000) { // subnormal x
      ax *= TWO53;
      n -= 53;
      ix = hiWord(ax);
    }
    n += (ix >> 20) - 0x3ff;
    const j = ix & 0x000fffff;
    let k: number;
    ix = j | 0x3ff00000;
    if (j <= 0x3988e) k = 0; // |x| < sqrt(3/2)
    else if (j < 0xbb67a) k = 1; // |x| < sqrt(3)
    else {
      k = 0;
      n += 1;
      ix -= 0x00100000;
    }
    ax = withHi(ax, ix);
    // ss = s_h + s_l = (x - 1)/(x + 1) or (x - 1.5)/(x + 1.5)
    let u = ax - BP[k];
    let v = 1 / (ax + BP[k]);
    const ss = u * v;
    const sH = withLoZero(ss);
    let tH = fromWords(((ix >> 1) | 0x20000000) + 0x00080000 + (k << 18), 0);
    let tL = ax - (tH - BP[k]);
    const sL = v * ((u - sH * tH) - sH * tL);
    // log(ax)
    let s2 = ss * ss;
    let r = s2 * s2 * (L1 + s2 * (L2 + s2 * (L3 + s2 * (L4 + s2 * (L5 + s2 * L6)))));
    r += sL * (sH + ss);
    s2 = sH * sH;
    tH = withLoZero(3.0 + s2 + r);
    tL = r - ((tH - 3.0) - s2);
    u = sH * tH;
    v = sL * tH + tL * ss;
    const pH = withLoZero(u + v);
    const pL = v - (pH - u);
    const zH = CP_H * pH;
    const zL = CP_L * pH + pL * CP + DP_L[k];
    const t = n;
    t1 = withLoZero(((zH + zL) + DP_H[k]) + t);
    t2 = zL - (((t1 - t) - DP_H[k]) - zH);
  }

  // (y1 + y2) · (t1 + t2) with y1 = y's high part
  const y1 = withLoZero(y);
  const pL = (y - y1) * t1 + y * t2;
  let pH = y1 * t1;
  let z = pL + pH;
  let j = hiWord(z);
  const i = loWord(z);
  if (j >= 0x40900000) { // z >= 1024
    if (((j - 0x40900000) | i) !== 0) return s * Infinity;
    if (pL + OVT > z - pH) return s * Infinity;
  } else if ((j & 0x7fffffff) >= 0x4090cc00) { // z <= -1075
    if (((j - (0xc090cc00 | 0)) | i) !== 0) return s * 0;
    if (pL <= z - pH) return s * 0;
  }
  // 2^(pH + pL)
  const iz = j & 0x7fffffff;
  let k = (iz >> 20) - 0x3ff;
  n = 0;
  if (iz > 0x3fe00000) { // |z| > 0.5: n = [z + 0.5]
    n = j + (0x00100000 >> (k + 1));
    k = ((n & 0x7fffffff) >> 20) - 0x3ff;
    const t = fromWords(n & ~(0x000fffff >> k), 0);
    n = ((n & 0x000fffff) | 0x00100000) >> (20 - k);
    if (j < 0) n = -n;
    pH -= t;
  }
  const t = withLoZero(pL + pH);
  const u = t * LG2_H;
  const v = (pL - (t - pH)) * LG2_FULL + t * LG2_L;
  z = u + v;
  const w = v - (z - u);
  const tt = z * z;
  const c = z - tt * (P1 + tt * (P2 + tt * (P3 + tt * (P4 + tt * P5))));
  const r = (z * c) / (c - 2.0) - (w + z * w);
  z = 1 - (r - z);
  j = hiWord(z) + (n << 20);
  if ((j >> 20) <= 0) return s * scaleSubnormal(z, n);
  return s * withHi(z, j);
}

/** z · 2^n when the result is subnormal (exact scaling in two steps, rounding once at the end). */
function scaleSubnormal(z: number, n: number): number {
  // n is at least −1075 here; 2^(n + 600) and 2^-600 are normal numbers, so only the last
  // multiplication rounds (as C's ldexp does).
  return z * fromWords((n + 600 + 1023) << 20, 0) * fromWords((1023 - 600) << 20, 0);
}

/**
 * The binary exponent of a finite non-zero x: the integer e with 2^e ≤ |x| < 2^(e+1) (C's `ilogb`),
 * read from the bits (no rounding); NaN for 0, infinities and NaN.
 */
export function ilogb(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return NaN;
  let e = (hiWord(x) >>> 20) & 0x7ff;
  if (e === 0) e = ((hiWord(x * TWO54) >>> 20) & 0x7ff) - 54; // subnormal
  return e - 1023;
}

/** 2^n exactly, for integers −1022 ≤ n ≤ 1023. */
export function pow2(n: number): number {
  if (!Number.isInteger(n) || n < -1022 || n > 1023) {
    throw new RangeError(`pow2 needs an integer from -1022 to 1023, got ${n}`);
  }
  return fromWords((n + 1023) << 20, 0);
}
