/**
 * Threads for the kernels: Deno Workers that each instantiate the kernels module on the caller's
 * shared memory and run the calls they are handed, synchronised with Atomics on a control block in
 * that memory (no message per call). Used by {@linkcode Kernels} with `threads` > 1; callers split
 * their work into parts so that every output element is computed by exactly one part, in the same
 * order as a single thread would, so the results do not depend on who runs which part.
 *
 * The workers run from a blob URL and get the compiled module and the memory by `postMessage`, so
 * the library still needs no permissions and works when imported by URL.
 *
 * Work sharing: the caller queues the parts of one or more independent calls ({@linkcode
 * ThreadPool.add}), then {@linkcode ThreadPool.flush} publishes them all at once and every thread,
 * the caller included, claims the next unclaimed part until none is left (one compare-exchange on
 * a word holding the batch's sequence number and the next part's index, so a late worker can never
 * claim a part of a later batch); the caller then waits until the parts the workers took are done.
 * A worker that is not running (the cores are busy elsewhere) simply takes no part, a worker that
 * is slowed down takes fewer: the caller never waits for work that nobody started. Idle workers
 * poll the word for a while (about 20–50 µs: the gap between two calls of a step), then sleep in
 * `Atomics.wait` until the next batch.
 *
 * Control block ({@linkcode controlBytes} bytes): i32 `batch` (sequence number × 256 + next
 * part), `parts`, `finished` (parts done by workers) at bytes 0, 4, 8; per worker an i32 `ready`
 * from byte 64 and `exited` from byte 320; per part an i32 function index from byte 576 and up to
 * {@linkcode MAX_ARGS} f64 arguments from byte 1024. A worker's instantiation re-applies the
 * module's data segments (constants), so the constructor waits until every worker is ready.
 * @module
 */

/** Arguments a part can have (f64 each). */
export const MAX_ARGS = 16;
/** Parts one batch can hold ({@linkcode ThreadPool.add} flushes when it is full). */
export const MAX_PARTS = 64;
/** Most threads a pool can have. */
export const MAX_THREADS = 64;
const BATCH = 0, PARTS = 4, FINISHED = 8, READY = 64, EXITED = 320, FNS = 576, ARGS = 1024;
/** Polls of a control word before sleeping in Atomics.wait (about 20–50 µs). */
const SPIN = 20000;
/** How long the constructor waits for the workers to start. */
const STARTUP_MS = 30000;

/**
 * Bytes of the control block of a pool (any size up to {@linkcode MAX_THREADS}).
 *
 * @example
 * ```ts
 * import { controlBytes } from "@specialize/specialize";
 * console.log(controlBytes()); // 9216
 * ```
 */
export function controlBytes(): number {
  return ARGS + MAX_PARTS * MAX_ARGS * 8;
}

const WORKER_SOURCE = `
self.onmessage = (e) => {
  const { module, memory, ctl, id, names, scratch, spin } = e.data;
  const i32 = new Int32Array(memory.buffer), exitI = ((ctl + ${EXITED}) >> 2) + id;
  try {
    loop(module, memory, ctl, id, names, scratch, spin);
  } finally {
    Atomics.store(i32, exitI, 1);
    Atomics.notify(i32, exitI);
    self.close();
  }
};
function loop(module, memory, ctl, id, names, scratch, spin) {
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  ex.set_scratch(scratch);
  const fns = names.map((n) => ex[n]);
  const i32 = new Int32Array(memory.buffer), f64 = new Float64Array(memory.buffer);
  const batchI = (ctl + ${BATCH}) >> 2, partsI = (ctl + ${PARTS}) >> 2;
  const finI = (ctl + ${FINISHED}) >> 2, fnsI = (ctl + ${FNS}) >> 2, args = (ctl + ${ARGS}) >> 3;
  let seen = Atomics.load(i32, batchI) >>> 8;
  Atomics.store(i32, ((ctl + ${READY}) >> 2) + id, 1);
  Atomics.notify(i32, ((ctl + ${READY}) >> 2) + id);
  for (;;) {
    let v = Atomics.load(i32, batchI), n = 0;
    while (v >>> 8 === seen) {
      if (++n > spin) { Atomics.wait(i32, batchI, v); n = 0; }
      v = Atomics.load(i32, batchI);
    }
    seen = v >>> 8;
    const parts = Atomics.load(i32, partsI);
    if (parts < 0) return; // stop
    // Claim parts of batch "seen" until none is left or a newer batch replaced it.
    while ((v & 255) < parts) {
      const w = Atomics.compareExchange(i32, batchI, v, v + 1);
      if (w !== v) {
        if (w >>> 8 !== seen) break;
        v = w;
        continue;
      }
      const p = v & 255, a = args + p * ${MAX_ARGS};
      fns[i32[fnsI + p]](f64[a], f64[a + 1], f64[a + 2], f64[a + 3], f64[a + 4], f64[a + 5],
        f64[a + 6], f64[a + 7], f64[a + 8], f64[a + 9], f64[a + 10], f64[a + 11], f64[a + 12],
        f64[a + 13], f64[a + 14], f64[a + 15]);
      Atomics.add(i32, finI, 1);
      Atomics.notify(i32, finI);
      v = Atomics.load(i32, batchI);
      if (v >>> 8 !== seen) break;
    }
  }
}
`;

