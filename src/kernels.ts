/**
 * Loader and typed wrapper of the WebAssembly kernels (built from `assembly/` by
 * `src/build_wasm.ts`). This is the only TypeScript code that handles raw pointers: callers work
 * with {@link Mat} handles, dense row-major matrices living in a {@link Kernels} instance's memory.
 *
 * The module is embedded as base64 and instantiated synchronously with no imports, so this file
 * needs no permissions and works when imported by URL. With `threads` > 1 a second build of the
 * same sources is used, which imports a shared memory, and a {@linkcode ThreadPool} of workers
 * runs kernels on that memory too (close it with {@linkcode Kernels.close}). The compiled modules
 * are cached once per process; every `Kernels` object owns its own instance and memory.
 *
 * Memory layout: static data (including the matmul packing scratch) up to `heap_start()`, then a
 * bump arena of 64-byte aligned, zero-filled allocations. All results are deterministic.
 *
 * @example
 * ```ts
 * import { Kernels } from "@specialize/specialize";
 * const k = new Kernels("f32");
 * const a = k.alloc(2, 3), b = k.alloc(3, 4), c = k.alloc(2, 4);
 * k.view(a).set([1, 2, 3, 4, 5, 6]);
 * k.view(b).fill(1);
 * k.matmulNN(a, b, c);
 * console.log(k.view(c)); // rows of 6 and 15
 * ```
 *
 * @module
 */
import { pow } from "./detmath.ts";
import { FMA_WASM_BASE64, SHARED_WASM_BASE64, WASM_BASE64 } from "../wasm/kernels_wasm.ts";
import { controlBytes, type PartFn, ThreadPool } from "./threads.ts";

/** Element precision of a {@link Kernels} instance. */
export type Precision = "f32" | "f64";
/** A typed array of either precision. */
export type FloatArray = Float32Array | Float64Array;
/** A dense row-major matrix living in a Kernels instance's WASM memory. */
export interface Mat {
  /** Byte offset of element (0, 0) in the instance's memory. */
  readonly ptr: number;
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns (elements per row, no padding). */
  readonly cols: number;
}

/** FLOPs per iteration of the peak probe: 12 chains × (1 mul + 1 add) × lanes. */
const PEAK_FLOPS_PER_ITER = { f32: 96, f64: 48 } as const;
const PAGE = 65536;
const MAX_BYTES = 4 * 1024 * 1024 * 1024;
const ALIGN = 64;
/** Pages the module declares as its memory's minimum (asconfig.json initialMemory). */
const INITIAL_PAGES = 8;
/** Products with fewer multiply-adds than this run on one thread: a hand-off costs a few µs on
 * an idle machine and far more when the worker is not scheduled (the two-layer step's products,
 * 16×100×200 and smaller, lost more than they gained on a loaded 2-core machine). */
const MIN_PARALLEL_MACS = 1 << 19;
/** Elementwise updates shorter than this run on one thread. */
const MIN_PARALLEL_ELEMENTS = 1 << 15;
/** Parts per thread a split call is cut into (fewer when too small): whoever is free takes the
 * next part, so a thread slowed down by other jobs delays the call by at most one part. Each part
 * packs its rows of A again: cutting the paper-scale step's products into 2, 4 and 8 column
 * ranges cost 0–1.4 %, 1–5 % and 1–7.5 % more work than one call (more for narrow ones). */
const PARTS_PER_THREAD = 3;
/** Fewest multiply-adds of a part of a product (and elements of a part of an update, × 1/16). */
const MIN_PART_MACS = 1 << 18;
/** Fewest column panels (NR columns: 8 f32, 4 f64) of a part of a product beyond one per
 * thread (cutting 100 columns into 8 parts cost 45 % more work). */
const PART_PANELS = 6;
/** Rows of the kernels' register block: a split by rows cuts at multiples of it. */
const MR = 4;
/** Products with at least this many rows are split over the threads by rows, narrower ones by
 * columns. Two threads writing neighbouring column ranges share a cache line of C in every row,
 * and each column part reads all of A and builds the zero-skipping lists of all its rows again;
 * a row part instead packs its own copy of B, which costs at most about 2 % at 256 rows in six
 * parts. The paper-scale weight gradient 1000 × 64 × 1250 (half of A zeros), timed alone, went
 * from 1.6× to 1.85× on two threads; the minibatch products (64 rows) stay split by columns. */
const ROW_SPLIT_ROWS = 256;
/** The exports worker threads run, by index. */
const THREAD_FNS = ["gemm", "sgd_update"] as const;

