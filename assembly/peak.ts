// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// SIMD peak probes: 12 independent chains x = x·mul + add (a v128 multiply then a separate v128
// add, never fused), enough chains to hide the mul+add latency on 2 multiply + 2 add pipes.
// FLOPs per iteration: 12 chains × 2 ops × 4 lanes = 96 for f32; 12 × 2 × 2 = 48 for f64.
// mul and add arrive as arguments: a v128 constant folded into the loop would be rebuilt by V8
// on every use. The result sums every chain so nothing is dead code. With |mul| < 1 the chains
// converge to add/(1 − mul): no overflow and no subnormals.

/** Peak probe, f32x4: returns the sum of all lanes of all chains after `iters` iterations. */
export function peak_f32(iters: i32, mul: f32, add: f32): f32 {
  const m = f32x4.splat(mul);
  const a = f32x4.splat(add);
  let x0 = f32x4.splat(add), x1 = f32x4.splat(add * 2), x2 = f32x4.splat(add * 3);
  let x3 = f32x4.splat(add * 4), x4 = f32x4.splat(add * 5), x5 = f32x4.splat(add * 6);
  let x6 = f32x4.splat(add * 7), x7 = f32x4.splat(add * 8), x8 = f32x4.splat(add * 9);
  let x9 = f32x4.splat(add * 10), x10 = f32x4.splat(add * 11), x11 = f32x4.splat(add * 12);
  for (let i = 0; i < iters; i++) {
    x0 = f32x4.add(f32x4.mul(x0, m), a);
    x1 = f32x4.add(f32x4.mul(x1, m), a);
    x2 = f32x4.add(f32x4.mul(x2, m), a);
    x3 = f32x4.add(f32x4.mul(x3, m), a);
    x4 = f32x4.add(f32x4.mul(x4, m), a);
    x5 = f32x4.add(f32x4.mul(x5, m), a);
    x6 = f32x4.add(f32x4.mul(x6, m), a);
    x7 = f32x4.add(f32x4.mul(x7, m), a);
    x8 = f32x4.add(f32x4.mul(x8, m), a);
    x9 = f32x4.add(f32x4.mul(x9, m), a);
    x10 = f32x4.add(f32x4.mul(x10, m), a);
    x11 = f32x4.add(f32x4.mul(x11, m), a);
  }
  const s = f32x4.add(
    f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(x4, x5)),
    f32x4.add(f32x4.add(f32x4.add(x6, x7), f32x4.add(x8, x9)), f32x4.add(x10, x11)),
  );
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) +
    f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Peak probe, f64x2: returns the sum of all lanes of all chains after `iters` iterations. */
export function peak_f64(iters: i32, mul: f64, add: f64): f64 {
  const m = f64x2.splat(mul);
  const a = f64x2.splat(add);
  let x0 = f64x2.splat(add), x1 = f64x2.splat(add * 2), x2 = f64x2.splat(add * 3);
  let x3 = f64x2.splat(add * 4), x4 = f64x2.splat(add * 5), x5 = f64x2.splat(add * 6);
  let x6 = f64x2.splat(add * 7), x7 = f64x2.splat(add * 8), x8 = f64x2.splat(add * 9);
  let x9 = f64x2.splat(add * 10), x10 = f64x2.splat(add * 11), x11 = f64x2.splat(add * 12);
  for (let i = 0; i < iters; i++) {
    x0 = f64x2.add(f64x2.mul(x0, m), a);
    x1 = f64x2.add(f64x2.mul(x1, m), a);
    x2 = f64x2.add(f64x2.mul(x2, m), a);
    x3 = f64x2.add(f64x2.mul(x3, m), a);
    x4 = f64x2.add(f64x2.mul(x4, m), a);
    x5 = f64x2.add(f64x2.mul(x5, m), a);
    x6 = f64x2.add(f64x2.mul(x6, m), a);
    x7 = f64x2.add(f64x2.mul(x7, m), a);
    x8 = f64x2.add(f64x2.mul(x8, m), a);
    x9 = f64x2.add(f64x2.mul(x9, m), a);
    x10 = f64x2.add(f64x2.mul(x10, m), a);
    x11 = f64x2.add(f64x2.mul(x11, m), a);
  }
  const s = f64x2.add(
    f64x2.add(f64x2.add(f64x2.add(x0, x1), f64x2.add(x2, x3)), f64x2.add(x4, x5)),
    f64x2.add(f64x2.add(f64x2.add(x6, x7), f64x2.add(x8, x9)), f64x2.add(x10, x11)),
  );
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}
