import { resolveConfig, type RunConfig } from "../src/config.ts";
import { Rng, STREAM } from "../src/rng.ts";
import { buildTeacher } from "../src/teacher.ts";
import { Kernels } from "../src/kernels.ts";
import { Trainer } from "../src/train.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";

const small = (s: Record<string, unknown> = {}): RunConfig =>
  resolveConfig({
    settings: {
      d: 20,
      widths: [5],
      outputs: 5,
      multi: 4,
      nTrain: 2000,
      nEval: 1000,
      iters: 500,
      epochs: 10,
      ...s,
    },
  });

function weightBytes(t: Trainer): Uint8Array[] {
  return t.student.weights.map((w) => new Uint8Array(t.kernels.view(w).slice().buffer));
}

for (const precision of ["f32", "f64"]) {
  Deno.test(`same seed gives bit-identical training (${precision})`, () => {
    const run = (seed: number) => {
      const t = new Trainer(small({ precision, seed }));
      t.trainEpoch();
      t.trainEpoch();
      return { w: weightBytes(t), m: t.evaluate() };
    };
    const a = run(3), b = run(3), c = run(4);
    assertEquals(a.w, b.w);
    assertEquals(a.m, b.m);
    assertOk(a.m.evalMse !== c.m.evalMse, "a different seed gives a different run");
  });
}

Deno.test("a small two-layer student drives the eval loss down by orders of magnitude", () => {
  const t = new Trainer(small({ epochs: 15 }));
  const before = t.evaluate().evalMse;
  for (let e = 0; e < 15; e++) t.trainEpoch();
  const after = t.evaluate();
  const decades = Math.log10(before / after.evalMse);
  assertOk(
    decades > 3,
    `eval MSE ${before} → ${after.evalMse}: only ${decades.toFixed(2)} decades`,
  );
  assertOk(after.gradNorm.every((g) => g < 0.05), `gradients still large: ${after.gradNorm}`);
});

for (
  const s of [{ sampling: "shuffle" }, { nTrain: 0 }, { momentum: 0.9, lr: 0.002 }, {
    precision: "f32",
  }]
) {
  Deno.test(`training works with ${JSON.stringify(s)}`, () => {
    const t = new Trainer(small({ epochs: 6, ...s }));
    const before = t.evaluate().evalMse;
    for (let e = 0; e < 6; e++) t.trainEpoch();
    const m = t.evaluate();
    assertOk(Number.isFinite(m.trainMse) && Number.isFinite(m.evalMse), JSON.stringify(m));
    assertOk(Math.log10(before / m.evalMse) > 1.5, `eval MSE ${before} → ${m.evalMse}`);
  });
}

Deno.test("teacher follows the paper: grid rows, unit norm, distinct, bias, strength decay", () => {
  const cfg = resolveConfig({ settings: { d: 6, widths: [7], outputs: 4, p: 1.5 } });
  const k = new Kernels("f64");
  const t = buildTeacher(k, cfg, new Rng(cfg.seed, STREAM.teacher));
  const w1 = t.getWeights(0), w2 = t.getWeights(1);
  const m = 7, d = 6, c = 4;
  const seen = new Set<string>();
  for (let j = 0; j < m; j++) {
    const col = Array.from({ length: d }, (_, i) => w1[i * m + j]);
    const norm = Math.hypot(...col);
    assertAlmostEquals(norm, 1, 1e-12, `node ${j} norm`);
    const grid = col.map((v) => v / Math.max(...col.map(Math.abs)));
    assertOk(grid.some((v) => v !== 0));
    seen.add(col.join(","));
    assertEquals(w1[d * m + j], -0.1);
  }
  assertEquals(seen.size, m);
  for (let i = 0; i < m; i++) {
    for (let o = 0; o < c; o++) {
      const g = w2[i * c + o] * Math.pow(i + 1, 1.5);
      assertAlmostEquals(g * 4, Math.round(g * 4), 1e-9, `fan-out of ${i} to ${o} on the grid`);
      assertOk(Math.abs(g) <= 1 + 1e-9);
    }
  }
  for (let o = 0; o < c; o++) assertEquals(w2[m * c + o], -0.1);
});

Deno.test("bias tuning makes every hidden teacher node active on about half the inputs", () => {
  const cfg = resolveConfig({
    settings: {
      d: 8,
      widths: [6, 5, 4],
      outputs: 3,
      dataStd: 10,
      nTrain: 100,
      nEval: 4000,
      standardize: true,
    },
  });
  assertEquals(cfg.biasTuning, true);
  const t = new Trainer(cfg);
  const k = t.kernels, ws = t.teacher.workspace(cfg.nEval);
  const y = k.view(t.teacher.forward(t.eval.x, ws));
  for (let l = 0; l < 3; l++) {
    const g = k.view(ws.gates[l]), w = cfg.widths[l];
    for (let j = 0; j < w; j++) {
      let on = 0;
      for (let r = 0; r < cfg.nEval; r++) on += g[r * w + j];
      assertAlmostEquals(on / cfg.nEval, 0.5, 0.05, `layer ${l} node ${j} active fraction`);
    }
  }
  for (let o = 0; o < 3; o++) {
    let s = 0, s2 = 0;
    for (let r = 0; r < cfg.nEval; r++) s += y[r * 3 + o];
    const mean = s / cfg.nEval;
    for (let r = 0; r < cfg.nEval; r++) s2 += (y[r * 3 + o] - mean) ** 2;
    assertAlmostEquals(mean, 0, 0.1, `output ${o} mean`);
    assertAlmostEquals(Math.sqrt(s2 / cfg.nEval), 1, 0.1, `output ${o} std`);
  }
});