let workerUrl: string | undefined;

/** A function the pool runs: WebAssembly exports take their arguments as numbers. */
export type PartFn = (...args: number[]) => unknown;

/**
 * A fixed set of worker threads sharing one WebAssembly memory with the caller, which runs parts
 * of every batch itself: `size` threads in all.
 *
 * @example
 * ```ts
 * import { controlBytes, Kernels, sharedKernelsModule, ThreadPool } from "@specialize/specialize";
 * // Kernels with threads > 1 makes its own pool; by hand, on a memory of your own:
 * const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
 * const module = sharedKernelsModule();
 * const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
 * const heap = (ex.heap_start as () => number)(); // control block, then the worker's scratch
 * const scratch = heap + controlBytes();
 * const sgd = ex.sgd_update_f64 as (...args: number[]) => void;
 * const pool = new ThreadPool(module, memory, 2, heap, [scratch], ["sgd_update_f64"], [sgd]);
 * const w = scratch + 300 * 1024, g = w + 64; // two f64 values each, after the scratch
 * new Float64Array(memory.buffer, w, 2).set([1, 1]);
 * new Float64Array(memory.buffer, g, 2).set([1, 2]);
 * // Two parts, w[0] -= 0.5·g[0] and w[1] -= 0.5·g[1]: each runs on whichever thread claims it.
 * pool.add(0, [w, g, 0, 1, 0.5, 0, 0]);
 * pool.add(0, [w + 8, g + 8, 0, 1, 0.5, 0, 0]);
 * pool.flush();
 * pool.close();
 * console.log(new Float64Array(memory.buffer, w, 2)); // [0.5, 0]
 * using k = new Kernels("f64", { threads: 2 }); // the usual way
 * ```
 */
export class ThreadPool {
  /** Threads in all, the caller included. */
  readonly size: number;
  readonly #workers: Worker[] = [];
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #ctl: number;
  readonly #local: readonly PartFn[];
  #seq = 0;
  #pending = 0;
  #closed = false;
  #batches = 0;
  #parts = 0;
  #callerParts = 0;