let cachedModule: WebAssembly.Module | undefined;
let cachedShared: WebAssembly.Module | undefined;
let cachedFma: WebAssembly.Module | undefined;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The compiled kernels module, compiled once per process.
 *
 * @example
 * ```ts
 * import { kernelsModule } from "@specialize/specialize";
 * console.log(WebAssembly.Module.imports(kernelsModule()).length); // 0
 * ```
 */
export function kernelsModule(): WebAssembly.Module {
  cachedModule ??= new WebAssembly.Module(decodeBase64(WASM_BASE64));
  return cachedModule;
}

/**
 * The same kernels built to import a shared memory (`env.memory`, up to 4 GiB), for threads;
 * compiled once per process.
 *
 * @example
 * ```ts
 * import { sharedKernelsModule } from "@specialize/specialize";
 * console.log(WebAssembly.Module.imports(sharedKernelsModule())[0].kind); // "memory"
 * ```
 */
export function sharedKernelsModule(): WebAssembly.Module {
  cachedShared ??= new WebAssembly.Module(decodeBase64(SHARED_WASM_BASE64));
  return cachedShared;
}

/**
 * The same kernels built with relaxed SIMD: the matrix products' multiply-adds are
 * `relaxed_madd`, which engines run as one fused multiply-add where the CPU has FMA (faster, one
 * rounding instead of two, so the bits depend on the CPU); everything else as in
 * {@linkcode kernelsModule}. No imports; compiled once per process. Used by
 * `new Kernels(precision, { fma: true })` (`--fma`).
 *
 * @example
 * ```ts
 * import { fmaKernelsModule } from "@specialize/specialize";
 * console.log(WebAssembly.Module.imports(fmaKernelsModule()).length); // 0
 * ```
 */
export function fmaKernelsModule(): WebAssembly.Module {
  cachedFma ??= new WebAssembly.Module(decodeBase64(FMA_WASM_BASE64));
  return cachedFma;
}

type Ptr = number;
type GemmFn = (
  flags: number,
  a: Ptr,
  b: Ptr,
  c: Ptr,
  m: number,
  k: number,
  n: number,
  bias: Ptr,
  y: Ptr,
  gate: Ptr,
  slope: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
) => void;
type ReluFwdFn = (x: Ptr, y: Ptr, gate: Ptr, len: number, slope: number) => void;
type Ternary = (a: Ptr, b: Ptr, out: Ptr, len: number) => void;
type SumsqFn = (a: Ptr, len: number) => number;
type ScaleFn = (a: Ptr, alpha: number, len: number) => void;
type SgdFn = (
  w: Ptr,
  g: Ptr,
  v: Ptr,
  len: number,
  lr: number,
  momentum: number,
  weightDecay: number,
) => void;
type GatherFn = (src: Ptr, idx: Ptr, dst: Ptr, count: number, n: number) => void;
type ColFn = (a: Ptr, out: Ptr, m: number, n: number, acc: number) => void;
type RowFn = (a: Ptr, out: Ptr, m: number, n: number) => void;
type AccFn = (src: Ptr, dst: Ptr, len: number) => void;
type PeakFn = (iters: number, mul: number, add: number) => number;
type XentFn = (out: Ptr, y: Ptr, delta: Ptr, rows: number, c: number) => number;
type AgreeFn = (out: Ptr, y: Ptr, rows: number, c: number) => number;
type AdamFn = (
  w: Ptr,
  g: Ptr,
  m: Ptr,
  v: Ptr,
  len: number,
  stepSize: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  bc2sqrt: number,
) => void;

/** Hyper-parameters of {@link Kernels.adamUpdate} (PyTorch's names and meaning). */
export interface AdamParams {
  /** Learning rate. */
  lr: number;
  /** Decay of the first-moment average, in [0, 1). */
  beta1: number;
  /** Decay of the second-moment average, in [0, 1). */
  beta2: number;
  /** Added to the bias-corrected sqrt of the second moment. */
  eps: number;
  /** L2 penalty added to the gradient (PyTorch Adam's `weight_decay`, not AdamW's). */
  weightDecay: number;
  /** The step number t ≥ 1 (bias correction 1 − β^t). */
  step: number;
}

/** Parts of a split call: one per thread, and up to PARTS_PER_THREAD per thread as far as `more`
 * allows (the parts that are large enough to be worth it), but at most `units` (whole panels or
 * cache lines). */
