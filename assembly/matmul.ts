// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// Dense row-major matrix products C(m×n) (+)= op(A)·op(B) for f32 and f64.
//
// Layout: every matrix is dense row-major, element (i, j) of an r×c matrix at ptr + (i*c + j)*size.
// Pointers are byte offsets into the module's memory. Kernels never allocate and never trap on
// valid arguments: B is packed into a scratch region (PACK) reserved between the static data and
// heap_start(), so callers' allocations can never overlap it; nothing is read outside the operands.
//
// Algorithm (GotoBLAS-style, A read in place): for each block of NC columns and KC rows of k,
// B is packed into micro-panels of NR columns (NR = two v128 vectors: 8 f32 or 4 f64), zero padded
// on the right; products with few rows (m ≤ DIRECT_B_ROWS, e.g. a minibatch times a weight
// matrix) read full panels of a row-major B in place instead, since each packed element would be
// used by only a few row blocks, and pack only a last partial panel. A 4×NR register-blocked
// micro-kernel then walks k, broadcasting one element of each of 4 rows of op(A) (v128.load_splat,
// straight from A, whichever way it is stored) and multiplying it by the two B vectors: 8
// accumulators, separate mul and add (no FMA), started from zero, from C or from the bias row.
// Each C element is therefore always the sequential sum
// ((c + a0·b0) + a1·b1) + … in k order, whatever the blocking, the edge handling or the variant:
// results are deterministic and identical between full and edge tiles. Edge tiles (fewer than 4
// rows or NR columns) reuse the same micro-kernel: missing A rows alias row 0 and C goes through a
// small tile in scratch, of which only the valid part is copied back; an edge panel with at most
// one vector of valid columns uses a 4×1-vector variant of the micro-kernel. Large products whose
// op(A) is at least 2/5 zeros take the zero-skipping path instead (sparseGemm, below), which
// computes the same sums without their ±0 terms.
//
// Fusion: `gemm_*` also starts C from a bias row (C = bias + A·B, the same sums as filling C with
// the bias and accumulating) and applies an epilogue to each finished tile while it is in cache:
// the leaky ReLU with its gate (epi 1, the same operations as relu_fwd) or the product with a gate
// (epi 2, as relu_bwd). It computes only the rows i0..i1-1 and columns j0..j1-1 of C, so threads
// sharing one memory split a product by rows or columns (each with its own scratch, see
// set_scratch): every element is still
// computed by one thread in the same order, so the bits do not depend on the split.

/** Rows of the register block. */
const MR: i32 = 4;
/** Rows of k per packed block (B micro-panel kc×NR: 8 KiB, fits L1). */
const KC: i32 = 256;
/** Bytes reserved for packed B panels (KC × NC elements). */
const PACK_BYTES: i32 = 256 * 1024;
/** Bytes of the C edge tile (MR × NR elements = 4 × 32 bytes). */
const TILE_BYTES: i32 = 128;
/** Products with at most this many rows read B in place (no packing): each packed element would
 * be used by too few row blocks to repay its copy. */
const DIRECT_B_ROWS: i32 = 32;
/** The zero-skipping path (sparseGemm) costs about 1.5× the dense kernel per term it computes
 * (each term loads its B vectors for one row of C), so it runs only when at least 2/5 of op(A)
 * is zero, with at least SPARSE_MIN_COLS vectors of columns and SPARSE_MIN_MACS multiply-adds (below, the zero count and
 * the finiteness check of B cost more than they save). */
const SPARSE_MIN_COLS: i32 = 4;
const SPARSE_MIN_MACS: i64 = 1 << 18;
/** Vectors of ones (passed in, not rebuilt in loops: see the relu kernels). */
const ONE_F32_DATA: usize = memory.data<f32>([1, 1, 1, 1], 16);
const ONE_F64_DATA: usize = memory.data<f64>([1, 1], 16);

/** Bytes of the list of nonzero k steps of one row of op(A) (KC pairs of a u32 offset and an
 * element, 16 bytes each in f64; see sparseGemm): the lists go to the packing area, which the
 * zero-skipping path does not use otherwise; an IDX area of this size holds their ends. */
const IDX_BYTES: i32 = KC * 16;
/** Rows of op(A) whose nonzero lists the zero-skipping path keeps at once (in the packing area). */
const SPARSE_ROWS: i32 = PACK_BYTES / IDX_BYTES;
/** The zero-skipping path runs SPARSE_ROWS rows together (each column chunk of B then serves
 * them all from L1) when the part of B one row reads, kc × columns, is larger than this (it would
 * not stay in L2 from one row to the next); otherwise row by row (each row's list stays in L1). */
