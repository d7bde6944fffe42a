/**
 * Threads for the kernels: Deno Workers that each instantiate the kernels module on the caller's
 * shared memory and run the calls they are handed, synchronised with Atomics on a control block in
 * that memory (no message per call). Used by {@linkcode Kernels} with `threads` > 1; callers split
 * their work so that every output element is computed by exactly one thread, in the same order as
 * a single thread would, so the results do not depend on the number of threads.
 *
 * The workers run from a blob URL and get the compiled module and the memory by `postMessage`, so
 * the library still needs no permissions and works when imported by URL.
 *
 * Control block, one 256-byte slot per worker: i32 `seq` (bumped by the caller for every call),
 * `fn` (index into the function names, −1 = stop) and `claim` at bytes 0, 4 and 8, the call's
 * arguments as f64 from byte 64, and i32 `done` (the last finished `seq`, −1 once the worker
 * stopped) at byte 192 and `ready` at byte 196, on their own cache line.
 *
 * Hand-off: the caller writes the arguments, bumps `seq`, then clears `claim`; the worker takes
 * the part by swapping `claim` 0 → 1 (compare-exchange). Once its own part is done, the caller
 * tries the same swap 0 → 2 for every part not yet taken and runs those itself: on a loaded
 * machine, where a worker may not be scheduled for milliseconds, a call never waits for a worker
 * that has not started, and the results are the same whoever computes a part. A worker's
 * instantiation re-applies the module's data segments (constants), so the constructor waits until
 * every worker is ready before anything runs.
 * @module
 */

/** Bytes of one worker's control slot. */
export const SLOT_BYTES = 256;
/** Arguments a call can have (f64 each). */
export const MAX_ARGS = 16;
const ARGS = 64, DONE = 192, READY = 196, CLAIM = 8;
/** Polls of a control word before sleeping in Atomics.wait (about 20–50 µs). */
const SPIN = 20000;
/** How long the constructor waits for the workers to start. */
const STARTUP_MS = 30000;

const WORKER_SOURCE = `
self.onmessage = (e) => {
  const { module, memory, ctl, names, scratch, spin } = e.data;
  const i32 = new Int32Array(memory.buffer), doneI = (ctl + ${DONE}) >> 2;
  try {
    loop(module, memory, ctl, names, scratch, spin);
  } finally {
    Atomics.store(i32, doneI, -1);
    Atomics.notify(i32, doneI);
    self.close();
  }
};
function loop(module, memory, ctl, names, scratch, spin) {
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  ex.set_scratch(scratch);
  const fns = names.map((n) => ex[n]);
  const i32 = new Int32Array(memory.buffer), f64 = new Float64Array(memory.buffer);
  const seqI = ctl >> 2, fnI = seqI + 1, claimI = (ctl + ${CLAIM}) >> 2;
  const doneI = (ctl + ${DONE}) >> 2, a = (ctl + ${ARGS}) >> 3;
  Atomics.store(i32, (ctl + ${READY}) >> 2, 1);
  Atomics.notify(i32, (ctl + ${READY}) >> 2);
  let last = 0;
  for (;;) {
    let s = Atomics.load(i32, seqI), n = 0;
    while (s === last) {
      if (++n > spin) { Atomics.wait(i32, seqI, last); n = 0; }
      s = Atomics.load(i32, seqI);
    }
    last = s;
    if (Atomics.compareExchange(i32, claimI, 0, 1) !== 0) continue; // the caller took it
    // The claim was cleared after seq was bumped: seq now names the call taken.
    s = last = Atomics.load(i32, seqI);
    const fn = i32[fnI];
    if (fn < 0) break;
    fns[fn](f64[a], f64[a + 1], f64[a + 2], f64[a + 3], f64[a + 4], f64[a + 5], f64[a + 6],
      f64[a + 7], f64[a + 8], f64[a + 9], f64[a + 10], f64[a + 11], f64[a + 12], f64[a + 13],
      f64[a + 14], f64[a + 15]);
    Atomics.store(i32, doneI, s);
    Atomics.notify(i32, doneI);
  }
}
`;

let workerUrl: string | undefined;