function splitCount(threads: number, units: number, more: number): number {
  const want = Math.max(threads, Math.min(threads * PARTS_PER_THREAD, Math.floor(more)));
  return Math.max(1, Math.min(units, want));
}

function shape(m: Mat): string {
  return `${m.rows}×${m.cols}`;
}

/**
 * One instance of the kernels module with its own memory, a bump allocator over it and typed
 * wrappers of every kernel in one precision.
 *
 * @example
 * ```ts
 * import { Kernels } from "@specialize/specialize";
 * const k = new Kernels("f64");
 * const x = k.alloc(1, 3), y = k.alloc(1, 3), gate = k.alloc(1, 3);
 * k.view(x).set([-1, 0, 2]);
 * k.reluForward(x, y, gate, 0.1);
 * console.log(k.view(y)); // [-0.1, 0, 2]
 * ```
 */
export class Kernels {
  /** Element precision of every matrix of this instance. */
  readonly precision: Precision;
  /** Bytes per element: 4 for f32, 8 for f64. */
  readonly bytesPerElement: 4 | 8;
  /** The instance's own exported memory. */
  readonly memory: WebAssembly.Memory;
  /** The raw exports (pointer-level functions, for benches). */
  // deno-lint-ignore ban-types
  readonly raw: Record<string, Function>;
  /** FLOPs performed per iteration by {@link Kernels.peak}. */
  readonly peakFlopsPerIter: number;

  #heapStart: number;
  #top: number;
  #buffer: ArrayBufferLike;
  #f32: Float32Array;
  #f64: Float64Array;
  #i32: Int32Array;
  #u8: Uint8Array;

  #gemm: GemmFn;
  #nr: number;
  #pool: ThreadPool | null = null;
  #parallelCalls = 0;
  #together = 0;
  /** Reused argument list of the parts handed to the pool. */
  readonly #args: number[] = [];
  #fillRows: RowFn;
  #reluFwd: ReluFwdFn;
  #reluBwd: Ternary;
  #sub: Ternary;
  #sumsq: SumsqFn;
  #scale: ScaleFn;
  #sgd: SgdFn;
  #gather: GatherFn;
  #colSums: ColFn;
  #colSumsq: ColFn;
  #rowSumsq: RowFn;
  #accInto: AccFn;
  #peak: PeakFn;
  #xent: XentFn;
  #agree: AgreeFn;
  #adam: AdamFn;

  /** Threads every large product and update is split over (1: the caller only). */
  readonly threads: number;
  /** Whether the matrix products use fused multiply-add ({@linkcode fmaKernelsModule}). */
  readonly fma: boolean;