const SPARSE_GROUP_BYTES: i64 = 256 * 1024;
/** Bytes of one thread's scratch: packed B (or the nonzero lists), the edge tile, the lists'
 * ends. */
const SCRATCH_BYTES: i32 = PACK_BYTES + TILE_BYTES + IDX_BYTES;
/** The first instance's scratch: right after the static data (not a data segment, so that
 * instantiating the module on a shared memory never rewrites it), before heap_start(). */
const SCRATCH0: usize = (__heap_base + 63) & ~<usize>63;

// This instance's scratch (globals are per instance, memory may be shared between instances).
let PACK: usize = SCRATCH0;
let TILE: usize = SCRATCH0 + <usize>PACK_BYTES;
let IDX: usize = SCRATCH0 + <usize>(PACK_BYTES + TILE_BYTES);

/** Bytes of scratch each instance needs (for set_scratch). */
export function scratch_bytes(): i32 {
  return SCRATCH_BYTES;
}

/** Moves this instance's matmul scratch to ptr (64-byte aligned, scratch_bytes() long): every
 * instance sharing one memory needs its own. */
export function set_scratch(ptr: usize): void {
  PACK = ptr;
  TILE = ptr + <usize>PACK_BYTES;
  IDX = TILE + <usize>TILE_BYTES;
}

/** The 4×NR micro-kernel. a0..a3: the four rows of op(A) at the first k step, each advancing ka
 * bytes per step (missing rows of an edge tile alias row 0); bp: B at the first k step, NR
 * contiguous elements per step, advancing kb bytes (a packed micro-panel: 32; B read in place: its
 * row stride); c: C tile with row stride ldc bytes. init 0: the sums start from zero, 1: from C,
 * 2: from the bias row at bias (NR elements, the same for every row). */
// @ts-ignore: decorator
@inline
function micro<T>(
  a0: usize, a1: usize, a2: usize, a3: usize, ka: usize, bp: usize, kb: usize, kc: i32,
  c: usize, ldc: usize, init: i32, bias: usize,
): void {
  let c00 = v128.splat<T>(<T>0), c01 = c00, c10 = c00, c11 = c00;
  let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (init == 1) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
  } else if (init == 2) {
    c00 = v128.load(bias); c01 = v128.load(bias, 16);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  }
  // Two k steps per iteration (same order of operations as one at a time), then the odd step.
  const o1 = a1 - a0, o2 = a2 - a0, o3 = a3 - a0;
  let ap = a0;
  const apEnd2 = a0 + <usize>(kc & ~1) * ka;
  while (ap < apEnd2) {
    {
      const b0 = v128.load(bp, 0);
      const b1 = v128.load(bp, 16);
      let s = v128.load_splat<T>(ap);
      c00 = madd<T>(c00, s, b0);
      c01 = madd<T>(c01, s, b1);
      s = v128.load_splat<T>(ap + o1);
      c10 = madd<T>(c10, s, b0);
      c11 = madd<T>(c11, s, b1);
      s = v128.load_splat<T>(ap + o2);
      c20 = madd<T>(c20, s, b0);
      c21 = madd<T>(c21, s, b1);
      s = v128.load_splat<T>(ap + o3);
      c30 = madd<T>(c30, s, b0);
      c31 = madd<T>(c31, s, b1);
    }
    ap += ka;
    bp += kb;
    {
      const b0 = v128.load(bp, 0);
      const b1 = v128.load(bp, 16);
      let s = v128.load_splat<T>(ap);
      c00 = madd<T>(c00, s, b0);
      c01 = madd<T>(c01, s, b1);
      s = v128.load_splat<T>(ap + o1);
      c10 = madd<T>(c10, s, b0);
      c11 = madd<T>(c11, s, b1);
      s = v128.load_splat<T>(ap + o2);
      c20 = madd<T>(c20, s, b0);
      c21 = madd<T>(c21, s, b1);
      s = v128.load_splat<T>(ap + o3);
      c30 = madd<T>(c30, s, b0);
      c31 = madd<T>(c31, s, b1);
    }
    ap += ka;
    bp += kb;
  }
  if (kc & 1) {
    const b0 = v128.load(bp, 0);
    const b1 = v128.load(bp, 16);
    let s = v128.load_splat<T>(ap);
    c00 = madd<T>(c00, s, b0);
    c01 = madd<T>(c01, s, b1);
    s = v128.load_splat<T>(ap + o1);
    c10 = madd<T>(c10, s, b0);
    c11 = madd<T>(c11, s, b1);
    s = v128.load_splat<T>(ap + o2);
    c20 = madd<T>(c20, s, b0);
    c21 = madd<T>(c21, s, b1);
    s = v128.load_splat<T>(ap + o3);
    c30 = madd<T>(c30, s, b0);
    c31 = madd<T>(c31, s, b1);
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

// The micro-kernels' multiply-add: mul then add here, fused in the `fma` build target (madd.ts).
import { madd } from "./madd";

/** The 4×1-vector micro-kernel for edge panels of at most one vector of valid columns: same
 * operations, in the same order, as the first vector of `micro` (init 0 or 1 only). */
// @ts-ignore: decorator
@inline
function micro1<T>(
  a0: usize, a1: usize, a2: usize, a3: usize, ka: usize, bp: usize, kb: usize, kc: i32,
  c: usize, ldc: usize, loadC: bool,
): void {
  let c0 = v128.splat<T>(<T>0), c1 = c0, c2 = c0, c3 = c0;
  if (loadC) {
    c0 = v128.load(c);
    c1 = v128.load(c + ldc);
    c2 = v128.load(c + 2 * ldc);
    c3 = v128.load(c + 3 * ldc);
  }
  const o1 = a1 - a0, o2 = a2 - a0, o3 = a3 - a0;
  let ap = a0;
  const apEnd = a0 + <usize>kc * ka;
  while (ap < apEnd) {
    const b0 = v128.load(bp);
    c0 = madd<T>(c0, v128.load_splat<T>(ap), b0);
    c1 = madd<T>(c1, v128.load_splat<T>(ap + o1), b0);
    c2 = madd<T>(c2, v128.load_splat<T>(ap + o2), b0);
    c3 = madd<T>(c3, v128.load_splat<T>(ap + o3), b0);
    ap += ka;
    bp += kb;
  }
  v128.store(c, c0);
  v128.store(c + ldc, c1);
  v128.store(c + 2 * ldc, c2);
  v128.store(c + 3 * ldc, c3);
}

/** Copies rows×cols elements between two row-major tiles (row strides in bytes). */
// @ts-ignore: decorator
@inline
function tileCopy<T>(dst: usize, ldd: usize, src: usize, lds: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const o = <usize>j * sizeof<T>();
      store<T>(dst + o, load<T>(src + o));
    }
    dst += ldd;
    src += lds;
  }
}

