// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// Softmax cross-entropy against the teacher's arg-max class, f32 and f64. `out` and `y` are
// rows × c row-major (student outputs, teacher outputs); the class of a row is the first index of
// the largest teacher output. Per row the arithmetic is in f64 in a fixed order, with the
// stdlib's (software, deterministic) exp and log.

// @ts-ignore: decorator
@inline
function argmaxRow<T>(p: usize, c: i32): i32 {
  const sz = <usize>sizeof<T>();
  let best = <f64>load<T>(p);
  let at = 0;
  for (let j = 1; j < c; j++) {
    const v = <f64>load<T>(p + <usize>j * sz);
    if (v > best) {
      best = v;
      at = j;
    }
  }
  return at;
}

// Returns Σ_rows (log Σ_j exp(o_j) − o_class) and writes delta = softmax(o) − onehot(class)
// (d loss / d output per sample; delta may be neither out nor y).
// @ts-ignore: decorator
@inline
function xent<T>(out: usize, y: usize, delta: usize, rows: i32, c: i32): f64 {
  const sz = <usize>sizeof<T>();
  const rb = <usize>c * sz;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const o = out + <usize>r * rb, t = y + <usize>r * rb, d = delta + <usize>r * rb;
    const cls = argmaxRow<T>(t, c);
    let mx = <f64>load<T>(o);
    for (let j = 1; j < c; j++) {
      const v = <f64>load<T>(o + <usize>j * sz);
      if (v > mx) mx = v;
    }
    let s: f64 = 0;
    for (let j = 0; j < c; j++) s += Math.exp(<f64>load<T>(o + <usize>j * sz) - mx);
    const inv = 1.0 / s;
    for (let j = 0; j < c; j++) {
      const p = Math.exp(<f64>load<T>(o + <usize>j * sz) - mx) * inv;
      store<T>(d + <usize>j * sz, <T>(j == cls ? p - 1.0 : p));
    }
    total += Math.log(s) + mx - <f64>load<T>(o + <usize>cls * sz);
  }
  return total;
}

// @ts-ignore: decorator
@inline
function argmaxAgree<T>(out: usize, y: usize, rows: i32, c: i32): i32 {
  const rb = <usize>c * <usize>sizeof<T>();
  let n = 0;
  for (let r = 0; r < rows; r++) {
    if (argmaxRow<T>(out + <usize>r * rb, c) == argmaxRow<T>(y + <usize>r * rb, c)) n++;
  }
  return n;
}

/** Softmax cross-entropy vs the arg-max class of y: returns the summed loss, writes delta, f32. */
export function xent_f32(out: usize, y: usize, delta: usize, rows: i32, c: i32): f64 {
  return xent<f32>(out, y, delta, rows, c);
}
/** Softmax cross-entropy vs the arg-max class of y: returns the summed loss, writes delta, f64. */
export function xent_f64(out: usize, y: usize, delta: usize, rows: i32, c: i32): f64 {
  return xent<f64>(out, y, delta, rows, c);
}
/** Rows whose arg-max of out equals the arg-max of y, f32. */
export function argmax_agree_f32(out: usize, y: usize, rows: i32, c: i32): i32 {
  return argmaxAgree<f32>(out, y, rows, c);
}
/** Rows whose arg-max of out equals the arg-max of y, f64. */
export function argmax_agree_f64(out: usize, y: usize, rows: i32, c: i32): i32 {
  return argmaxAgree<f64>(out, y, rows, c);
}
