// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// Leaky-ReLU forward/backward and bias broadcast, f32 and f64. Pointers are byte offsets into
// memory; buffers hold `len` contiguous elements. Vector body of 16 bytes, scalar tail: both do the
// same single-rounding operations, so results do not depend on the split.

// Vectors of ones, loaded once before the loop: a v128.const inside the loop would be rebuilt by
// V8 on every iteration (see PERF-NOTES).
const ONES_F32: usize = memory.data<f32>([1, 1, 1, 1], 16);
const ONES_F64: usize = memory.data<f64>([1, 1], 16);

// @ts-ignore: decorator
@inline
function reluFwd<T>(x: usize, y: usize, gate: usize, len: i32, slope: f64): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const s = <T>slope;
  const vs = v128.splat<T>(s);
  const zero = v128.splat<T>(<T>0);
  const one = v128.load(sizeof<T>() == 4 ? ONES_F32 : ONES_F64);
  let i = 0;
  for (; i + L <= len; i += L) {
    const o = <usize>i * sz;
    const v = v128.load(x + o);
    const pos = v128.gt<T>(v, zero);
    v128.store(y + o, v128.bitselect(v, v128.mul<T>(v, vs), pos));
    v128.store(gate + o, v128.bitselect(one, vs, pos));
  }
  for (; i < len; i++) {
    const o = <usize>i * sz;
    const v = load<T>(x + o);
    const pos = v > <T>0;
    store<T>(y + o, pos ? v : v * s);
    store<T>(gate + o, pos ? <T>1 : s);
  }
}

// @ts-ignore: decorator
@inline
function reluBwd<T>(dy: usize, gate: usize, dx: usize, len: i32): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  let i = 0;
  for (; i + L <= len; i += L) {
    const o = <usize>i * sz;
    v128.store(dx + o, v128.mul<T>(v128.load(dy + o), v128.load(gate + o)));
  }
  for (; i < len; i++) {
    const o = <usize>i * sz;
    store<T>(dx + o, load<T>(dy + o) * load<T>(gate + o));
  }
}

// @ts-ignore: decorator
@inline
function fillRows<T>(dst: usize, row: usize, m: i32, n: i32): void {
  const rb = <usize>n * <usize>sizeof<T>();
  for (let r = 0; r < m; r++) memory.copy(dst + <usize>r * rb, row, rb);
}

/** y = x > 0 ? x : slope·x; gate = x > 0 ? 1 : slope (x == y allowed), f32. */
export function relu_fwd_f32(x: usize, y: usize, gate: usize, len: i32, slope: f64): void {
  reluFwd<f32>(x, y, gate, len, slope);
}
/** y = x > 0 ? x : slope·x; gate = x > 0 ? 1 : slope (x == y allowed), f64. */
export function relu_fwd_f64(x: usize, y: usize, gate: usize, len: i32, slope: f64): void {
  reluFwd<f64>(x, y, gate, len, slope);
}
/** dx = dy·gate (in place allowed), f32. */
export function relu_bwd_f32(dy: usize, gate: usize, dx: usize, len: i32): void {
  reluBwd<f32>(dy, gate, dx, len);
}
/** dx = dy·gate (in place allowed), f64. */
export function relu_bwd_f64(dy: usize, gate: usize, dx: usize, len: i32): void {
  reluBwd<f64>(dy, gate, dx, len);
}
/** Every row of dst(m×n) := row(n), f32. */
export function fill_rows_f32(dst: usize, row: usize, m: i32, n: i32): void {
  fillRows<f32>(dst, row, m, n);
}
/** Every row of dst(m×n) := row(n), f64. */
export function fill_rows_f64(dst: usize, row: usize, m: i32, n: i32): void {
  fillRows<f64>(dst, row, m, n);
}