/** Packs B rows pc..pc+kc, columns jc..jc+ncb of a row-major k×n B (mode nn/tn). */
// @ts-ignore: decorator
@inline
function packN<T>(b: usize, n: i32, jc: i32, pc: i32, ncb: i32, kc: i32): void {
  const sz = <usize>sizeof<T>();
  const NR = 32 / sizeof<T>();
  let dst = PACK;
  for (let j = 0; j < ncb; j += NR) {
    const cols = min(NR, ncb - j);
    let src = b + (<usize>pc * <usize>n + <usize>(jc + j)) * sz;
    const ld = <usize>n * sz;
    if (cols == NR) {
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += ld; dst += 32;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        v128.store(dst, i64x2.splat(0));
        v128.store(dst, i64x2.splat(0), 16);
        for (let jj = 0; jj < cols; jj++) store<T>(dst + <usize>jj * sz, load<T>(src + <usize>jj * sz));
        src += ld; dst += 32;
      }
    }
  }
}

/** Packs the same block for a row-major n×k B used transposed (mode nt): full panels are
 * transposed in 4×4 (f32) or 2×2 (f64) register blocks, the rest element by element. */
// @ts-ignore: decorator
@inline
function packT<T>(b: usize, k: i32, jc: i32, pc: i32, ncb: i32, kc: i32): void {
  const sz = <usize>sizeof<T>();
  const NR = 32 / sizeof<T>();
  const ldb = <usize>k * sz;
  let panel = PACK;
  for (let j = 0; j < ncb; j += NR) {
    const cols = min(NR, ncb - j);
    const src = b + (<usize>(jc + j) * <usize>k + <usize>pc) * sz;
    let p = 0;
    if (cols == NR) {
      let dst = panel;
      if (sizeof<T>() == 4) {
        for (; p + 4 <= kc; p += 4) {
          const s = src + (<usize>p << 2);
          for (let h: usize = 0; h < 2; h++) {
            const q = s + 4 * h * ldb;
            const r0 = v128.load(q), r1 = v128.load(q + ldb);
            const r2 = v128.load(q + 2 * ldb), r3 = v128.load(q + 3 * ldb);
            const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
            const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
            const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
            const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
            const d = dst + (h << 4);
            v128.store(d, v128.shuffle<i64>(t0, t2, 0, 2));
            v128.store(d, v128.shuffle<i64>(t0, t2, 1, 3), 32);
            v128.store(d, v128.shuffle<i64>(t1, t3, 0, 2), 64);
            v128.store(d, v128.shuffle<i64>(t1, t3, 1, 3), 96);
          }
          dst += 128;
        }
      } else {
        for (; p + 2 <= kc; p += 2) {
          const s = src + (<usize>p << 3);
          const r0 = v128.load(s), r1 = v128.load(s + ldb);
          const r2 = v128.load(s + 2 * ldb), r3 = v128.load(s + 3 * ldb);
          v128.store(dst, v128.shuffle<i64>(r0, r1, 0, 2));
          v128.store(dst, v128.shuffle<i64>(r2, r3, 0, 2), 16);
          v128.store(dst, v128.shuffle<i64>(r0, r1, 1, 3), 32);
          v128.store(dst, v128.shuffle<i64>(r2, r3, 1, 3), 48);
          dst += 64;
        }
      }
    }
    // Remaining k steps (and every step of a partial panel), element by element, zero padded.
    for (let jj = 0; jj < NR; jj++) {
      let dst = panel + <usize>p * 32 + <usize>jj * sz;
      if (jj < cols) {
        let s = src + <usize>jj * ldb + <usize>p * sz;
        for (let q = p; q < kc; q++) {
          store<T>(dst, load<T>(s));
          s += sz; dst += 32;
        }
      } else {
        for (let q = p; q < kc; q++) {
          store<T>(dst, <T>0);
          dst += 32;
        }
      }
    }
    panel += <usize>kc * 32;
  }
}

