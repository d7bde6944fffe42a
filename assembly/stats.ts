// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// Reductions: sums of squares, column sums, mixed-precision accumulation. Every reduction has a
// fixed summation order (independent of alignment and of the data), so results are deterministic.
// Sums of squares accumulate in f64 for both precisions.

/** Σ x² over len elements: four f64x2 accumulators over blocks of 8 elements, combined as
 * ((acc0 + acc1) + (acc2 + acc3)), lane 0 + lane 1, then the tail in order. */
// @ts-ignore: decorator
@inline
function sumsq<T>(a: usize, len: i32): f64 {
  const sz = <usize>sizeof<T>();
  let acc0 = f64x2.splat(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    const p = a + <usize>i * sz;
    if (sizeof<T>() == 4) {
      // 64-bit loads widen directly (no shuffle).
      const l0 = f64x2.promote_low_f32x4(v128.load64_zero(p));
      const h0 = f64x2.promote_low_f32x4(v128.load64_zero(p, 8));
      const l1 = f64x2.promote_low_f32x4(v128.load64_zero(p, 16));
      const h1 = f64x2.promote_low_f32x4(v128.load64_zero(p, 24));
      acc0 = f64x2.add(acc0, f64x2.mul(l0, l0));
      acc1 = f64x2.add(acc1, f64x2.mul(h0, h0));
      acc2 = f64x2.add(acc2, f64x2.mul(l1, l1));
      acc3 = f64x2.add(acc3, f64x2.mul(h1, h1));
    } else {
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      const v2 = v128.load(p, 32);
      const v3 = v128.load(p, 48);
      acc0 = f64x2.add(acc0, f64x2.mul(v0, v0));
      acc1 = f64x2.add(acc1, f64x2.mul(v1, v1));
      acc2 = f64x2.add(acc2, f64x2.mul(v2, v2));
      acc3 = f64x2.add(acc3, f64x2.mul(v3, v3));
    }
  }
  const s = f64x2.add(f64x2.add(acc0, acc1), f64x2.add(acc2, acc3));
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < len; i++) {
    const x = <f64>load<T>(a + <usize>i * sz);
    total += x * x;
  }
  return total;
}

/** out[j] (+)= Σ_i A[i,j] (squared when sq): rows added in order i = 0..m-1. */
// @ts-ignore: decorator
@inline
function colSums<T>(a: usize, out: usize, m: i32, n: i32, acc: i32, sq: bool): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  if (acc == 0) memory.fill(out, 0, <usize>n * sz);
  for (let r = 0; r < m; r++) {
    const row = a + <usize>r * <usize>n * sz;
    let j = 0;
    for (; j + L <= n; j += L) {
      const o = <usize>j * sz;
      let v = v128.load(row + o);
      if (sq) v = v128.mul<T>(v, v);
      v128.store(out + o, v128.add<T>(v128.load(out + o), v));
    }
    for (; j < n; j++) {
      const o = <usize>j * sz;
      let v = load<T>(row + o);
      if (sq) v = v * v;
      store<T>(out + o, load<T>(out + o) + v);
    }
  }
}

// @ts-ignore: decorator
@inline
function rowSumsq<T>(a: usize, out: usize, m: i32, n: i32): void {
  const sz = <usize>sizeof<T>();
  for (let r = 0; r < m; r++) {
    store<T>(out + <usize>r * sz, <T>sumsq<T>(a + <usize>r * <usize>n * sz, n));
  }
}

// @ts-ignore: decorator
@inline
function accInto<T>(src: usize, dst: usize, len: i32): void {
  const sz = <usize>sizeof<T>();
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const s = src + <usize>i * sz;
    const d = dst + (<usize>i << 3);
    if (sizeof<T>() == 4) {
      const lo = f64x2.promote_low_f32x4(v128.load64_zero(s));
      const hi = f64x2.promote_low_f32x4(v128.load64_zero(s, 8));
      v128.store(d, f64x2.add(v128.load(d), lo));
      v128.store(d, f64x2.add(v128.load(d, 16), hi), 16);
    } else {
      v128.store(d, f64x2.add(v128.load(d), v128.load(s)));
      v128.store(d, f64x2.add(v128.load(d, 16), v128.load(s, 16)), 16);
    }
  }
  for (; i < len; i++) {
    const d = dst + (<usize>i << 3);
    store<f64>(d, load<f64>(d) + <f64>load<T>(src + <usize>i * sz));
  }
}

/** Σ a² (accumulated in f64), f32 input. */
export function sumsq_f32(a: usize, len: i32): f64 {
  return sumsq<f32>(a, len);
}
/** Σ a², f64 input. */
export function sumsq_f64(a: usize, len: i32): f64 {
  return sumsq<f64>(a, len);
}
/** out[j] (+)= Σ_i A[i,j] for A m×n, f32. */
export function col_sums_f32(a: usize, out: usize, m: i32, n: i32, acc: i32): void {
  colSums<f32>(a, out, m, n, acc, false);
}
/** out[j] (+)= Σ_i A[i,j] for A m×n, f64. */
export function col_sums_f64(a: usize, out: usize, m: i32, n: i32, acc: i32): void {
  colSums<f64>(a, out, m, n, acc, false);
}
/** out[j] (+)= Σ_i A[i,j]² for A m×n, f32. */
export function col_sumsq_f32(a: usize, out: usize, m: i32, n: i32, acc: i32): void {
  colSums<f32>(a, out, m, n, acc, true);
}
/** out[j] (+)= Σ_i A[i,j]² for A m×n, f64. */
export function col_sumsq_f64(a: usize, out: usize, m: i32, n: i32, acc: i32): void {
  colSums<f64>(a, out, m, n, acc, true);
}
/** out[i] = Σ_j A[i,j]² for A m×n, f32 (accumulated in f64, rounded once). */
export function row_sumsq_f32(a: usize, out: usize, m: i32, n: i32): void {
  rowSumsq<f32>(a, out, m, n);
}
/** out[i] = Σ_j A[i,j]² for A m×n, f64. */
export function row_sumsq_f64(a: usize, out: usize, m: i32, n: i32): void {
  rowSumsq<f64>(a, out, m, n);
}
/** dst[i] += f64(src[i]): f32 source into an f64 accumulator. */
export function acc_f32_into_f64(src: usize, dst: usize, len: i32): void {
  accInto<f32>(src, dst, len);
}
/** dst[i] += src[i]: f64 source into an f64 accumulator. */
export function acc_f64_into_f64(src: usize, dst: usize, len: i32): void {
  accInto<f64>(src, dst, len);
}
