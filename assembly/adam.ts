// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// The Adam update of PyTorch's torch.optim.Adam (single-tensor path, amsgrad off, L2 weight decay
// added to the gradient), f32 and f64, element by element in this order:
//   g' = g + wd·w                      (only when wd ≠ 0)
//   m  = m + (1 − β1)·(g' − m)         (torch's lerp)
//   v  = v·β2 + ((1 − β2)·g')·g'       (torch's addcmul)
//   w  = w + (−stepSize·m) / (sqrt(v) / bc2sqrt + eps)   (torch's addcdiv)
// with stepSize = lr / (1 − β1^t) and bc2sqrt = sqrt(1 − β2^t) computed by the caller in f64.
// Scalars arrive as f64 and are rounded once to the element type. g is not written.

// @ts-ignore: decorator
@inline
function adam<T>(
  w: usize, g: usize, m: usize, v: usize, len: i32,
  stepSize: f64, beta1: f64, beta2: f64, eps: f64, wd: f64, bc2sqrt: f64,
): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const a1 = <T>(1.0 - beta1), b2 = <T>beta2, a2 = <T>(1.0 - beta2);
  const neg = <T>(-stepSize), se = <T>eps, swd = <T>wd, sb = <T>bc2sqrt;
  const va1 = v128.splat<T>(a1), vb2 = v128.splat<T>(b2), va2 = v128.splat<T>(a2);
  const vneg = v128.splat<T>(neg), ve = v128.splat<T>(se), vwd = v128.splat<T>(swd);
  const vb = v128.splat<T>(sb);
  const decay = wd != 0;
  let i = 0;
  for (; i + L <= len; i += L) {
    const o = <usize>i * sz;
    const wv = v128.load(w + o);
    let gv = v128.load(g + o);
    if (decay) gv = v128.add<T>(gv, v128.mul<T>(vwd, wv));
    const mo = v128.load(m + o);
    const mv = v128.add<T>(mo, v128.mul<T>(va1, v128.sub<T>(gv, mo)));
    const vv = v128.add<T>(v128.mul<T>(v128.load(v + o), vb2), v128.mul<T>(v128.mul<T>(va2, gv), gv));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const den = v128.add<T>(v128.div<T>(v128.sqrt<T>(vv), vb), ve);
    v128.store(w + o, v128.add<T>(wv, v128.div<T>(v128.mul<T>(vneg, mv), den)));
  }
  for (; i < len; i++) {
    const o = <usize>i * sz;
    const wv = load<T>(w + o);
    let gv = load<T>(g + o);
    if (decay) gv = gv + swd * wv;
    const mo = load<T>(m + o);
    const mv = mo + a1 * (gv - mo);
    const vv = load<T>(v + o) * b2 + (a2 * gv) * gv;
    store<T>(m + o, mv);
    store<T>(v + o, vv);
    const den = <T>sqrt<T>(vv) / sb + se;
    store<T>(w + o, wv + (neg * mv) / den);
  }
}

/** Adam step (PyTorch's update rule), f32. */
export function adam_update_f32(
  w: usize, g: usize, m: usize, v: usize, len: i32,
  step_size: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, bc2sqrt: f64,
): void {
  adam<f32>(w, g, m, v, len, step_size, beta1, beta2, eps, weight_decay, bc2sqrt);
}
/** Adam step (PyTorch's update rule), f64. */
export function adam_update_f64(
  w: usize, g: usize, m: usize, v: usize, len: i32,
  step_size: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, bc2sqrt: f64,
): void {
  adam<f64>(w, g, m, v, len, step_size, beta1, beta2, eps, weight_decay, bc2sqrt);
}
