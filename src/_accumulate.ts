/**
 * Private helper of the analysis: an f64 accumulator in WASM memory fed by kernels that write in
 * the instance's precision.
 *
 * In f64 instances the kernels accumulate straight into the f64 buffer. In f32 instances they
 * write (and accumulate within one chunk) into an f32 scratch matrix, and {@linkcode
 * F64Accumulator.flush} adds that chunk into the f64 buffer with `accIntoF64`, so rounding error
 * grows with the chunk length (≤ 1000 rows), not with the data set size.
 * @module
 */

import type { Kernels, Mat } from "./kernels.ts";

/** A rows×cols f64 sum in WASM memory, fed chunk by chunk by kernels (see module doc). */
export class F64Accumulator {
  readonly #k: Kernels;
  readonly #scratch: Mat;
  readonly #f64: number;
  readonly #direct: boolean;
  readonly #count: number;
  #pending = false;

  /** Allocates the buffers (zero-filled). */
  constructor(k: Kernels, rows: number, cols: number) {
    this.#k = k;
    this.#scratch = k.alloc(rows, cols);
    this.#direct = k.precision === "f64";
    this.#count = rows * cols;
    this.#f64 = this.#direct ? this.#scratch.ptr : k.allocF64(this.#count);
  }

  /** The matrix kernels write into: pass it with {@linkcode F64Accumulator.begin}'s flag. */
  get target(): Mat {
    return this.#scratch;
  }

  /** The `accumulate` flag for the next kernel writing into `target` (marks data pending). */
  begin(): boolean {
    const acc = this.#direct || this.#pending;
    this.#pending = true;
    return acc;
  }

  /** Adds the pending chunk (f32 instances) into the f64 sum. */
  flush(): void {
    if (!this.#direct && this.#pending) {
      this.#k.accIntoF64(this.#scratch.ptr, this.#f64, this.#count);
    }
    this.#pending = false;
  }

  /** Sets the sum to zero. */
  reset(): void {
    this.#k.viewF64(this.#f64, this.#count).fill(0);
    this.#pending = false;
  }

  /** A copy of the f64 sum (flushes first). */
  read(): Float64Array {
    this.flush();
    return this.#k.viewF64(this.#f64, this.#count).slice();
  }

  /** Adds `rows × cols` values of the instance's precision at ptr straight into the f64 sum. */
  addFrom(ptr: number): void {
    this.flush();
    this.#k.accIntoF64(ptr, this.#f64, this.#count);
  }

  /** out (+)= Σ_rows a (column sums). */
  colSums(a: Mat): void {
    this.#k.colSums(a, this.#scratch.ptr, this.begin());
  }

  /** out (+)= Σ_rows a² (column sums of squares). */
  colSumsq(a: Mat): void {
    this.#k.colSumsq(a, this.#scratch.ptr, this.begin());
  }

  /** out (+)= aᵀ·b. */
  matmulTN(a: Mat, b: Mat): void {
    this.#k.matmulTN(a, b, this.#scratch, this.begin());
  }
}