  /**
   * Starts `size − 1` workers on `memory`. `ctl` points to {@linkcode controlBytes} zeroed bytes
   * and `scratch[w]` to worker w's matmul scratch, both in `memory`; `names` are the exports the
   * workers may be asked to run, by index, and `local` the same functions on the caller's
   * instance.
   */
  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    size: number,
    ctl: number,
    scratch: readonly number[],
    names: readonly string[],
    local: readonly PartFn[],
  ) {
    if (!Number.isInteger(size) || size < 2 || size > MAX_THREADS) {
      throw new RangeError(`A pool has 2 to ${MAX_THREADS} threads, got ${size}`);
    }
    if (local.length !== names.length) {
      throw new RangeError(`${names.length} names but ${local.length} local functions`);
    }
    this.size = size;
    this.#ctl = ctl;
    this.#local = local;
    this.#i32 = new Int32Array(memory.buffer);
    this.#f64 = new Float64Array(memory.buffer);
    workerUrl ??= URL.createObjectURL(
      new Blob([WORKER_SOURCE], { type: "application/javascript" }),
    );
    for (let w = 0; w + 1 < size; w++) {
      const worker = new Worker(workerUrl, { type: "module" });
      worker.postMessage({ module, memory, ctl, id: w, names, scratch: scratch[w], spin: SPIN });
      this.#workers.push(worker);
    }
    for (let w = 0; w + 1 < size; w++) {
      const readyI = ((ctl + READY) >> 2) + w, exitI = ((ctl + EXITED) >> 2) + w;
      const t0 = Date.now();
      while (Atomics.load(this.#i32, readyI) !== 1) {
        if (Atomics.load(this.#i32, exitI) === 1 || Date.now() - t0 > STARTUP_MS) {
          this.close();
          throw new Error(`Kernel thread ${w + 1} of ${size} did not start`);
        }
        Atomics.wait(this.#i32, readyI, 0, 50);
      }
    }
  }

  /** Batches of two or more parts run so far. */
  get batches(): number {
    return this.#batches;
  }

  /** Parts of those batches, and how many of them the caller ran itself (about 1/size of them
   * when every thread has a core; all of them when the workers never get one). */
  get parts(): { total: number; caller: number } {
    return { total: this.#parts, caller: this.#callerParts };
  }

  /** Parts queued and not yet run. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues a part: export `fn` (an index into the names) with `args` (at most {@linkcode
   * MAX_ARGS}). Parts queued before one {@linkcode ThreadPool.flush} may run in any order and at
   * the same time, so they must not depend on each other. A full batch is flushed first.
   */
  add(fn: number, args: ArrayLike<number>): void {
    if (this.#closed) throw new Error("The kernel threads were closed");
    if (args.length > MAX_ARGS) throw new RangeError(`A part takes at most ${MAX_ARGS} arguments`);
    if (this.#pending === MAX_PARTS) this.flush();
    const p = this.#pending++, a = ((this.#ctl + ARGS) >> 3) + p * MAX_ARGS;
    this.#i32[((this.#ctl + FNS) >> 2) + p] = fn;
    const f64 = this.#f64;
    for (let i = 0; i < args.length; i++) f64[a + i] = args[i];
    for (let i = args.length; i < MAX_ARGS; i++) f64[a + i] = 0;
  }

  /**
   * Runs every queued part (on the caller and the workers) and returns when all are done. With
   * `alongside`, the caller first runs that (work independent of the parts) while the workers
   * start on the parts.
   */
  flush(alongside?: () => void): void {
    const n = this.#pending;
    this.#pending = 0;
    if (n <= 1) {
      if (n === 1) this.#run(0);
      alongside?.();
      return;
    }
    const i32 = this.#i32, ctl = this.#ctl;
    const batchI = (ctl + BATCH) >> 2, finI = (ctl + FINISHED) >> 2;
    i32[(ctl + PARTS) >> 2] = n;
    Atomics.store(i32, finI, 0);
    this.#seq = (this.#seq + 1) & 0xffffff;
    Atomics.store(i32, batchI, this.#seq << 8);
    Atomics.notify(i32, batchI);
    let mine = 0;
    try {
      alongside?.();
    } finally {
      // Even if alongside threw: every part must be done before the next batch.
      for (;;) {
        const v = Atomics.load(i32, batchI), p = v & 255;
        if (p >= n) break;
        if (Atomics.compareExchange(i32, batchI, v, v + 1) === v) {
          this.#run(p);
          mine++;
        }
      }
      this.#batches++;
      this.#parts += n;
      this.#callerParts += mine;
      // Wait for the parts the workers took.
      let f = Atomics.load(i32, finI), spins = 0;
      while (f !== n - mine) {
        if (++spins > SPIN) {
          this.#checkAlive();
          Atomics.wait(i32, finI, f, 100);
          spins = 0;
        }
        f = Atomics.load(i32, finI);
      }
    }
  }

  #run(p: number): void {
    const f64 = this.#f64, a = ((this.#ctl + ARGS) >> 3) + p * MAX_ARGS;
    this.#local[this.#i32[((this.#ctl + FNS) >> 2) + p]](
      f64[a],
      f64[a + 1],
      f64[a + 2],
      f64[a + 3],
      f64[a + 4],
      f64[a + 5],
      f64[a + 6],
      f64[a + 7],
      f64[a + 8],
      f64[a + 9],
      f64[a + 10],
      f64[a + 11],
      f64[a + 12],
      f64[a + 13],
      f64[a + 14],
      f64[a + 15],
    );
  }

  #checkAlive(): void {
    const exitI = (this.#ctl + EXITED) >> 2;
    for (let w = 0; w < this.#workers.length; w++) {
      if (Atomics.load(this.#i32, exitI + w) === 1) {
        throw new Error(`Kernel thread ${w + 1} stopped`);
      }
    }
  }

  /** Stops the workers (the pool is unusable afterwards). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const i32 = this.#i32, ctl = this.#ctl;
    i32[(ctl + PARTS) >> 2] = -1;
    this.#seq = (this.#seq + 1) & 0xffffff;
    Atomics.store(i32, (ctl + BATCH) >> 2, this.#seq << 8);
    Atomics.notify(i32, (ctl + BATCH) >> 2);
    for (const w of this.#workers) w.terminate();
  }
}