Deno.test("changing the student does not change teacher or data (independent streams)", () => {
  const a = new Trainer(small({ multi: 2 })), b = new Trainer(small({ multi: 7, init: "uniform" }));
  assertEquals(a.teacher.getWeights(0), b.teacher.getWeights(0));
  assertEquals(a.kernels.view(a.eval.y).slice(), b.kernels.view(b.eval.y).slice());
});

Deno.test("training measurements use a fixed subsample only when the set is larger than it", () => {
  for (const precision of ["f32", "f64"]) {
    // 2000 samples, n-train-eval 10000 (default) and 2000: the training set itself, nothing drawn
    for (const nTrainEval of [10000, 2000]) {
      const t = new Trainer(small({ precision, nTrainEval, iters: 50 }));
      assertOk(t.trainEval === t.train && t.trainEvalIndices === null, `${nTrainEval}`);
    }
    const full = new Trainer(small({ precision, iters: 50 }));
    const sub = new Trainer(small({ precision, iters: 50, nTrainEval: 300 }));
    const idx = sub.trainEvalIndices!;
    assertEquals([sub.trainEval!.n, idx.length], [300, 300]);
    assertOk(idx.every((v, i) => v >= 0 && v < 2000 && (i === 0 || v > idx[i - 1])), "ascending");
    // the rows are the training set's rows at those indices, inputs and outputs
    const k = sub.kernels;
    for (const key of ["x", "y"] as const) {
      const all = k.view(sub.train![key]), part = k.view(sub.trainEval![key]);
      const c = sub.train![key].cols;
      for (let r = 0; r < idx.length; r++) {
        assertEquals(part.slice(r * c, r * c + c), all.slice(idx[r] * c, idx[r] * c + c));
      }
    }
    // training is untouched by the subsample (own random stream); the measurements follow it
    full.trainEpoch();
    sub.trainEpoch();
    assertEquals(weightBytes(sub), weightBytes(full));
    const m = sub.evaluate(), mf = full.evaluate();
    assertEquals(m.trainMse, sub.mse(sub.trainEval!));
    assertEquals(mf.trainMse, full.mse(full.train!));
    assertOk(m.trainMse !== mf.trainMse, "train MSE on the subsample, not the whole set");
    assertEquals(m.evalMse, mf.evalMse);
    // another seed draws other rows
    const other = new Trainer(small({ precision, iters: 50, nTrainEval: 300, seed: 2 }));
    assertOk(other.trainEvalIndices!.some((v, i) => v !== idx[i]), "seed changes the subsample");
  }
});

Deno.test("minibatch gradient norms per epoch match the steps' own gradients (f32, f64)", () => {
  for (const precision of ["f32", "f64"]) {
    const iters = 7, lr = 0.05;
    const cfg = small({ precision, iters, lr, widths: [3, 4], nTrainEval: 100 });
    const a = new Trainer(cfg), b = new Trainer(cfg);
    assertEquals(a.batchGradNorms(), null, "none before training");
    a.trainEpoch();
    // b: one step at a time; plain SGD, so each step's gradient is (w_before - w_after) / lr
    const norms: number[][] = [];
    for (let s = 0; s < iters; s++) {
      const before = b.student.weights.map((w) => Float64Array.from(b.kernels.view(w)));
      b.steps(1, lr);
      norms.push(b.student.weights.map((w, l) => {
        const after = b.kernels.view(w);
        let ss = 0;
        for (let i = 0; i < after.length; i++) ss += ((before[l][i] - after[i]) / lr) ** 2;
        return Math.sqrt(ss);
      }));
    }
    const got = a.batchGradNorms()!;
    assertEquals(got.steps, iters);
    const tol = precision === "f32" ? 2e-3 : 1e-9;
    for (let l = 0; l < 3; l++) {
      const col = norms.map((n) => n[l]);
      const mean = col.reduce((x, y) => x + y, 0) / iters, max = Math.max(...col);
      assertAlmostEquals(got.mean[l], mean, tol * mean, `${precision} layer ${l} mean`);
      assertAlmostEquals(got.max[l], max, tol * max, `${precision} layer ${l} max`);
      assertOk(got.max[l] > got.mean[l] && got.mean[l] > 0, `${precision} layer ${l}`);
    }
    assertEquals(a.evaluate().batchGradNorm, got, "evaluate reports the epoch's norms");
    // a new epoch starts a new accumulation; a snapshot carries the partial one
    a.trainEpoch();
    assertEquals(a.batchGradNorms()!.steps, iters);
    const c = new Trainer(cfg);
    c.restore(a.snapshot());
    assertEquals(c.batchGradNorms(), a.batchGradNorms());
  }
});