/** Epilogue over rows×cols of a finished C tile at cp (row stride ldc bytes); y and gate at the
 * same element offset o (bytes) of their m×n matrices. epi 1: y = c > 0 ? c : slope·c and
 * gate = c > 0 ? 1 : slope (as relu_fwd); epi 2: c = c·gate (as relu_bwd). */
// @ts-ignore: decorator
@inline
function epilogue<T>(
  cp: usize, y: usize, gate: usize, o: usize, ldc: usize, rows: i32, cols: i32, epi: i32,
  vs: v128, one: v128, s: T,
): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const zero = v128.splat<T>(<T>0);
  let yp = y + o, gp = gate + o;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    if (epi == 1) {
      for (; j + L <= cols; j += L) {
        const q = <usize>j * sz;
        const v = v128.load(cp + q);
        const pos = v128.gt<T>(v, zero);
        v128.store(yp + q, v128.bitselect(v, v128.mul<T>(v, vs), pos));
        v128.store(gp + q, v128.bitselect(one, vs, pos));
      }
      for (; j < cols; j++) {
        const q = <usize>j * sz;
        const v = load<T>(cp + q);
        const pos = v > <T>0;
        store<T>(yp + q, pos ? v : v * s);
        store<T>(gp + q, pos ? <T>1 : s);
      }
    } else {
      for (; j + L <= cols; j += L) {
        const q = <usize>j * sz;
        v128.store(cp + q, v128.mul<T>(v128.load(cp + q), v128.load(gp + q)));
      }
      for (; j < cols; j++) {
        const q = <usize>j * sz;
        store<T>(cp + q, load<T>(cp + q) * load<T>(gp + q));
      }
    }
    cp += ldc; yp += ldc; gp += ldc;
  }
}

/** Fills rows×cols of a tile (row stride ld bytes) with the bias elements at bp. */
// @ts-ignore: decorator
@inline
function biasFill<T>(dst: usize, ld: usize, bp: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const o = <usize>j * sizeof<T>();
      store<T>(dst + o, load<T>(bp + o));
    }
    dst += ld;
  }
}

// Zero-skipping ("sparse A") path. A ReLU layer's outputs are about half zeros, so in h·W (the
// next layer's forward) and hᵀ·δ (its weight gradient) about half of the terms a·b have a = ±0.
// For each row of op(A) the k steps with a ≠ 0 are listed, and each row of C is the sequential sum
// over that list only, vectorised across the columns (the B rows are read in place), row by row
// or, when one row's part of B would not stay in L2, for a group of rows at a time per column
// chunk. Skipping a term a·b with a = ±0 and b finite leaves the bits unchanged: a·b is ±0 and
// c + (±0) = c for c ≠ 0 and for c = +0 (round to nearest), and a sum started from +0 never becomes
// −0 (x + y = −0 only when both are −0). So the path is taken only when the sums start from +0 or
// from a bias row without −0 (not when accumulating into C) and every element of B is finite
// (0·∞ is NaN); otherwise, or with too few zeros to pay, the dense kernel runs. Either way every
// element is the same sequential sum, bit for bit (tests/matmul_bits_test.ts).