  /**
   * Instantiates the kernels module with its own (shared) memory for the given precision. With
   * `threads` > 1 (an integer, at most 64) it starts threads − 1 workers on that memory, which
   * take row or column ranges of every large matrix product and slices of large updates:
   * the results are bit-identical to one thread's. Call {@linkcode Kernels.close} when done (or
   * declare it with `using`): live workers keep the process running. `fma` selects
   * {@linkcode fmaKernelsModule} (one thread only): faster products whose bits depend on the CPU.
   */
  constructor(precision: Precision, options: { threads?: number; fma?: boolean } = {}) {
    if (precision !== "f32" && precision !== "f64") {
      throw new RangeError(`Precision must be "f32" or "f64", got ${String(precision)}`);
    }
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new RangeError(`Threads must be an integer from 1 to 64, got ${threads}`);
    }
    const fma = options.fma ?? false;
    if (fma && threads !== 1) {
      throw new RangeError(`The fma kernels run on one thread, got threads ${threads}`);
    }
    this.threads = threads;
    this.fma = fma;
    this.precision = precision;
    this.bytesPerElement = precision === "f32" ? 4 : 8;
    let instance: WebAssembly.Instance;
    if (threads === 1) {
      instance = new WebAssembly.Instance(fma ? fmaKernelsModule() : kernelsModule(), {});
      this.memory = instance.exports.memory as WebAssembly.Memory;
    } else {
      this.memory = new WebAssembly.Memory({
        initial: INITIAL_PAGES,
        maximum: MAX_BYTES / PAGE,
        shared: true,
      });
      instance = new WebAssembly.Instance(sharedKernelsModule(), { env: { memory: this.memory } });
    }
    // deno-lint-ignore ban-types
    const ex = instance.exports as Record<string, Function>;
    // deno-lint-ignore ban-types
    const raw: Record<string, Function> = {};
    for (const [name, v] of Object.entries(ex)) if (typeof v === "function") raw[name] = v;
    this.raw = raw;
    const p = precision;
    this.#gemm = raw[`gemm_${p}`] as GemmFn;
    this.#nr = 32 / this.bytesPerElement;
    this.#fillRows = raw[`fill_rows_${p}`] as RowFn;
    this.#reluFwd = raw[`relu_fwd_${p}`] as ReluFwdFn;
    this.#reluBwd = raw[`relu_bwd_${p}`] as Ternary;
    this.#sub = raw[`sub_${p}`] as Ternary;
    this.#sumsq = raw[`sumsq_${p}`] as SumsqFn;
    this.#scale = raw[`scale_${p}`] as ScaleFn;
    this.#sgd = raw[`sgd_update_${p}`] as SgdFn;
    this.#gather = raw[`gather_rows_${p}`] as GatherFn;
    this.#colSums = raw[`col_sums_${p}`] as ColFn;
    this.#colSumsq = raw[`col_sumsq_${p}`] as ColFn;
    this.#rowSumsq = raw[`row_sumsq_${p}`] as RowFn;
    this.#accInto = raw[`acc_${p}_into_f64`] as AccFn;
    this.#peak = raw[`peak_${p}`] as PeakFn;
    this.#xent = raw[`xent_${p}`] as XentFn;
    this.#agree = raw[`argmax_agree_${p}`] as AgreeFn;
    this.#adam = raw[`adam_update_${p}`] as AdamFn;
    this.peakFlopsPerIter = PEAK_FLOPS_PER_ITER[p];
    this.#heapStart = (raw.heap_start as () => number)() >>> 0;
    this.#top = this.#heapStart;
    this.#buffer = this.memory.buffer;
    this.#f32 = new Float32Array(this.#buffer);
    this.#f64 = new Float64Array(this.#buffer);
    this.#i32 = new Int32Array(this.#buffer);
    this.#u8 = new Uint8Array(this.#buffer);
    this.#ensure(this.#top);
    if (threads > 1) {
      const ctl = this.#allocBytes(controlBytes(), "the thread control block");
      const bytes = (raw.scratch_bytes as () => number)();
      const scratch = Array.from(
        { length: threads - 1 },
        () => this.#allocBytes(bytes, "a thread's scratch"),
      );
      const names = THREAD_FNS.map((f) => `${f}_${p}`);
      const local = names.map((n) => raw[n] as PartFn);
      this.#pool = new ThreadPool(
        sharedKernelsModule(),
        this.memory,
        threads,
        ctl,
        scratch,
        names,
        local,
      );
      this.#heapStart = this.#top;
    }
  }

  /** Kernel calls split over the threads so far (0 on one thread). */
  get parallelCalls(): number {
    return this.#parallelCalls;
  }

  /** Parts of the split calls so far, how many of them the caller ran itself (about 1/threads
   * of them when every thread has a core, more when the workers are slowed down by other jobs:
   * each thread takes the next part when it is free; all of them when they never run), and the
   * hand-offs they took (one per split call, or per {@linkcode Kernels.together}). */
  get threadParts(): { total: number; caller: number; handoffs: number } {
    const p = this.#pool;
    return p ? { ...p.parts, handoffs: p.batches } : { total: 0, caller: 0, handoffs: 0 };
  }

  /**
   * Runs `body`, whose split products and updates must not depend on each other's results (nor
   * on anything else `body` computes), as one hand-off to the threads: their parts are queued and
   * all run together at the end, so the threads meet once instead of once per call. Then
   * `alongside`, which must not depend on those parts either, runs on the caller while the workers
   * start on them. On one thread both simply run in order. The results do not depend on it.
   */
  together(body: () => void, alongside?: () => void): void {
    const pool = this.#pool;
    if (pool === null) {
      body();
      alongside?.();
      return;
    }
    this.#together++;
    let ok = false;
    try {
      body();
      ok = true;
    } finally {
      if (--this.#together === 0) pool.flush(ok ? alongside : undefined);
      else if (ok) alongside?.();
    }
  }

  /** Queues the parts built in #args on the pool, and runs them unless inside `together`. */
  #part(fn: number): void {
    this.#pool!.add(fn, this.#args);
  }

  #flush(): void {
    this.#parallelCalls++;
    if (this.#together === 0) this.#pool!.flush();
  }

  /** Stops the worker threads, if any (the instance stays usable on one thread). Idempotent. */
  close(): void {
    this.#pool?.close();
    this.#pool = null;
  }

  /** {@linkcode Kernels.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Runs the general product; when large and with threads, split into ranges of whole register
   * blocks: of rows with at least ROW_SPLIT_ROWS rows, else of NR-column panels. */
  #product(
    mode: number,
    a: Mat,
    b: Mat,
    c: Mat,
    m: number,
    k: number,
    n: number,
    acc: boolean,
    bias = 0,
    epi = 0,
    y = 0,
    gate = 0,
    slope = 0,
  ): void {
    const flags = mode | (acc ? 4 : 0) | (epi << 4);
    const pool = this.#pool;
    const nr = this.#nr, macs = m * n * k;
    const byRows = m >= ROW_SPLIT_ROWS;
    if (pool === null || macs < MIN_PARALLEL_MACS || (!byRows && n < 2 * nr)) {
      this.#gemm(flags, a.ptr, b.ptr, c.ptr, m, k, n, bias, y, gate, slope, 0, m, 0, n);
      return;
    }
    const args = this.#args;
    args.length = 0;
    args.push(flags, a.ptr, b.ptr, c.ptr, m, k, n, bias, y, gate, slope, 0, m, 0, n);
    if (byRows) {
      // Row ranges (whole register blocks): the threads write disjoint rows of C.
      const blocks = Math.ceil(m / MR);
      const parts = splitCount(pool.size, blocks, macs / MIN_PART_MACS);
      const chunk = Math.ceil(blocks / parts) * MR;
      for (let i0 = 0; i0 < m; i0 += chunk) {
        args[11] = i0;
        args[12] = Math.min(m, i0 + chunk);
        this.#part(0);
      }
    } else {
      // Every part packs all of A again: beyond one per thread, parts are PART_PANELS panels wide.
      const panels = Math.floor(n / nr);
      const parts = splitCount(
        pool.size,
        panels,
        Math.min(panels / PART_PANELS, macs / MIN_PART_MACS),
      );
      const chunk = Math.ceil(n / parts / nr) * nr;
      for (let j0 = 0; j0 < n; j0 += chunk) {
        args[13] = j0;
        args[14] = Math.min(n, j0 + chunk);
        this.#part(0);
      }
    }
    this.#flush();
  }

  #refresh(): void {
    if (this.#buffer !== this.memory.buffer) {
      this.#buffer = this.memory.buffer;
      this.#f32 = new Float32Array(this.#buffer);
      this.#f64 = new Float64Array(this.#buffer);
      this.#i32 = new Int32Array(this.#buffer);
      this.#u8 = new Uint8Array(this.#buffer);
    }
  }

  #ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new RangeError(
          `Cannot grow WASM memory from ${have} to ${end} bytes (${pages} more 64 KiB pages)`,
          { cause: e },
        );
      }
      this.#refresh();
    }
  }

  #allocBytes(bytes: number, what: string): number {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new RangeError(`Allocation size must be a non-negative integer, got ${what}`);
    }
    const ptr = this.#top;
    const end = ptr + Math.ceil(bytes / ALIGN) * ALIGN;
    if (end > MAX_BYTES) {
      throw new RangeError(
        `Cannot allocate ${what} (${bytes} bytes): WASM memory would exceed 4 GiB ` +
          `(${this.#top - this.#heapStart} bytes already allocated)`,
      );
    }
    this.#ensure(end);
    this.#u8.fill(0, ptr, ptr + bytes);
    this.#top = end;
    return ptr;
  }

  /** Allocates a zero-filled rows×cols matrix, 64-byte aligned; grows memory as needed. Throws a
   * RangeError past 4 GiB. */
  alloc(rows: number, cols: number): Mat {
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      throw new RangeError(`Matrix shape must be non-negative integers, got ${rows}×${cols}`);
    }
    const ptr = this.#allocBytes(rows * cols * this.bytesPerElement, `a ${rows}×${cols} matrix`);
    return { ptr, rows, cols };
  }

  /** Allocates a zero-filled buffer of `count` i32 values; returns its pointer. */
  allocI32(count: number): number {
    return this.#allocBytes(count * 4, `${count} i32 values`);
  }

  /** Allocates a zero-filled buffer of `count` f64 values (whatever the precision); returns its
   * pointer. */
  allocF64(count: number): number {
    return this.#allocBytes(count * 8, `${count} f64 values`);
  }

  /** The sub-matrix of rows start..start+count-1 of m (no copy). */
  rowsOf(m: Mat, start: number, count: number): Mat {
    if (
      !Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 ||
      start + count > m.rows
    ) {
      throw new RangeError(
        `Rows ${start}..${start + count} are out of range for a ${shape(m)} matrix`,
      );
    }
    return { ptr: m.ptr + start * m.cols * this.bytesPerElement, rows: count, cols: m.cols };
  }

  /** A typed view of m's elements; valid until memory grows (call again after allocating). */
  view(m: Mat): FloatArray {
    this.#refresh();
    const n = m.rows * m.cols;
    if (this.bytesPerElement === 4) {
      const o = m.ptr >>> 2;
      return this.#f32.subarray(o, o + n);
    }
    const o = m.ptr >>> 3;
    return this.#f64.subarray(o, o + n);
  }

  /** A view of `count` i32 values at ptr; valid until memory grows. */
  viewI32(ptr: number, count: number): Int32Array {
    this.#refresh();
    return this.#i32.subarray(ptr >>> 2, (ptr >>> 2) + count);
  }

  /** A view of `count` f64 values at ptr; valid until memory grows. */
  viewF64(ptr: number, count: number): Float64Array {
    this.#refresh();
    return this.#f64.subarray(ptr >>> 3, (ptr >>> 3) + count);
  }

  /** The current arena position, for {@link Kernels.release}. */
  mark(): number {
    return this.#top;
  }

  /** Frees everything allocated since `mark` was taken. */
  release(mark: number): void {
    if (!Number.isInteger(mark) || mark < this.#heapStart || mark > this.#top) {
      throw new RangeError(
        `Mark ${mark} is not a valid arena position (${this.#heapStart}..${this.#top})`,
      );
    }
    this.#top = mark;
  }

  /** Bytes currently allocated in the arena (including alignment padding). */
  get bytesAllocated(): number {
    return this.#top - this.#heapStart;
  }

  /** C (+)= A·B; a is m×k, b is k×n, c is m×n. */
  matmulNN(a: Mat, b: Mat, c: Mat, accumulate = false): void {
    if (a.cols !== b.rows || c.rows !== a.rows || c.cols !== b.cols) {
      throw new RangeError(
        `matmulNN shapes do not match: a ${shape(a)}, b ${shape(b)}, c ${shape(c)} ` +
          `(need a m×k, b k×n, c m×n)`,
      );
    }
    this.#product(0, a, b, c, a.rows, a.cols, b.cols, accumulate);
  }

  /** C (+)= A·Bᵀ; a is m×k, b is n×k (c.cols × a.cols), c is m×n. */
  matmulNT(a: Mat, b: Mat, c: Mat, accumulate = false): void {
    if (a.cols !== b.cols || c.rows !== a.rows || c.cols !== b.rows) {
      throw new RangeError(
        `matmulNT shapes do not match: a ${shape(a)}, b ${shape(b)}, c ${shape(c)} ` +
          `(need a m×k, b n×k, c m×n)`,
      );
    }
    this.#product(1, a, b, c, a.rows, a.cols, b.rows, accumulate);
  }

  /** C (+)= Aᵀ·B; a is k×m (k × c.rows), b is k×n, c is m×n. */
  matmulTN(a: Mat, b: Mat, c: Mat, accumulate = false): void {
    if (a.rows !== b.rows || c.rows !== a.cols || c.cols !== b.cols) {
      throw new RangeError(
        `matmulTN shapes do not match: a ${shape(a)}, b ${shape(b)}, c ${shape(c)} ` +
          `(need a k×m, b k×n, c m×n)`,
      );
    }
    this.#product(2, a, b, c, a.cols, a.rows, b.cols, accumulate);
  }

  /**
   * One layer in one pass: z = x·w + bias (each row of z starts from the bias row at biasPtr, the
   * same sums as {@linkcode Kernels.fillRows} then an accumulating {@linkcode Kernels.matmulNN});
   * with `relu`, also relu.y = leaky ReLU of z and relu.gate its derivative, as
   * {@linkcode Kernels.reluForward} would write them, while each tile of z is in cache.
   * x is m×k, w is k×n, z, relu.y and relu.gate are m×n.
   */
  linear(
    x: Mat,
    w: Mat,
    biasPtr: number,
    z: Mat,
    relu?: { y: Mat; gate: Mat; slope: number },
  ): void {
    if (x.cols !== w.rows || z.rows !== x.rows || z.cols !== w.cols) {
      throw new RangeError(
        `linear shapes do not match: x ${shape(x)}, w ${shape(w)}, z ${shape(z)} ` +
          `(need x m×k, w k×n, z m×n)`,
      );
    }
    if (relu) this.#sameSize("linear", z, relu.y, relu.gate);
    this.#product(
      0,
      x,
      w,
      z,
      x.rows,
      x.cols,
      w.cols,
      false,
      biasPtr,
      relu ? 1 : 0,
      relu ? relu.y.ptr : 0,
      relu ? relu.gate.ptr : 0,
      relu ? relu.slope : 0,
    );
  }

  /** C = (A·Bᵀ)∘gate: {@linkcode Kernels.matmulNT} then {@linkcode Kernels.reluBackward} in one
   * pass (the same bits); a is m×k, b is n×k, c and gate are m×n. */
  matmulNTGated(a: Mat, b: Mat, gate: Mat, c: Mat): void {
    if (a.cols !== b.cols || c.rows !== a.rows || c.cols !== b.rows) {
      throw new RangeError(
        `matmulNTGated shapes do not match: a ${shape(a)}, b ${shape(b)}, c ${shape(c)} ` +
          `(need a m×k, b n×k, c m×n)`,
      );
    }
    this.#sameSize("matmulNTGated", c, gate);
    this.#product(1, a, b, c, a.rows, a.cols, b.rows, false, 0, 2, 0, gate.ptr);
  }

  /** Sets every row of dst to the dst.cols elements at rowPtr (bias broadcast). */
  fillRows(dst: Mat, rowPtr: number): void {
    this.#fillRows(dst.ptr, rowPtr, dst.rows, dst.cols);
  }

  #sameSize(name: string, a: Mat, b: Mat, c?: Mat): void {
    const n = a.rows * a.cols;
    if (b.rows * b.cols !== n || (c !== undefined && c.rows * c.cols !== n)) {
      throw new RangeError(
        `${name} needs matrices of equal size, got ${shape(a)}, ${shape(b)}` +
          (c ? `, ${shape(c)}` : ""),
      );
    }
  }

  /** Leaky ReLU: y = x > 0 ? x : slope·x and gate = x > 0 ? 1 : slope (y may be x). */
  reluForward(x: Mat, y: Mat, gate: Mat, slope: number): void {
    this.#sameSize("reluForward", x, y, gate);
    this.#reluFwd(x.ptr, y.ptr, gate.ptr, x.rows * x.cols, slope);
  }

  /** dx = dy·gate elementwise (dx may be dy). */
  reluBackward(dy: Mat, gate: Mat, dx: Mat): void {
    this.#sameSize("reluBackward", dy, gate, dx);
    this.#reluBwd(dy.ptr, gate.ptr, dx.ptr, dy.rows * dy.cols);
  }

  /** out = a − b elementwise. */
  sub(a: Mat, b: Mat, out: Mat): void {
    this.#sameSize("sub", a, b, out);
    this.#sub(a.ptr, b.ptr, out.ptr, a.rows * a.cols);
  }

  /** Σ a² over all elements, accumulated in f64 in a fixed order. */
  sumsq(a: Mat): number {
    return this.#sumsq(a.ptr, a.rows * a.cols);
  }

  /** a *= alpha elementwise. */
  scale(a: Mat, alpha: number): void {
    this.#scale(a.ptr, alpha, a.rows * a.cols);
  }

  /** SGD step: g' = g + weightDecay·w; with momentum v = momentum·v + g', w -= lr·v; without,
   * w -= lr·g' (v may then be null). g is left unchanged. */
  sgdUpdate(
    w: Mat,
    g: Mat,
    v: Mat | null,
    lr: number,
    momentum: number,
    weightDecay: number,
  ): void {
    this.#sameSize("sgdUpdate", w, g, v ?? undefined);
    if (v === null && momentum !== 0) {
      throw new RangeError(`sgdUpdate needs a velocity matrix when momentum is ${momentum}`);
    }
    const len = w.rows * w.cols, pool = this.#pool;
    const vp = v === null ? 0 : v.ptr;
    if (pool === null || len < MIN_PARALLEL_ELEMENTS) {
      this.#sgd(w.ptr, g.ptr, vp, len, lr, momentum, weightDecay);
      return;
    }
    // Equal slices of whole 64-byte lines: elementwise, so the bits do not depend on the split.
    const per = 64 / this.bytesPerElement;
    const parts = splitCount(pool.size, Math.ceil(len / per), (16 * len) / MIN_PART_MACS);
    const chunk = Math.ceil(len / parts / per) * per;
    const args = this.#args;
    args.length = 0;
    args.push(0, 0, 0, 0, lr, momentum, weightDecay);
    for (let i = 0; i < len; i += chunk) {
      const o = i * this.bytesPerElement;
      args[0] = w.ptr + o;
      args[1] = g.ptr + o;
      args[2] = vp && vp + o;
      args[3] = Math.min(chunk, len - i);
      this.#part(1);
    }
    this.#flush();
  }

  /** dst row r := src row idx[r] for r < dst.rows; idxPtr points to dst.rows i32 indices, each
   * in 0..src.rows-1 (not checked). */
  gatherRows(src: Mat, idxPtr: number, dst: Mat): void {
    if (src.cols !== dst.cols) {
      throw new RangeError(
        `gatherRows needs equal column counts, got ${shape(src)} and ${shape(dst)}`,
      );
    }
    this.#gather(src.ptr, idxPtr, dst.ptr, dst.rows, dst.cols);
  }

  /** out[j] (+)= Σ_i a[i, j]; outPtr points to a.cols elements of this precision. */
  colSums(a: Mat, outPtr: number, accumulate = false): void {
    this.#colSums(a.ptr, outPtr, a.rows, a.cols, accumulate ? 1 : 0);
  }

  /** out[j] (+)= Σ_i a[i, j]²; outPtr points to a.cols elements of this precision. */
  colSumsq(a: Mat, outPtr: number, accumulate = false): void {
    this.#colSumsq(a.ptr, outPtr, a.rows, a.cols, accumulate ? 1 : 0);
  }

  /** out[i] = Σ_j a[i, j]²; outPtr points to a.rows elements of this precision. */
  rowSumsq(a: Mat, outPtr: number): void {
    this.#rowSumsq(a.ptr, outPtr, a.rows, a.cols);
  }

  /** dst[i] += src[i] for `count` elements: src in this precision, dst an f64 buffer. */
  accIntoF64(srcPtr: number, dstF64Ptr: number, count: number): void {
    this.#accInto(srcPtr, dstF64Ptr, count);
  }

  /** Runs the SIMD peak probe for `iters` iterations ({@link Kernels.peakFlopsPerIter} FLOPs
   * each) and returns its result (a checksum of all chains). */
  peak(iters: number): number {
    return this.#peak(iters, 0.999, 0.001);
  }

  /**
   * Softmax cross-entropy of the outputs `out` (rows × c) against the class of each row of `y`,
   * the first index of its largest value (the teacher's arg-max): returns
   * Σ_rows (log Σ_j exp(out_j) − out_class), computed in f64 per row, and writes
   * delta = softmax(out) − onehot(class), the gradient of each row's loss w.r.t. its outputs.
   * delta must not overlap out or y.
   */
  crossEntropy(out: Mat, y: Mat, delta: Mat): number {
    if (out.rows !== y.rows || out.cols !== y.cols) {
      throw new RangeError(`crossEntropy needs equal shapes, got ${shape(out)}, ${shape(y)}`);
    }
    this.#sameSize("crossEntropy", out, delta);
    return this.#xent(out.ptr, y.ptr, delta.ptr, out.rows, out.cols);
  }

  /** The number of rows whose arg-max (first largest value) is the same in `out` and `y`. */
  argmaxAgree(out: Mat, y: Mat): number {
    if (out.rows !== y.rows || out.cols !== y.cols) {
      throw new RangeError(`argmaxAgree needs equal shapes, got ${shape(out)}, ${shape(y)}`);
    }
    return this.#agree(out.ptr, y.ptr, out.rows, out.cols);
  }

  /**
   * One step of PyTorch's Adam (torch.optim.Adam, amsgrad off) on w with gradient g and moment
   * buffers m, v (zero before the first step): g' = g + weightDecay·w, m = m + (1 − β1)(g' − m),
   * v = β2·v + (1 − β2)·g'², w −= lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps).
   * g is left unchanged.
   */
  adamUpdate(w: Mat, g: Mat, m: Mat, v: Mat, p: AdamParams): void {
    this.#sameSize("adamUpdate", w, g, m);
    this.#sameSize("adamUpdate", w, v);
    if (!Number.isInteger(p.step) || p.step < 1) {
      throw new RangeError(`adamUpdate step must be an integer ≥ 1, got ${p.step}`);
    }
    const stepSize = p.lr / (1 - pow(p.beta1, p.step));
    const bc2sqrt = Math.sqrt(1 - pow(p.beta2, p.step));
    this.#adam(
      w.ptr,
      g.ptr,
      m.ptr,
      v.ptr,
      w.rows * w.cols,
      stepSize,
      p.beta1,
      p.beta2,
      p.eps,
      p.weightDecay,
      bc2sqrt,
    );
  }
}
