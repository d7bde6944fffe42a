/**
 * The `--fma` kernels (relaxed-SIMD fused multiply-add in the matrix products) against the default,
 * bit-reproducible ones: a 256³ product and SGD steps, f32 and f64, timed in interleaved rounds in
 * one process (the fastest of short batches per round, the median over rounds); writes
 * bench/results/fma.json.
 *
 * Run: `deno bench -A bench/fma_bench.ts`
 */
import { resolveConfig } from "../src/config.ts";
import { Kernels, type Precision } from "../src/kernels.ts";
import { Trainer } from "../src/train.ts";
import { tableRecords, writeBenchResults } from "./_results.ts";
import { printTable, timeCall } from "./_timing.ts";

const ROUNDS = 5;

interface Case {
  what: string;
  /** A timed call of the kernels with or without fma. */
  make: (fma: boolean) => () => void;
}

function matmul(precision: Precision) {
  return (fma: boolean) => {
    const k = new Kernels(precision, { fma });
    const [a, b, c] = [k.alloc(256, 256), k.alloc(256, 256), k.alloc(256, 256)];
    k.view(a).fill(0.5);
    k.view(b).fill(0.25);
    return () => k.matmulNN(a, b, c);
  };
}

function step(settings: Record<string, unknown>) {
  return (fma: boolean) => {
    const t = new Trainer(resolveConfig({ settings: { ...settings, fma, nEval: 1000 } }));
    return () => t.steps(1, 1e-3);
  };
}

const MULTI = { d: 20, dataStd: 10, multi: 10, outputs: 100, batch: 64, nTrain: 10000 };
const CASES: Case[] = [
  { what: "256³ matrix product, f32", make: matmul("f32") },
  { what: "256³ matrix product, f64", make: matmul("f64") },
  { what: "two-layer step, f32", make: step({ precision: "f32" }) },
  { what: "two-layer step, f64", make: step({ precision: "f64" }) },
  {
    what: "multi-layer step, 10-15-20-25 ×10, f32",
    make: step({ ...MULTI, widths: [10, 15, 20, 25] }),
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fns = CASES.map((c) => ({ what: c.what, plain: c.make(false), fma: c.make(true) }));
const times = fns.map(() => ({ plain: [] as number[], fma: [] as number[] }));
for (let r = 0; r < ROUNDS; r++) {
  fns.forEach((f, i) => {
    times[i].plain.push(timeCall(f.plain, 100, 300));
    times[i].fma.push(timeCall(f.fma, 100, 300));
  });
}
const rows = [["what", "default µs", "fma µs", "speed-up"]];
fns.forEach((f, i) => {
  const p = median(times[i].plain), q = median(times[i].fma);
  rows.push([f.what, (p * 1e6).toFixed(1), (q * 1e6).toFixed(1), (p / q).toFixed(2)]);
});
console.log(`--fma vs default kernels, medians of ${ROUNDS} interleaved rounds:`);
printTable(rows);
await writeBenchResults("fma", {
  what: "relaxed-SIMD FMA kernels vs the default ones; speed-up = default time ÷ fma time",
  rounds: ROUNDS,
  rows: tableRecords(rows),
});

Deno.bench({ name: "two-layer step f32, fma", group: "fma", fn: fns[2].fma });
Deno.bench({ name: "two-layer step f32, default", group: "fma", baseline: true, fn: fns[2].plain });