/** 4 vectors of one row of C (see sparseGemm). */
// @ts-ignore: decorator
@inline
function chunk4<T>(bp: usize, e0: usize, end: usize, cp: usize, init: i32, ip: usize): void {
  let c0 = v128.splat<T>(<T>0), c1 = c0, c2 = c0, c3 = c0;
  if (init != 0) {
    c0 = v128.load(ip, 0);
    c1 = v128.load(ip, 16);
    c2 = v128.load(ip, 32);
    c3 = v128.load(ip, 48);
  }
  for (let e = e0; e < end; e += 2 * sizeof<T>()) {
    const b = bp + <usize>load<u32>(e);
    const s = v128.load_splat<T>(e, sizeof<T>());
    c0 = madd<T>(c0, s, v128.load(b, 0));
    c1 = madd<T>(c1, s, v128.load(b, 16));
    c2 = madd<T>(c2, s, v128.load(b, 32));
    c3 = madd<T>(c3, s, v128.load(b, 48));
  }
  v128.store(cp, c0, 0);
  v128.store(cp, c1, 16);
  v128.store(cp, c2, 32);
  v128.store(cp, c3, 48);
}

/** 2 vectors of one row of C (see sparseGemm). */
// @ts-ignore: decorator
@inline
function chunk2<T>(bp: usize, e0: usize, end: usize, cp: usize, init: i32, ip: usize): void {
  let c0 = v128.splat<T>(<T>0), c1 = c0;
  if (init != 0) {
    c0 = v128.load(ip, 0);
    c1 = v128.load(ip, 16);
  }
  for (let e = e0; e < end; e += 2 * sizeof<T>()) {
    const b = bp + <usize>load<u32>(e);
    const s = v128.load_splat<T>(e, sizeof<T>());
    c0 = madd<T>(c0, s, v128.load(b, 0));
    c1 = madd<T>(c1, s, v128.load(b, 16));
  }
  v128.store(cp, c0, 0);
  v128.store(cp, c1, 16);
}

/** 1 vector of one row of C (see sparseGemm). */
// @ts-ignore: decorator
@inline
function chunk1<T>(bp: usize, e0: usize, end: usize, cp: usize, init: i32, ip: usize): void {
  let c0 = v128.splat<T>(<T>0);
  if (init != 0) {
    c0 = v128.load(ip, 0);
  }
  for (let e = e0; e < end; e += 2 * sizeof<T>()) {
    const b = bp + <usize>load<u32>(e);
    const s = v128.load_splat<T>(e, sizeof<T>());
    c0 = madd<T>(c0, s, v128.load(b, 0));
  }
  v128.store(cp, c0, 0);
}

/** Count of zero elements (±0) among len elements at a. */
// @ts-ignore: decorator
@inline
function countZeros<T>(a: usize, len: i32): i32 {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const zero = v128.splat<T>(<T>0);
  let cnt = i32x4.splat(0);
  let i = 0;
  for (; i + L <= len; i += L) {
    const z = v128.eq<T>(v128.load(a + <usize>i * sz), zero);
    cnt = sizeof<T>() == 4 ? i32x4.sub(cnt, z) : i64x2.sub(cnt, z);
  }
  let total = sizeof<T>() == 4
    ? i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) +
      i32x4.extract_lane(cnt, 3)
    : <i32>(i64x2.extract_lane(cnt, 0) + i64x2.extract_lane(cnt, 1));
  for (; i < len; i++) if (load<T>(a + <usize>i * sz) == <T>0) total++;
  return total;
}

/** Whether every element of the rows×cols block at b (row stride ldb bytes) is finite. */
// @ts-ignore: decorator
@inline
function allFinite<T>(b: usize, ldb: usize, rows: i32, cols: i32): bool {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const zero = v128.splat<T>(<T>0);
  // x·0 is ±0 for finite x and NaN otherwise; NaN stays in the sum.
  let acc = zero;
  let t: T = 0;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j + L <= cols; j += L) acc = v128.add<T>(acc, v128.mul<T>(v128.load(b + <usize>j * sz), zero));
    for (; j < cols; j++) t += load<T>(b + <usize>j * sz) * <T>0;
    b += ldb;
  }
  acc = v128.ne<T>(acc, acc);
  return !v128.any_true(acc) && t == t;
}

/** Whether any of the len elements at p is −0. */
// @ts-ignore: decorator
@inline
function hasNegZero<T>(p: usize, len: i32): bool {
  for (let j = 0; j < len; j++) {
    const v = load<T>(p + <usize>j * sizeof<T>());
    if (v == <T>0 && 1 / v < 0) return true;
  }
  return false;
}

/** One element of a sparse row beyond the last whole vector: the same lane operations. */
// @ts-ignore: decorator
@inline
function sparseScalar<T>(bp: usize, e0: usize, end: usize, init: T): T {
  let c = v128.splat<T>(init);
  for (let e = e0; e < end; e += 2 * sizeof<T>()) {
    const b = bp + <usize>load<u32>(e);
    c = madd<T>(c, v128.load_splat<T>(e, sizeof<T>()), v128.load_splat<T>(b));
  }
  return sizeof<T>() == 4 ? <T>f32x4.extract_lane(c, 0) : <T>f64x2.extract_lane(c, 0);
}

