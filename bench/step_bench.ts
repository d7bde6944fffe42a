/**
 * One SGD step of the paper's two-layer config (d=100, m=20, multi 10 → 200 student nodes,
 * 50 outputs, batch 16), in f32 and f64, as a fraction of the SIMD peak measured in the same run.
 *
 * FLOPs of a step (2 per multiply-add, the student only): forward 2B(d·n + n·c), backward
 * 2B(n·c) for ∂W2, 2B(c·n) for ∂h, 2B(d·n) for ∂W1, update 2 per weight.
 *
 * Run: `deno bench -A bench/step_bench.ts`
 */
import { resolveConfig } from "../src/config.ts";
import type { Precision } from "../src/kernels.ts";
import { Trainer } from "../src/train.ts";
import { tableRecords, writeBenchResults } from "./_results.ts";
import { peakGflops, printTable, timeCall } from "./_timing.ts";

const STEPS = 200;
/** Steps per timed call of the table: short calls (a few ms), so some run undisturbed. */
const TIMED_STEPS = 10;
const d = 100, n = 200, c = 50, B = 16;
/** FLOPs of one step of the paper's two-layer student. */
export const STEP_FLOPS = 2 * B * (d * n + n * c) + 2 * B * (n * c + c * n + d * n) +
  2 * ((d + 1) * n + (n + 1) * c);

function trainer(precision: Precision): Trainer {
  return new Trainer(resolveConfig({ settings: { precision, epochs: 1, nEval: 1000 } }));
}

const trainers = { f32: trainer("f32"), f64: trainer("f64") };

const rows = [["precision", "µs/step", "steps/s", "GFLOP/s", "peak GFLOP/s", "% of peak"]];
for (const p of ["f32", "f64"] as const) {
  const t = trainers[p];
  const peak = peakGflops(p, t.kernels);
  const s = timeCall(() => t.steps(TIMED_STEPS, 0.001), 300, 1500) / TIMED_STEPS;
  const gf = STEP_FLOPS / s / 1e9;
  rows.push([
    p,
    (s * 1e6).toFixed(1),
    Math.round(1 / s).toString(),
    gf.toFixed(1),
    peak.toFixed(1),
    (100 * gf / peak).toFixed(0),
  ]);
}
console.log(`two-layer SGD step, ${(STEP_FLOPS / 1e6).toFixed(2)} MFLOP each:`);
printTable(rows);
await writeBenchResults("step", {
  what:
    "one SGD step of the paper's two-layer config (d 100, 200 student nodes, 50 outputs, batch 16)",
  stepFlops: STEP_FLOPS,
  rows: tableRecords(rows),
});

for (const p of ["f32", "f64"] as const) {
  Deno.bench({
    name: `${STEPS} SGD steps, paper two-layer config, ${p}`,
    group: "step",
    baseline: p === "f32",
    fn: () => trainers[p].steps(STEPS, 0.001),
  });
}
