/**
 * One SGD step of the paper's two-layer config (d=100, m=20, multi 10 → 200 student nodes,
 * 50 outputs, batch 16), in f32 and f64, as a fraction of the SIMD peak measured in the same run,
 * then where a step goes: each kernel call of the step timed alone on the step's own buffers (µs,
 * share of the step, GFLOP/s and % of peak for the products). The rest of a step (the parts do not
 * add up to it exactly) is the JavaScript between the calls and the caches the calls share.
 *
 * FLOPs of a step (2 per multiply-add, the student only): forward 2B(d·n + n·c), backward
 * 2B(n·c) for ∂W2, 2B(c·n) for ∂h, 2B(d·n) for ∂W1, update 2 per weight.
 *
 * Run: `deno bench -A bench/step_bench.ts`
 */
import { resolveConfig } from "../src/config.ts";
import type { Precision } from "../src/kernels.ts";
import { Trainer } from "../src/train.ts";
import type { Kernels } from "../src/kernels.ts";
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

/** The kernel calls of one step of `t` on its own buffers: name, call, FLOPs. */
function stepCalls(t: Trainer): [string, () => void, number][] {
  const k: Kernels = t.kernels, s = t.student, ws = s.workspace(B), g = s.allocLike();
  const x = k.alloc(B, d), y = k.alloc(B, c), idx = k.allocI32(B);
  k.viewI32(idx, B).set(Array.from({ length: B }, (_, i) => (i * 37) % t.config.nTrain));
  const P = s.params, err = ws.deltas[1];
  s.forward(x, ws);
  return [
    ["gather rows (x, y)", () => {
      k.gatherRows(t.train!.x, idx, x);
      k.gatherRows(t.train!.y, idx, y);
    }, 0],
    [`linear ${B}×${d}×${n} + bias + ReLU`, () => {
      k.linear(x, P.main[0], P.bias[0], ws.pre[0], { y: ws.acts[1], gate: ws.gates[0], slope: 0 });
    }, 2 * B * d * n],
    [
      `linear ${B}×${n}×${c} + bias`,
      () => k.linear(ws.acts[1], P.main[1], P.bias[1], ws.pre[1]),
      2 * B * n * c,
    ],
    ["error (sub, scale)", () => {
      k.sub(ws.pre[1], y, err);
      k.scale(err, 1 / B);
    }, 0],
    [`∂W2 = hᵀ·δ (${n}×${B}×${c})`, () => k.matmulTN(ws.acts[1], err, g.main[1]), 2 * B * n * c],
    [`δ1 = (δ·W2ᵀ)∘gate (${B}×${c}×${n})`, () => {
      k.matmulNTGated(err, P.main[1], ws.gates[0], ws.deltas[0]);
    }, 2 * B * n * c],
    [`∂W1 = xᵀ·δ1 (${d}×${B}×${n})`, () => k.matmulTN(x, ws.deltas[0], g.main[0]), 2 * B * d * n],
    ["bias gradients (column sums)", () => {
      k.colSums(err, g.bias[1]);
      k.colSums(ws.deltas[0], g.bias[0]);
    }, 0],
    ["gradient norms (sum of squares)", () => {
      k.sumsq(g.full[0]);
      k.sumsq(g.full[1]);
    }, 0],
    ["SGD update", () => {
      k.sgdUpdate(s.weights[0], g.full[0], null, 0, 0, 0);
      k.sgdUpdate(s.weights[1], g.full[1], null, 0, 0, 0);
    }, 2 * ((d + 1) * n + (n + 1) * c)],
  ];
}

const profile = [["precision", "call", "µs", "% of step", "GFLOP/s", "% of peak"]];
for (const p of ["f32", "f64"] as const) {
  const t = trainers[p];
  const peak = peakGflops(p, t.kernels);
  const step = timeCall(() => t.steps(TIMED_STEPS, 0.001), 300, 1000) / TIMED_STEPS;
  let sum = 0;
  for (const [name, fn, flops] of stepCalls(t)) {
    const sec = timeCall(fn, 100, 400);
    sum += sec;
    const gf = flops / sec / 1e9;
    profile.push([
      p,
      name,
      (sec * 1e6).toFixed(2),
      (100 * sec / step).toFixed(0),
      flops ? gf.toFixed(1) : "-",
      flops ? (100 * gf / peak).toFixed(0) : "-",
    ]);
  }
  profile.push([
    p,
    "sum of the calls",
    (sum * 1e6).toFixed(2),
    (100 * sum / step).toFixed(0),
    "",
    "",
  ]);
  profile.push([p, "whole step", (step * 1e6).toFixed(2), "100", "", ""]);
}
console.log("where a step goes (each call timed alone):");
printTable(profile, 2);

await writeBenchResults("step", {
  what:
    "one SGD step of the paper's two-layer config (d 100, 200 student nodes, 50 outputs, batch 16)",
  stepFlops: STEP_FLOPS,
  rows: tableRecords(rows),
  profile: tableRecords(profile),
});

for (const p of ["f32", "f64"] as const) {
  Deno.bench({
    name: `${STEPS} SGD steps, paper two-layer config, ${p}`,
    group: "step",
    baseline: p === "f32",
    fn: () => trainers[p].steps(STEPS, 0.001),
  });
}
