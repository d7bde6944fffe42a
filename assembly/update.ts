// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// Elementwise arithmetic and the SGD update, f32 and f64. Buffers hold `len` contiguous elements;
// scalar parameters arrive as f64 and are rounded once to the element type.

// @ts-ignore: decorator
@inline
function sub<T>(a: usize, b: usize, out: usize, len: i32): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  let i = 0;
  for (; i + L <= len; i += L) {
    const o = <usize>i * sz;
    v128.store(out + o, v128.sub<T>(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < len; i++) {
    const o = <usize>i * sz;
    store<T>(out + o, load<T>(a + o) - load<T>(b + o));
  }
}

// @ts-ignore: decorator
@inline
function scale<T>(a: usize, alpha: f64, len: i32): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const s = <T>alpha;
  const vs = v128.splat<T>(s);
  let i = 0;
  for (; i + L <= len; i += L) {
    const o = <usize>i * sz;
    v128.store(a + o, v128.mul<T>(v128.load(a + o), vs));
  }
  for (; i < len; i++) {
    const o = <usize>i * sz;
    store<T>(a + o, load<T>(a + o) * s);
  }
}

// g' = g + wd·w; with momentum: v = mom·v + g', w -= lr·v; without: w -= lr·g'. g is not written.
// @ts-ignore: decorator
@inline
function sgd<T>(w: usize, g: usize, v: usize, len: i32, lr: f64, momentum: f64, wd: f64): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const slr = <T>lr, smom = <T>momentum, swd = <T>wd;
  const vlr = v128.splat<T>(slr), vmom = v128.splat<T>(smom), vwd = v128.splat<T>(swd);
  let i = 0;
  if (momentum != 0) {
    for (; i + L <= len; i += L) {
      const o = <usize>i * sz;
      const wv = v128.load(w + o);
      const gp = v128.add<T>(v128.load(g + o), v128.mul<T>(vwd, wv));
      const vv = v128.add<T>(v128.mul<T>(vmom, v128.load(v + o)), gp);
      v128.store(v + o, vv);
      v128.store(w + o, v128.sub<T>(wv, v128.mul<T>(vlr, vv)));
    }
    for (; i < len; i++) {
      const o = <usize>i * sz;
      const wv = load<T>(w + o);
      const gp = load<T>(g + o) + swd * wv;
      const vv = smom * load<T>(v + o) + gp;
      store<T>(v + o, vv);
      store<T>(w + o, wv - slr * vv);
    }
  } else {
    for (; i + L <= len; i += L) {
      const o = <usize>i * sz;
      const wv = v128.load(w + o);
      const gp = v128.add<T>(v128.load(g + o), v128.mul<T>(vwd, wv));
      v128.store(w + o, v128.sub<T>(wv, v128.mul<T>(vlr, gp)));
    }
    for (; i < len; i++) {
      const o = <usize>i * sz;
      const wv = load<T>(w + o);
      const gp = load<T>(g + o) + swd * wv;
      store<T>(w + o, wv - slr * gp);
    }
  }
}

// @ts-ignore: decorator
@inline
function gatherRows<T>(src: usize, idx: usize, dst: usize, count: i32, n: i32): void {
  const rb = <usize>n * <usize>sizeof<T>();
  for (let r = 0; r < count; r++) {
    const s = <usize>load<i32>(idx + (<usize>r << 2));
    memory.copy(dst + <usize>r * rb, src + s * rb, rb);
  }
}

/** out = a − b, f32. */
export function sub_f32(a: usize, b: usize, out: usize, len: i32): void {
  sub<f32>(a, b, out, len);
}
/** out = a − b, f64. */
export function sub_f64(a: usize, b: usize, out: usize, len: i32): void {
  sub<f64>(a, b, out, len);
}
/** a *= alpha, f32. */
export function scale_f32(a: usize, alpha: f64, len: i32): void {
  scale<f32>(a, alpha, len);
}
/** a *= alpha, f64. */
export function scale_f64(a: usize, alpha: f64, len: i32): void {
  scale<f64>(a, alpha, len);
}
/** SGD with optional momentum and weight decay, f32. */
export function sgd_update_f32(
  w: usize, g: usize, v: usize, len: i32, lr: f64, momentum: f64, weight_decay: f64,
): void {
  sgd<f32>(w, g, v, len, lr, momentum, weight_decay);
}
/** SGD with optional momentum and weight decay, f64. */
export function sgd_update_f64(
  w: usize, g: usize, v: usize, len: i32, lr: f64, momentum: f64, weight_decay: f64,
): void {
  sgd<f64>(w, g, v, len, lr, momentum, weight_decay);
}
/** dst row r := src row idx[r] (idx: i32[count], rows of n elements), f32. */
export function gather_rows_f32(src: usize, idx: usize, dst: usize, count: i32, n: i32): void {
  gatherRows<f32>(src, idx, dst, count, n);
}
/** dst row r := src row idx[r] (idx: i32[count], rows of n elements), f64. */
export function gather_rows_f64(src: usize, idx: usize, dst: usize, count: i32, n: i32): void {
  gatherRows<f64>(src, idx, dst, count, n);
}