/** The zero-skipping product (see above): rows i0..i1-1 and columns j0..j1-1 of
 * C = [bias +] op(A)·B, op(A) row i at k step p at a + i·ra + p·ka, B row-major k×n; then the
 * epilogue. */
// @ts-ignore: decorator
@inline
function sparseGemm<T>(
  a: usize, ra: usize, ka: usize, b: usize, c: usize, k: i32, n: i32, bias: usize,
  epi: i32, y: usize, gate: usize, vs: v128, one: v128, s: T, i0: i32, i1: i32, j0: i32, j1: i32,
): void {
  const sz = <usize>sizeof<T>();
  const L = 16 / sizeof<T>();
  const ldc = <usize>n * sz, ldb = <usize>n * sz;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    const first = pc == 0, last = pc + kc == k;
    const bBlock = b + <usize>pc * ldb;
    // sums start from zero (init 0), the bias (first block) or C (later blocks)
    const init = first ? (bias != 0 ? 1 : 0) : 1;
    const group = <i64>kc * <i64>(j1 - j0) * <i64>sz > SPARSE_GROUP_BYTES ? SPARSE_ROWS : 1;
    for (let g = i0; g < i1; g += group) {
      const rows = min(group, i1 - g);
      // the nonzero k steps of each row of the group, branch-free: (offset of B's row, a) pairs,
      // row r's list at PACK + r·IDX_BYTES, its end at IDX + 4r
      for (let r = 0; r < rows; r++) {
        let e = PACK + <usize>r * IDX_BYTES;
        let q = a + <usize>(g + r) * ra + <usize>pc * ka;
        let bo: usize = 0;
        for (let p = 0; p < kc; p++) {
          const v = load<T>(q);
          store<u32>(e, <u32>bo);
          store<T>(e, v, sizeof<T>());
          e += v != <T>0 ? 2 * sizeof<T>() : 0;
          q += ka;
          bo += ldb;
        }
        store<u32>(IDX + (<usize>r << 2), <u32>e);
      }
      // Column chunk outside, rows inside: the chunk's kc rows of B stay in L1 for the group.
      let j = j0;
      for (; j + 4 * L <= j1; j += 4 * L) {
        const o = <usize>j * sz;
        for (let r = 0; r < rows; r++) {
          const crow = c + <usize>(g + r) * ldc, e0 = PACK + <usize>r * IDX_BYTES;
          const end = <usize>load<u32>(IDX + (<usize>r << 2));
          chunk4<T>(bBlock + o, e0, end, crow + o, init, (first ? bias : crow) + o);
        }
      }
      if (j + 2 * L <= j1) {
        const o = <usize>j * sz;
        for (let r = 0; r < rows; r++) {
          const crow = c + <usize>(g + r) * ldc, e0 = PACK + <usize>r * IDX_BYTES;
          const end = <usize>load<u32>(IDX + (<usize>r << 2));
          chunk2<T>(bBlock + o, e0, end, crow + o, init, (first ? bias : crow) + o);
        }
        j += 2 * L;
      }
      if (j + L <= j1) {
        const o = <usize>j * sz;
        for (let r = 0; r < rows; r++) {
          const crow = c + <usize>(g + r) * ldc, e0 = PACK + <usize>r * IDX_BYTES;
          const end = <usize>load<u32>(IDX + (<usize>r << 2));
          chunk1<T>(bBlock + o, e0, end, crow + o, init, (first ? bias : crow) + o);
        }
        j += L;
      }
      for (; j < j1; j++) {
        const o = <usize>j * sz;
        for (let r = 0; r < rows; r++) {
          const crow = c + <usize>(g + r) * ldc, e0 = PACK + <usize>r * IDX_BYTES;
          const end = <usize>load<u32>(IDX + (<usize>r << 2));
          const src = first ? bias : crow;
          const c0 = init != 0 ? load<T>(src + o) : <T>0;
          store<T>(crow + o, sparseScalar<T>(bBlock + o, e0, end, c0));
        }
      }
      if (last && epi != 0) {
        const o = <usize>g * ldc + <usize>j0 * sz;
        epilogue<T>(c + o, y, gate, o, ldc, rows, j1 - j0, epi, vs, one, s);
      }
    }
  }
}

/** mode 0: C = A·B (A m×k, B k×n); 1: C = A·Bᵀ (B n×k); 2: C = Aᵀ·B (A k×m). Only rows
 * i0..i1-1 and columns j0..j1-1 of C. C starts from C (acc), the bias row at `bias` (bias != 0,
 * acc 0) or zero; then the epilogue epi (0 none, 1 leaky ReLU into y and gate, 2 times gate). */
