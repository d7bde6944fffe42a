/**
 * Cost of one evaluation against one training epoch in the paper's two-layer config (d=100,
 * widths [20], multi 10, 50 outputs, batch 16, 1000 steps per epoch, 10000 training and 10000
 * eval samples), f64 and f32. The target (issue #3): ratio ≤ 1.
 *
 * One evaluation = `evaluateTrainer` as a run calls it at most epochs: both splits' forward
 * passes, correlations and summaries, the training set's backward pass (full-batch gradient,
 * per-sample gradient norms, per-node squared deltas) and fan-out norms. "+ obs" adds boundary
 * observability, which a run measures only where it saves matrices (first, last, --save-corr-at). Epochs and evaluations are interleaved and
 * the medians compared, so slow phases of a noisy machine hit both alike.
 *
 * Run: `deno bench -A bench/eval_bench.ts`
 */
import { Analyzer, evaluateTrainer, trainerSplits } from "../src/analysis.ts";
import { resolveConfig } from "../src/config.ts";
import type { Precision } from "../src/kernels.ts";
import { Trainer } from "../src/train.ts";
import { tableRecords, writeBenchResults } from "./_results.ts";
import { printTable } from "./_timing.ts";

const ROUNDS = 7;

function trainer(precision: Precision): Trainer {
  return new Trainer(resolveConfig({ settings: { precision, epochs: 100 } }));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function ms(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const trainers = { f32: trainer("f32"), f64: trainer("f64") };
const rows = [[
  "precision",
  "epoch ms",
  "evaluation ms",
  "ratio",
  "+ obs ms",
  "+ obs ratio",
  "train split ms",
  "eval split ms",
  "Trainer.evaluate ms",
]];
for (const p of ["f64", "f32"] as const) {
  const t = trainers[p];
  evaluateTrainer(t); // allocates the analysis buffers once
  const epoch: number[] = [], evaluation: number[] = [], withObs: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    epoch.push(ms(() => t.trainEpoch()));
    evaluation.push(ms(() => evaluateTrainer(t, { observability: false })));
    withObs.push(ms(() => evaluateTrainer(t)));
    plain.push(ms(() => t.evaluate()));
  }
  // The splits alone (same analyzer as the evaluations above).
  const [trainSplit, evalSplit] = trainerSplits(t, false);
  const a = new Analyzer(t.teacher, t.student, { cacheTeacher: true });
  a.analyze([trainSplit]);
  const trainMs = median([0, 1, 2].map(() => ms(() => a.analyze([trainSplit]))));
  const evalMs = median([0, 1, 2].map(() => ms(() => a.analyze([evalSplit]))));
  const e = median(epoch), v = median(evaluation), o = median(withObs);
  rows.push([
    p,
    e.toFixed(1),
    v.toFixed(1),
    (v / e).toFixed(2),
    o.toFixed(1),
    (o / e).toFixed(2),
    trainMs.toFixed(1),
    evalMs.toFixed(1),
    median(plain).toFixed(1),
  ]);
}
console.log("one evaluation vs one epoch (1000 SGD steps), paper two-layer config, medians:");
printTable(rows);
await writeBenchResults("eval", {
  what: "one evaluation vs one epoch (1000 SGD steps), paper two-layer config, medians of 7 rounds",
  rows: tableRecords(rows),
});

for (const p of ["f32", "f64"] as const) {
  Deno.bench({
    name: `one evaluation (both splits), paper two-layer config, ${p}`,
    group: `eval ${p}`,
    fn: () => {
      evaluateTrainer(trainers[p], { observability: false });
    },
  });
  Deno.bench({
    name: `one epoch (1000 SGD steps), paper two-layer config, ${p}`,
    group: `eval ${p}`,
    baseline: true,
    fn: () => trainers[p].trainEpoch(),
  });
}
