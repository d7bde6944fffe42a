/**
 * Both cores for one run: SGD steps on one thread against the same steps split over two
 * (`new Trainer(config, { threads: 2 })`, bit-identical results), in interleaved rounds so that
 * the load of a shared machine hits both alike: the multi-layer step at the paper's scale
 * (teacher 50-75-100-125 ×10, d 20, 100 outputs, batch 64, f32) and the reduced one (teacher
 * 10-15-20-25 ×10), and the paper's two-layer step (f64). Per configuration: the fastest and the
 * median round of each, and their ratios (speed-up of two threads; 2.0 is the ceiling on two
 * cores). Each round steps for ROUND_MS without a break, as a run does (its data stay in the
 * caches, its worker stays awake); short enough that some rounds run undisturbed on a loaded
 * machine, where the fastest rounds are the best estimate of the unloaded speed. The last columns count
 * the hand-offs to the threads per step and the share of the split calls' parts that the caller
 * ran itself (see src/threads.ts: whoever is free takes the next part): about 50 % when both
 * threads have a core, up to 100 % when other jobs keep the worker off the cores. The last column
 * is the ceiling the machine gives at that moment: two independent one-thread runs (in two
 * workers, bench/_steps_worker.ts) stepping at the same time, their summed steps per second over
 * one run's alone, measured in the same interleaved rounds (medians); on a shared or virtual
 * machine it can be well below 2.
 *
 * Run: `deno bench -A bench/threads_bench.ts` (writes bench/results/threads.json)
 */
import { resolveConfig } from "../src/config.ts";
import { Trainer } from "../src/train.ts";
import { tableRecords, writeBenchResults } from "./_results.ts";
import { printTable, stepFor } from "./_timing.ts";

/** Milliseconds of one round. */
const ROUND_MS = 300;

/** [name, settings, rounds]. */
const CASES: [string, Record<string, unknown>, number][] = [
  [
    "multi-layer step, teacher 50-75-100-125 ×10 (paper scale), f32",
    { d: 20, dataStd: 10, widths: [50, 75, 100, 125], multi: 10, outputs: 100, batch: 64 },
    24,
  ],
  [
    "multi-layer step, teacher 10-15-20-25 ×10, f32",
    { d: 20, dataStd: 10, widths: [10, 15, 20, 25], multi: 10, outputs: 100, batch: 64 },
    24,
  ],
  ["two-layer step, paper config (d 100, 200 nodes, batch 16), f64", { precision: "f64" }, 24],
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows = [[
  "workload",
  "1 thread ms/step (fastest)",
  "2 threads ms/step (fastest)",
  "speed-up (fastest)",
  "1 thread ms/step (median)",
  "2 threads ms/step (median)",
  "speed-up (median)",
  "hand-offs per step",
  "% of parts the caller ran",
  "2 independent runs (median)",
]];
const worker = () => new Worker(new URL("./_steps_worker.ts", import.meta.url), { type: "module" });
const workers = [worker(), worker()];
/** A round on worker w; resolves to its milliseconds per step. */
const onWorker = (w: Worker, settings: Record<string, unknown>) =>
  new Promise<number>((resolve) => {
    w.onmessage = (e: MessageEvent<number>) => resolve(e.data);
    w.postMessage({ settings, ms: ROUND_MS });
  });
try {
  for (const [name, caseSettings, rounds] of CASES) {
    const settings = { ...caseSettings, nTrain: 5000, nEval: 100, epochs: 1 };
    const config = resolveConfig({ settings });
    using one = new Trainer(config);
    using two = new Trainer(config, { threads: 2 });
    const t1: number[] = [], t2: number[] = [];
    let stepsTwo = 0;
    const round = (t: Trainer) => {
      const { steps, msPerStep } = stepFor(t, ROUND_MS);
      if (t === two) stepsTwo += steps;
      return msPerStep;
    };
    round(one), round(two); // warm-up
    const parts0 = two.kernels.threadParts;
    stepsTwo = 0;
    /** Per ceiling round: summed speed of both workers at once over one alone just before. */
    const ceiling: number[] = [];
    await Promise.all(workers.map((w) => onWorker(w, settings))); // warm-up
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first.
      if (r % 2) (t1.push(round(one)), t2.push(round(two)));
      else (t2.push(round(two)), t1.push(round(one)));
      if (r % 4 === 0) {
        // The machine's ceiling: one worker alone, then both at once (summed steps per second).
        const alone = await onWorker(workers[0], settings);
        const [a, b] = await Promise.all(workers.map((w) => onWorker(w, settings)));
        ceiling.push(alone * (1 / a + 1 / b));
      }
    }
    const f1 = Math.min(...t1), f2 = Math.min(...t2), m1 = median(t1), m2 = median(t2);
    const parts = two.kernels.threadParts;
    const total = parts.total - parts0.total, caller = parts.caller - parts0.caller;
    const handoffs = (parts.handoffs - parts0.handoffs) / stepsTwo;
    rows.push([
      name,
      f1.toFixed(3),
      f2.toFixed(3),
      (f1 / f2).toFixed(2),
      m1.toFixed(3),
      m2.toFixed(3),
      (m1 / m2).toFixed(2),
      total ? handoffs.toFixed(0) : "-",
      total ? (100 * caller / total).toFixed(0) : "-",
      median(ceiling).toFixed(2),
    ]);
  }
} finally {
  for (const w of workers) w.terminate(); // even if a case failed: they keep the process alive
}
console.log("SGD steps on 1 and 2 threads (interleaved rounds, same bits):");
printTable(rows);
await writeBenchResults("threads", {
  what: "SGD steps on 1 and 2 threads, interleaved rounds; speed-up = 1-thread time / 2-thread " +
    "time; hand-offs per step: meetings of the threads; parts the caller ran: share of the split " +
    "calls' parts run by the calling thread (each thread takes the next part when free: about " +
    "50 % with two free cores, more when other jobs slow the worker down); 2 independent runs: " +
    "summed steps per second of two one-thread runs stepping at the same time (in two workers) " +
    "over one alone, the ceiling the machine gives at that moment",
  rows: tableRecords(rows),
});

// Deno.bench: each measurement sets up its own trainer (outside the timed part) and closes it,
// since live worker threads would keep the process running.
const paper = resolveConfig({ settings: { ...CASES[0][1], nTrain: 500, nEval: 100, epochs: 1 } });
for (const threads of [1, 2]) {
  Deno.bench({
    name: `5 multi-layer SGD steps, paper scale, ${threads} thread${threads > 1 ? "s" : ""}`,
    group: "threads",
    baseline: threads === 1,
    n: 10,
    warmup: 1,
    fn: (b) => {
      using t = new Trainer(paper, { threads });
      t.steps(1, 1e-4);
      b.start();
      t.steps(5, 1e-4);
      b.end();
    },
  });
}