// @ts-ignore: decorator
@inline
function gemm<T>(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32, mode: i32,
  bias: usize, epi: i32, y: usize, gate: usize, slope: f64, one: v128, i0: i32, i1: i32, j0: i32,
  j1: i32,
): void {
  const sz = <usize>sizeof<T>();
  const NR = 32 / sizeof<T>();
  if (j1 > n) j1 = n;
  if (i1 > m) i1 = m;
  if (i1 <= i0 || j1 <= j0) return;
  const ldc = <usize>n * sz;
  const s = <T>slope;
  const vs = v128.splat<T>(s);
  const useBias = bias != 0 && acc == 0;
  if (k <= 0) {
    for (let i = i0; i < i1; i++) {
      const cp = c + <usize>i * ldc + <usize>j0 * sz;
      if (useBias) biasFill<T>(cp, ldc, bias + <usize>j0 * sz, 1, j1 - j0);
      else if (acc == 0) memory.fill(cp, 0, <usize>(j1 - j0) * sz);
    }
    if (epi != 0) {
      const o = <usize>i0 * ldc + <usize>j0 * sz;
      epilogue<T>(c + o, y, gate, o, ldc, i1 - i0, j1 - j0, epi, vs, one, s);
    }
    return;
  }
  // op(A) is read in place: row i of op(A) at k step p is at a + i·ra + p·ka.
  const ra = mode == 2 ? sz : <usize>k * sz, ka = mode == 2 ? <usize>m * sz : sz;
  if (
    mode != 1 && acc == 0 && j1 - j0 >= SPARSE_MIN_COLS * (16 / sizeof<T>()) &&
    <i64>m * <i64>k * <i64>(j1 - j0) >= SPARSE_MIN_MACS &&
    <i64>countZeros<T>(a, m * k) * 5 >= <i64>m * <i64>k * 2 &&
    (!useBias || !hasNegZero<T>(bias + <usize>j0 * sz, j1 - j0)) &&
    allFinite<T>(b + <usize>j0 * sz, <usize>n * sz, k, j1 - j0)
  ) {
    const bz = useBias ? bias : 0;
    sparseGemm<T>(a, ra, ka, b, c, k, n, bz, epi, y, gate, vs, one, s, i0, i1, j0, j1);
    return;
  }
  const NC = (PACK_BYTES / (KC * 32)) * NR; // columns per packed block
  const pack = PACK, tile = TILE;
  const directB = mode != 1 && m <= DIRECT_B_ROWS;
  const ldb = <usize>n * sz;
  for (let jc = j0; jc < j1; jc += NC) {
    const ncb = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const first = pc == 0, last = pc + kc == k;
      const loadC = acc != 0 || !first || useBias;
      const full = (ncb / NR) * NR;
      if (!directB) {
        if (mode == 1) packT<T>(b, k, jc, pc, ncb, kc);
        else packN<T>(b, n, jc, pc, ncb, kc);
      } else if (full < ncb) {
        // B in place; only a last partial panel is packed (zero padded), once.
        packN<T>(b, n, jc + full, pc, ncb - full, kc);
      }
      const aBlock = a + <usize>pc * ka;
      for (let i = i0; i < i1; i += MR) {
        const rows = min(MR, i1 - i);
        const a0 = aBlock + <usize>i * ra;
        const a1 = rows > 1 ? a0 + ra : a0;
        const a2 = rows > 2 ? a0 + 2 * ra : a0;
        const a3 = rows > 3 ? a0 + 3 * ra : a0;
        let bp = pack;
        let kb: usize = 32;
        for (let jj = 0; jj < ncb; jj += NR) {
          const j = jc + jj;
          const cols = min(NR, j1 - j);
          if (directB) {
            if (jj < full) {
              bp = b + <usize>pc * ldb + <usize>j * sz;
              kb = ldb;
            } else {
              bp = pack;
              kb = 32;
            }
          }
          const o = <usize>i * ldc + <usize>j * sz;
          const cp = c + o;
          if (rows == MR && cols == NR) {
            const init = first && useBias ? 2 : loadC ? 1 : 0;
            micro<T>(a0, a1, a2, a3, ka, bp, kb, kc, cp, ldc, init, bias + <usize>j * sz);
          } else {
            // Element loops, not memory.copy: V8 calls out of line for each memory.copy.
            if (first && useBias) biasFill<T>(tile, 32, bias + <usize>j * sz, rows, cols);
            else if (loadC) tileCopy<T>(tile, 32, cp, ldc, rows, cols);
            if (cols <= NR / 2) micro1<T>(a0, a1, a2, a3, ka, bp, kb, kc, tile, 32, loadC);
            else micro<T>(a0, a1, a2, a3, ka, bp, kb, kc, tile, 32, loadC ? 1 : 0, 0);
            tileCopy<T>(cp, ldc, tile, 32, rows, cols);
          }
          if (last && epi != 0) epilogue<T>(cp, y, gate, o, ldc, rows, cols, epi, vs, one, s);
          if (!directB) bp += <usize>kc * 32;
        }
      }
    }
  }
}

