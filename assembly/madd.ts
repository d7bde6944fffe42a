// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// The multiply-add of the matrix products' micro-kernels, c + a·b per lane, chosen at build time:
// - the default targets (relaxed SIMD disabled) multiply, round, add and round again, so every
//   product is the same sequence of IEEE operations on every machine: the bits are reproducible;
// - the `fma` target (relaxed SIMD enabled, `--fma` at run time) uses relaxed_madd, which engines
//   lower to one fused multiply-add (one rounding) where the CPU has FMA: faster, but the bits
//   depend on the CPU and differ from the default build's.

/** c + a·b, lane by lane (see the module comment for the rounding). */
// @ts-ignore: decorator
@inline
export function madd<T>(c: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return v128.relaxed_madd<T>(a, b, c);
  return v128.add<T>(c, v128.mul<T>(a, b));
}