/**
 * A fixed set of worker threads sharing one WebAssembly memory with the caller, which runs a part
 * of every call itself: `size` threads in all.
 *
 * @example
 * ```ts
 * import { Kernels, sharedKernelsModule, ThreadPool } from "@specialize/specialize";
 * // Kernels with threads > 1 makes its own pool; by hand, on a memory of your own:
 * const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
 * const module = sharedKernelsModule();
 * const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
 * const heap = (ex.heap_start as () => number)(); // ctl slot, then the worker's scratch
 * const pool = new ThreadPool(module, memory, 2, heap, [heap + 256], ["sgd_update_f64"]);
 * const w = heap + 300 * 1024, g = w + 64; // two f64 values each, after the scratch
 * new Float64Array(memory.buffer, w, 2).set([1, 1]);
 * new Float64Array(memory.buffer, g, 2).set([1, 2]);
 * const sgd = ex.sgd_update_f64 as (...args: number[]) => void;
 * // Part 0 (the caller's) is empty; part 1, w -= 0.5·g, runs on the worker (or here if it is late).
 * pool.run(0, [[w, g, 0, 0, 0, 0, 0], [w, g, 0, 2, 0.5, 0, 0]], (args) => sgd(...args));
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
  readonly #slots: number[];
  readonly #seq: number[];
  #closed = false;
  #stolen = 0;
  #handed = 0;

  /**
   * Starts `size − 1` workers on `memory`. `ctl` points to (size − 1) × {@link SLOT_BYTES} zeroed
   * bytes and `scratch[w]` to worker w's matmul scratch, both in `memory`; `names` are the exports
   * the workers may be asked to run, by index.
   */
  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    size: number,
    ctl: number,
    scratch: readonly number[],
    names: readonly string[],
  ) {
    this.size = size;
    this.#i32 = new Int32Array(memory.buffer);
    this.#f64 = new Float64Array(memory.buffer);
    this.#slots = [];
    this.#seq = [];
    workerUrl ??= URL.createObjectURL(
      new Blob([WORKER_SOURCE], { type: "application/javascript" }),
    );
    for (let w = 0; w + 1 < size; w++) {
      const slot = ctl + w * SLOT_BYTES;
      this.#slots.push(slot);
      this.#seq.push(0);
      const worker = new Worker(workerUrl, { type: "module" });
      worker.postMessage({ module, memory, ctl: slot, names, scratch: scratch[w], spin: SPIN });
      this.#workers.push(worker);
    }
    for (let w = 0; w + 1 < size; w++) {
      const readyI = (this.#slots[w] + READY) >> 2, doneI = (this.#slots[w] + DONE) >> 2;
      const t0 = Date.now();
      while (Atomics.load(this.#i32, readyI) !== 1) {
        if (Atomics.load(this.#i32, doneI) === -1 || Date.now() - t0 > STARTUP_MS) {
          this.close();
          throw new Error(`Kernel thread ${w + 1} of ${size} did not start`);
        }
        Atomics.wait(this.#i32, readyI, 0, 50);
      }
    }
  }

  /** Parts handed to workers so far. */
  get handed(): number {
    return this.#handed;
  }

  /** Of those, parts no worker had taken when the caller was done, so the caller ran them. */
  get stolen(): number {
    return this.#stolen;
  }

  /**
   * Runs export `fn` (an index into the names) with `parts[t]` as arguments, part 0 on the caller
   * and part t on worker t − 1, and returns when all are done. `local(args)` runs the same export
   * on the caller: for part 0, and for every part its worker had not taken by then.
   * parts.length ≤ size, each with at most {@link MAX_ARGS} arguments.
   */
  run(
    fn: number,
    parts: readonly (readonly number[])[],
    local: (args: readonly number[]) => void,
  ): void {
    if (this.#closed) throw new Error("The kernel threads were closed");
    const i32 = this.#i32, f64 = this.#f64;
    const started = Math.min(parts.length, this.size) - 1;
    for (let w = 0; w < started; w++) {
      const slot = this.#slots[w], args = parts[w + 1];
      const a = (slot + ARGS) >> 3;
      for (let i = 0; i < args.length; i++) f64[a + i] = args[i];
      i32[(slot >> 2) + 1] = fn;
      Atomics.store(i32, slot >> 2, ++this.#seq[w]);
      Atomics.store(i32, (slot + CLAIM) >> 2, 0);
      Atomics.notify(i32, slot >> 2);
    }
    this.#handed += started;
    local(parts[0]);
    for (let w = 0; w < started; w++) {
      if (Atomics.compareExchange(i32, (this.#slots[w] + CLAIM) >> 2, 0, 2) === 0) {
        this.#stolen++;
        local(parts[w + 1]);
      } else this.#await(w);
    }
  }

  #await(w: number): void {
    const i32 = this.#i32, doneI = (this.#slots[w] + DONE) >> 2, s = this.#seq[w];
    let d = Atomics.load(i32, doneI), n = 0;
    while (d !== s) {
      if (d === -1) throw new Error(`Kernel thread ${w + 1} stopped`);
      if (++n > SPIN) {
        Atomics.wait(i32, doneI, d, 1000);
        n = 0;
      }
      d = Atomics.load(i32, doneI);
    }
  }

  /** Stops the workers (the pool is unusable afterwards). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const i32 = this.#i32;
    for (let w = 0; w < this.#workers.length; w++) {
      const slot = this.#slots[w];
      i32[(slot >> 2) + 1] = -1;
      Atomics.store(i32, slot >> 2, ++this.#seq[w]);
      Atomics.store(i32, (slot + CLAIM) >> 2, 0);
      Atomics.notify(i32, slot >> 2);
      this.#workers[w].terminate();
    }
  }
}