/** C(m×n) (+)= A(m×k)·B(k×n), f32. */
export function matmul_nn_f32(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32): void {
  gemm<f32>(a, b, c, m, k, n, acc, 0, 0, 0, 0, 0, 0, v128.load(ONE_F32_DATA), 0, m, 0, n);
}
/** C(m×n) (+)= A(m×k)·B(k×n), f64. */
export function matmul_nn_f64(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32): void {
  gemm<f64>(a, b, c, m, k, n, acc, 0, 0, 0, 0, 0, 0, v128.load(ONE_F64_DATA), 0, m, 0, n);
}
/** C(m×n) (+)= A(m×k)·B(n×k)ᵀ, f32. */
export function matmul_nt_f32(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32): void {
  gemm<f32>(a, b, c, m, k, n, acc, 1, 0, 0, 0, 0, 0, v128.load(ONE_F32_DATA), 0, m, 0, n);
}
/** C(m×n) (+)= A(m×k)·B(n×k)ᵀ, f64. */
export function matmul_nt_f64(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32): void {
  gemm<f64>(a, b, c, m, k, n, acc, 1, 0, 0, 0, 0, 0, v128.load(ONE_F64_DATA), 0, m, 0, n);
}
/** C(m×n) (+)= A(k×m)ᵀ·B(k×n), f32. */
export function matmul_tn_f32(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32): void {
  gemm<f32>(a, b, c, m, k, n, acc, 2, 0, 0, 0, 0, 0, v128.load(ONE_F32_DATA), 0, m, 0, n);
}
/** C(m×n) (+)= A(k×m)ᵀ·B(k×n), f64. */
export function matmul_tn_f64(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32): void {
  gemm<f64>(a, b, c, m, k, n, acc, 2, 0, 0, 0, 0, 0, v128.load(ONE_F64_DATA), 0, m, 0, n);
}

/** The general product of `gemm` (see there), f32: flags bits 0–1 the mode (0 A·B, 1 A·Bᵀ,
 * 2 Aᵀ·B), bit 2 accumulate into C, bits 4–5 the epilogue (1 leaky ReLU into y and gate, 2 C
 * times gate); optional bias row; rows i0..i1-1 and columns j0..j1-1 of C only. */
export function gemm_f32(
  flags: i32, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, bias: usize, y: usize,
  gate: usize, slope: f64, i0: i32, i1: i32, j0: i32, j1: i32,
): void {
  const one = v128.load(ONE_F32_DATA), mode = flags & 3, acc = (flags >> 2) & 1, epi = flags >> 4;
  // the mode as a constant in each call: every mode gets its own inlined, specialised body
  if (mode == 0) {
    gemm<f32>(a, b, c, m, k, n, acc, 0, bias, epi, y, gate, slope, one, i0, i1, j0, j1);
  } else if (mode == 1) {
    gemm<f32>(a, b, c, m, k, n, acc, 1, bias, epi, y, gate, slope, one, i0, i1, j0, j1);
  } else {
    gemm<f32>(a, b, c, m, k, n, acc, 2, bias, epi, y, gate, slope, one, i0, i1, j0, j1);
  }
}
/** The general product of `gemm` (see gemm_f32), f64. */
export function gemm_f64(
  flags: i32, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, bias: usize, y: usize,
  gate: usize, slope: f64, i0: i32, i1: i32, j0: i32, j1: i32,
): void {
  const one = v128.load(ONE_F64_DATA), mode = flags & 3, acc = (flags >> 2) & 1, epi = flags >> 4;
  // the mode as a constant in each call: every mode gets its own inlined, specialised body
  if (mode == 0) {
    gemm<f64>(a, b, c, m, k, n, acc, 0, bias, epi, y, gate, slope, one, i0, i1, j0, j1);
  } else if (mode == 1) {
    gemm<f64>(a, b, c, m, k, n, acc, 1, bias, epi, y, gate, slope, one, i0, i1, j0, j1);
  } else {
    gemm<f64>(a, b, c, m, k, n, acc, 2, bias, epi, y, gate, slope, one, i0, i1, j0, j1);
  }
}

/** First byte callers may use: after the static data and the first scratch, 64-byte aligned. */
export function heap_start(): usize {
  return SCRATCH0 + <usize>SCRATCH_BYTES;
}
