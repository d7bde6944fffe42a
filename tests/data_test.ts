import { resolveConfig } from "../src/config.ts";
import { Kernels } from "../src/kernels.ts";
import { Rng, STREAM } from "../src/rng.ts";
import { buildTeacher } from "../src/teacher.ts";
import { makeDataSet, makeTeacherAwareDataSet } from "../src/data.ts";
import { Trainer } from "../src/train.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";

Deno.test("teacher-aware data: pairs straddle each teacher boundary, norm std·sqrt(d)", () => {
  const config = resolveConfig({ settings: { d: 12, widths: [4], outputs: 3, dataStd: 1.5 } });
  const k = new Kernels("f64");
  const teacher = buildTeacher(k, config, new Rng(1, STREAM.teacher));
  const n = 41; // odd: the last point has no partner
  const set = makeTeacherAwareDataSet(teacher, n, 1.5, new Rng(1, STREAM.trainData), {
    shift: 0.5,
    spread: 0.5,
  });
  const x = k.view(set.x), w = k.view(teacher.weights[0]);
  const d = 12, m = 4;
  const pre = (r: number, j: number) => {
    let s = w[d * m + j];
    for (let i = 0; i < d; i++) s += w[i * m + j] * x[r * d + i];
    return s;
  };
  for (let r = 0; r < n; r++) {
    let norm2 = 0;
    for (let i = 0; i < d; i++) norm2 += x[r * d + i] ** 2;
    assertAlmostEquals(Math.sqrt(norm2), 1.5 * Math.sqrt(d), 1e-9, `norm of row ${r}`);
  }
  for (let r = 0; r + 1 < n; r += 2) {
    const j = (r / 2) % m;
    assertOk(pre(r, j) > 0 && pre(r + 1, j) < 0, `pair ${r} straddles node ${j}`);
  }
  // a set large enough to grow WASM memory is still finite (views taken after the allocation)
  const big = makeTeacherAwareDataSet(teacher, 200000, 1.5, new Rng(3, STREAM.trainData), {
    shift: 0.5,
    spread: 0.5,
  });
  assertOk(k.view(big.x).every(Number.isFinite) && k.view(big.y).every(Number.isFinite), "finite");
  // labelled by the teacher, as Gaussian sets are
  const ref = makeDataSet(teacher, 5, 1.5, new Rng(2, STREAM.trainData));
  assertEquals([set.y.rows, set.y.cols], [n, ref.y.cols]);
});

Deno.test("--data teacher-aware changes the training set only", () => {
  const base = { d: 10, widths: [4], outputs: 3, nTrain: 50, nEval: 40, epochs: 1, iters: 5 };
  const g = new Trainer(resolveConfig({ settings: base }));
  const t = new Trainer(resolveConfig({ settings: { ...base, data: "teacher-aware" } }));
  assertEquals(g.kernels.view(g.eval.x).slice(), t.kernels.view(t.eval.x).slice(), "eval set");
  assertOk(
    g.kernels.view(g.train!.x).some((v, i) => v !== t.kernels.view(t.train!.x)[i]),
    "training set differs",
  );
  t.trainEpoch();
  assertOk(Number.isFinite(t.evaluate().evalMse));
});
