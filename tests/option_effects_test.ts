/**
 * Every run option has an effect: one table, a row per (option, non-default value), each with the
 * observable the option must change and a check of that observable against what the option says
 * (a formula, a distribution, a permutation, a list of epochs).
 *
 * For each row two things are tested:
 * 1. with the option set, the observation passes the row's check;
 * 2. with the option left at its default, the same check FAILS: so the row would catch the option
 *    being ignored or replaced by its default.
 * A last test requires a row for every option in `OPTIONS` (the `--help` list): a new option needs
 * a row here. Shapes are tiny (d 6, 3 teacher nodes, 2 outputs), so the whole file takes seconds.
 *
 * To add a row: pick the observation (or write one: `(config) => value`), write `check(observed,
 * config)` that throws unless `observed` is what `config` implies, and choose a value whose
 * default-run observation the check rejects (test 2 tells you if it does not).
 */
import { Analyzer, evaluateTrainer } from "../src/analysis.ts";
import { OPTIONS, resolveConfig, type RunConfig, type Schedule } from "../src/config.ts";
import { Kernels } from "../src/kernels.ts";
import { Rng, STREAM } from "../src/rng.ts";
import { runToFolder } from "../src/run.ts";
import { buildTeacher } from "../src/teacher.ts";
import { Trainer } from "../src/train.ts";
import { Population } from "../src/population.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";

/** Settings every row starts from (tiny two-layer run, f64). */
const BASE = {
  d: 6,
  widths: [3],
  outputs: 2,
  multi: 2,
  nTrain: 64,
  nEval: 400,
  batch: 4,
  iters: 3,
  epochs: 2,
};

/** One row: set `key` to `value` (over BASE and `base`); `observe` must then pass `check`. */
export interface EffectRow<T = unknown> {
  /** The option's config key. */
  key: keyof RunConfig;
  /** A non-default value, as a config file would give it. */
  value: unknown;
  /** Further settings both runs (option set, option at its default) need. */
  base?: Record<string, unknown>;
  /** What the option changes, for the test's name. */
  what: string;
  /** The observation of a run with this config. */
  observe: (config: RunConfig) => T | Promise<T>;
  /** Throws unless `observed` is what `config` implies. */
  check: (observed: T, config: RunConfig) => void;
}

// ---------------------------------------------------------------------------------------------
// Observations and checks shared by several rows.

const copy = (t: Trainer, m: { ptr: number; rows: number; cols: number }) =>
  Float64Array.from(t.kernels.view(m));

/** Layer sizes of teacher and student, and the data sets' shapes. */
function shapes(c: RunConfig) {
  const t = new Trainer(c);
  return {
    teacher: [...t.teacher.sizes],
    student: [...t.student.sizes],
    evalX: [t.eval.x.rows, t.eval.x.cols],
    evalY: [t.eval.y.rows, t.eval.y.cols],
    trainX: t.train ? [t.train.x.rows, t.train.x.cols] : null,
  };
}
type Shapes = ReturnType<typeof shapes>;

function checkShapes(o: Shapes, c: RunConfig): void {
  assertEquals(o.teacher, [c.d, ...c.widths, c.outputs]);
  assertEquals(o.student, [c.d, ...c.widths.map((w) => w * c.multi), c.outputs]);
  assertEquals(o.evalX, [c.nEval, c.d]);
  assertEquals(o.evalY, [c.nEval, c.outputs]);
  assertEquals(o.trainX, c.nTrain === 0 ? null : [c.nTrain, c.d]);
}

/** The learning rate of epoch e (written out here, not taken from src/config.ts). */
function scheduledLr(s: Schedule, e: number): number {
  return s.filter(([from]) => from <= e).at(-1)![1];
}

/**
 * Two epochs of one full-batch step each (batch = n-train, shuffled: every step sees each sample
 * once): weights before, after one and after two steps, and the full gradient at W0 and W1.
 */
function twoSteps(c: RunConfig) {
  const t = new Trainer(c);
  const g = t.student.allocLike();
  const weights = () => t.student.weights.map((m) => copy(t, m));
  const grad = () => {
    t.fullGradient(t.train!, g);
    return g.full.map((m) => copy(t, m));
  };
  const w0 = weights(), g0 = grad();
  t.trainEpoch();
  const w1 = weights(), g1 = grad();
  t.trainEpoch();
  return { w0, g0, w1, g1, w2: weights() };
}

/**
 * SGD with momentum and weight decay, as the README states it: g' = g + wd·w; v ← mom·v + g'
 * (v starts at 0); w ← w − lr·v. Each step must match to 1e-9 of the step's own size.
 */
function checkTwoSteps(o: ReturnType<typeof twoSteps>, c: RunConfig): void {
  if (c.optimizer === "adam") return checkTwoAdamSteps(o, c);
  const lr0 = scheduledLr(c.lr, 0), lr1 = scheduledLr(c.lr, 1);
  const mom = c.momentum, wd = c.weightDecay;
  o.w0.forEach((w0, l) => {
    const v1 = w0.map((w, i) => o.g0[l][i] + wd * w);
    const w1 = w0.map((w, i) => w - lr0 * v1[i]);
    const v2 = o.w1[l].map((w, i) => mom * v1[i] + o.g1[l][i] + wd * w);
    const w2 = o.w1[l].map((w, i) => w - lr1 * v2[i]);
    closeRelativeToStep(o.w1[l], w1, w0, `layer ${l}, step 1`);
    closeRelativeToStep(o.w2[l], w2, o.w1[l], `layer ${l}, step 2`);
  });
}

/**
 * Adam as the README states it (PyTorch's): g' = g + wd·w; m ← m + (1 − β1)(g' − m);
 * v ← β2·v + (1 − β2)·g'²; w ← w − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps), m, v from 0.
 */
function checkTwoAdamSteps(o: ReturnType<typeof twoSteps>, c: RunConfig): void {
  const b1 = c.adamBeta1, b2 = c.adamBeta2, eps = c.adamEps, wd = c.weightDecay;
  o.w0.forEach((w0, l) => {
    const m = new Float64Array(w0.length), v = new Float64Array(w0.length);
    const step = (w: Float64Array, g: Float64Array, t: number) =>
      w.map((wi, i) => {
        const gp = g[i] + wd * wi;
        m[i] = m[i] + (1 - b1) * (gp - m[i]);
        v[i] = b2 * v[i] + (1 - b2) * gp * gp;
        const lr = scheduledLr(c.lr, t - 1);
        return wi - lr / (1 - b1 ** t) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps);
      });
    closeRelativeToStep(o.w1[l], step(w0, o.g0[l], 1), w0, `layer ${l}, Adam step 1`);
    closeRelativeToStep(o.w2[l], step(o.w1[l], o.g1[l], 2), o.w1[l], `layer ${l}, Adam step 2`);
  });
}

/** The student's outputs and the teacher's on the training set, and the output bias gradient. */
function outputGradient(c: RunConfig) {
  const t = new Trainer(c);
  const ws = t.student.workspace(c.nTrain);
  const out = copy(t, t.student.forward(t.train!.x, ws));
  const g = t.student.allocLike();
  t.fullGradient(t.train!, g);
  const last = g.full[g.full.length - 1];
  return { out, y: copy(t, t.train!.y), biasGrad: copy(t, last).slice(-c.outputs) };
}

/**
 * The output bias gradient is the mean per-sample d loss / d output: out − y for MSE, and
 * softmax(out) − onehot(arg-max of the teacher's outputs) for cross-entropy.
 */
function checkOutputGradient(o: ReturnType<typeof outputGradient>, c: RunConfig): void {
  const k = c.outputs, n = c.nTrain, want = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    const out = o.out.subarray(r * k, r * k + k), y = o.y.subarray(r * k, r * k + k);
    if (c.loss === "mse") { for (let j = 0; j < k; j++) want[j] += (out[j] - y[j]) / n; }
    else {
      const cls = y.indexOf(Math.max(...y)), mx = Math.max(...out);
      const sum = out.reduce((s, x) => s + Math.exp(x - mx), 0);
      for (let j = 0; j < k; j++) {
        want[j] += (Math.exp(out[j] - mx) / sum - (j === cls ? 1 : 0)) / n;
      }
    }
  }
  for (let j = 0; j < k; j++) {
    assertAlmostEquals(o.biasGrad[j], want[j], 1e-12, `output ${j} bias gradient`);
  }
}

function closeRelativeToStep(
  actual: Float64Array,
  expected: Float64Array,
  before: Float64Array,
  what: string,
): void {
  let step = 0, diff = 0;
  for (let i = 0; i < actual.length; i++) {
    step = Math.max(step, Math.abs(expected[i] - before[i]));
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
  }
  assertOk(step > 0, `${what}: the formula predicts no change`);
  assertOk(diff <= 1e-9 * step, `${what}: off by ${diff} for a step of ${step}`);
}

/** Settings of the full-batch step rows: 12 samples, batch 12, shuffled, one step per epoch. */
const FULL_BATCH = { sampling: "shuffle", nTrain: 12, batch: 12, iters: 1, epochs: 3 };

/** The teacher's weights and the training and eval inputs. */
function teacherAndData(c: RunConfig) {
  const t = new Trainer(c);
  return {
    teacher: t.teacher.weights.map((m) => copy(t, m)),
    trainX: t.train ? copy(t, t.train.x) : null,
    evalX: copy(t, t.eval.x),
  };
}

function closeArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const tol = 1e-12 * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`${what}[${i}]: expected ${expected[i]}, got ${actual[i]}`);
    }
  }
}

/** Gaussian inputs: N(0, data-std²) draws of the seed's data streams, in order. */
function checkGaussianData(o: ReturnType<typeof teacherAndData>, c: RunConfig): void {
  const draws = (stream: number, n: number) => {
    const rng = new Rng(c.seed, stream);
    return Float64Array.from({ length: n * c.d }, () => rng.normal() * c.dataStd);
  };
  closeArrays(o.evalX, draws(STREAM.evalData, c.nEval), "eval inputs");
  closeArrays(o.trainX!, draws(STREAM.trainData, c.nTrain), "training inputs");
}

/** The teacher: built from the seed's teacher stream (a fresh build must give the same weights). */
function checkTeacherFromSeed(o: ReturnType<typeof teacherAndData>, c: RunConfig): void {
  const t = buildTeacher(new Kernels(c.precision), c, new Rng(c.seed, STREAM.teacher));
  o.teacher.forEach((w, l) => closeArrays(w, t.getWeights(l), `teacher layer ${l}`));
}

/** The student's initial weights. */
function studentInit(c: RunConfig) {
  const t = new Trainer(c);
  return { sizes: [...t.student.sizes], weights: t.student.weights.map((m) => copy(t, m)) };
}

/**
 * Student init from the seed's student stream: "gaussian" N(0, init-std²) weights and zero biases,
 * "uniform" weights and biases uniform in ±1/sqrt(fan_in).
 */
function checkStudentInit(o: ReturnType<typeof studentInit>, c: RunConfig): void {
  const rng = new Rng(c.seed, STREAM.student);
  o.weights.forEach((w, l) => {
    const fanIn = o.sizes[l], main = fanIn * o.sizes[l + 1];
    const expected = new Float64Array(w.length);
    if (c.init === "gaussian") {
      for (let i = 0; i < main; i++) expected[i] = rng.normal() * c.initStd;
    } else {
      const b = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < w.length; i++) expected[i] = (2 * rng.uniform() - 1) * b;
    }
    closeArrays(w, expected, `student layer ${l}`);
  });
}

/** The student's initial weights and the teacher's, per layer, with their sizes. */
function studentAndTeacher(c: RunConfig) {
  const t = new Trainer(c);
  return {
    student: t.student.weights.map((m) => copy(t, m)),
    teacher: t.teacher.weights.map((m) => copy(t, m)),
    sSizes: [...t.student.sizes],
    tSizes: [...t.teacher.sizes],
  };
}

/** [student, teacher] weight pairs of the teacher-sized part of every layer (bias rows included). */
function teacherPart(o: ReturnType<typeof studentAndTeacher>): [number, number][] {
  const pairs: [number, number][] = [];
  o.teacher.forEach((tw, l) => {
    const tIn = o.tSizes[l], tOut = o.tSizes[l + 1], sIn = o.sSizes[l], sOut = o.sSizes[l + 1];
    for (let i = 0; i <= tIn; i++) {
      for (let j = 0; j < tOut; j++) {
        pairs.push([o.student[l][(i < tIn ? i : sIn) * sOut + j], tw[i * tOut + j]]);
      }
    }
  });
  return pairs;
}

/** --init perturb: student − teacher on the teacher-sized part has mean ≈ 0 and std ≈ perturb-std. */
function checkPerturbed(o: ReturnType<typeof studentAndTeacher>, c: RunConfig): void {
  const d = teacherPart(o).map(([s, t]) => s - t);
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (d.length - 1));
  assertOk(d.length >= 20, "too few weights");
  assertAlmostEquals(sd, c.perturbStd, 0.35 * c.perturbStd, "std of student − teacher");
  assertOk(Math.abs(m) < 3 * c.perturbStd / Math.sqrt(d.length) + 1e-12, `mean ${m}`);
}

/** --init same-sign: every non-zero teacher weight's student weight has its sign. */
function checkSameSign(o: ReturnType<typeof studentAndTeacher>): void {
  const pairs = teacherPart(o).filter(([s, t]) => t !== 0 && s !== 0);
  assertOk(pairs.length >= 12, "too few weights");
  for (const [s, t] of pairs) assertOk(Math.sign(s) === Math.sign(t), `student ${s}, teacher ${t}`);
}

/** The training and eval targets, and the teacher's clean outputs on both inputs. */
function targets(c: RunConfig) {
  const t = new Trainer(c);
  const clean = (x: { ptr: number; rows: number; cols: number }) =>
    copy(t, t.teacher.forward(x, t.teacher.workspace(x.rows)));
  return {
    trainY: copy(t, t.train!.y),
    trainClean: clean(t.train!.x),
    evalY: copy(t, t.eval.y),
    evalClean: clean(t.eval.x),
  };
}

/** --label-noise S: training targets = teacher outputs + noise of std ≈ S; eval targets clean. */
function checkLabelNoise(o: ReturnType<typeof targets>, c: RunConfig): void {
  const d = o.trainY.map((y, i) => y - o.trainClean[i]);
  const sd = Math.sqrt(d.reduce((a, b) => a + b * b, 0) / d.length);
  assertAlmostEquals(sd, c.labelNoise, 0.2 * c.labelNoise, "std of the label noise");
  closeArrays(o.evalY, o.evalClean, "eval targets");
}

/** Hidden pre-activations and activations of teacher and student on the eval set. */
function hiddenActivity(c: RunConfig) {
  const t = new Trainer(c);
  const of = (net: typeof t.teacher) => {
    const ws = net.workspace(c.nEval);
    net.forward(t.eval.x, ws);
    return { pre: copy(t, ws.pre[0]), act: copy(t, ws.acts[1]), width: net.sizes[1] };
  };
  return { teacher: of(t.teacher), student: of(t.student) };
}

/** Leaky ReLU: act = pre where pre > 0, slope·pre elsewhere: the student with --slope, the
 * teacher with --teacher-slope (which defaults to --slope). */
function checkSlope(o: ReturnType<typeof hiddenActivity>, c: RunConfig): void {
  for (const [who, h] of Object.entries(o)) {
    let negatives = 0;
    const slope = who === "teacher" ? c.teacherSlope : c.slope;
    for (let i = 0; i < h.pre.length; i++) {
      const want = h.pre[i] > 0 ? h.pre[i] : slope * h.pre[i];
      if (h.pre[i] < 0) negatives++;
      if (!(Math.abs(h.act[i] - want) <= 1e-12 * Math.abs(h.pre[i]))) {
        throw new Error(`${who} activation ${i}: pre ${h.pre[i]} → ${h.act[i]}, want ${want}`);
      }
    }
    assertOk(negatives > 0, `${who}: no negative pre-activation to test the slope on`);
  }
}

/** Bias tuning: every hidden teacher node active on half the eval inputs (±0.1). */
function checkHalfActive(o: ReturnType<typeof hiddenActivity>, c: RunConfig): void {
  const { pre, width } = o.teacher;
  for (let j = 0; j < width; j++) {
    let on = 0;
    for (let r = 0; r < c.nEval; r++) on += pre[r * width + j] > 0 ? 1 : 0;
    assertAlmostEquals(on / c.nEval, 0.5, 0.1, `teacher node ${j} active fraction`);
  }
}

/** Per-output mean and std of the teacher's outputs on the eval set. */
function outputMoments(c: RunConfig) {
  const t = new Trainer(c);
  const y = copy(t, t.eval.y), n = c.nEval, k = c.outputs;
  return Array.from({ length: k }, (_, o) => {
    let s = 0, s2 = 0;
    for (let r = 0; r < n; r++) s += y[r * k + o];
    const mean = s / n;
    for (let r = 0; r < n; r++) s2 += (y[r * k + o] - mean) ** 2;
    return { mean, std: Math.sqrt(s2 / n) };
  });
}

/**
 * Teacher-aware inputs: pair r (rows 2r, 2r+1) straddles the boundary of first-layer teacher node
 * r mod m (pre-activations of opposite signs), every point has norm data-std·sqrt(d), and the shift
 * off the boundary is recovered from the geometry (x± = s±(p ± a·std·n̂) with p on the boundary):
 * with u± = (x±·n̂)/|x± − (x±·n̂)n̂| and c = p·n̂ = −b/|w|, a·std = c(u₊ − u₋)/(u₊ + u₋).
 */
function awareData(c: RunConfig) {
  const t = new Trainer(c);
  return { x: copy(t, t.train!.x), w: t.teacher.getWeights(0) };
}

function awareShifts(o: ReturnType<typeof awareData>, c: RunConfig): number[] {
  const d = c.d, m = c.widths[0], radius = c.dataStd * Math.sqrt(d);
  const shifts: number[] = [];
  for (let r = 0; r + 1 < c.nTrain; r += 2) {
    const j = (r / 2) % m;
    const w = Array.from({ length: d }, (_, i) => o.w[i * m + j]), b = o.w[d * m + j];
    const norm = Math.hypot(...w);
    const u = [r, r + 1].map((row) => {
      const x = o.x.subarray(row * d, row * d + d);
      assertAlmostEquals(Math.hypot(...x), radius, 1e-9 * radius, `row ${row} norm`);
      const along = x.reduce((s, xi, i) => s + xi * w[i], 0) / norm;
      const pre = along * norm + b;
      const across = Math.sqrt(Math.max(0, x.reduce((s, xi) => s + xi * xi, 0) - along ** 2));
      return { along, pre, across };
    });
    assertOk(u[0].pre > 0 && u[1].pre < 0, `pair ${r / 2} does not straddle node ${j}`);
    const up = u[0].along / u[0].across, um = u[1].along / u[1].across;
    shifts.push((-b / norm) * (up - um) / (up + um) / c.dataStd);
  }
  return shifts;
}

/** Every pair's shift a lies in [shift, shift + spread], and the draws span most of that range. */
function checkAwareShifts(o: ReturnType<typeof awareData>, c: RunConfig): void {
  const a = awareShifts(o, c);
  const lo = Math.min(...a), hi = Math.max(...a);
  assertOk(lo >= c.awareShift - 1e-6, `smallest shift ${lo} < ${c.awareShift}`);
  assertOk(hi <= c.awareShift + c.awareSpread + 1e-6, `largest shift ${hi}`);
  assertOk(hi - lo >= 0.5 * c.awareSpread, `shifts span only ${hi - lo} of ${c.awareSpread}`);
}

/** The shuffle orders of three consecutive passes (one pass per epoch) and the batch position. */
function shuffleOrders(c: RunConfig) {
  const t = new Trainer(c);
  const orders: number[][] = [];
  for (let e = 0; e < 3; e++) {
    t.trainEpoch();
    const blobs = t.snapshot().blobs;
    const last = blobs[blobs.length - 1];
    orders.push(Array.from(new Int32Array(last.buffer, last.byteOffset, last.byteLength / 4)));
  }
  return orders;
}

function checkPermutations(orders: number[][], c: RunConfig): void {
  const identity = Array.from({ length: c.nTrain }, (_, i) => i);
  for (const o of orders) assertEquals([...o].sort((a, b) => a - b), identity, "a permutation");
  assertOk(new Set(orders.map(String)).size === orders.length, "every pass has its own order");
}

/** Training steps taken in one epoch, read from the shuffle position (n-train 64 > steps·batch). */
function positionAfterOneEpoch(c: RunConfig): number {
  const t = new Trainer(c);
  t.trainEpoch();
  return t.snapshot().state.orderPos;
}

/** The evaluated epochs (metrics.csv) and the epochs with saved correlation matrices. */
async function runEpochs(c: RunConfig) {
  const dir = await Deno.makeTempDir({ prefix: "option-effects-" });
  try {
    await runToFolder(c, { out: `${dir}/run` });
    const lines = (await Deno.readTextFile(`${dir}/run/metrics.csv`)).trim().split("\n");
    const col = lines[0].split(",").indexOf("epoch");
    const evaluated = lines.slice(1).map((l) => Number(l.split(",")[col]));
    const saved: number[] = [];
    for await (const f of Deno.readDir(`${dir}/run`)) {
      const m = f.name.match(/^corr_eval_layer0_epoch(\d+(?:\.\d+)?)\.npy$/);
      if (m) saved.push(Number(m[1]));
    }
    return { evaluated, saved: saved.sort((a, b) => a - b) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Evaluations at 0, every eval-every epochs, every save-corr-at epoch and the last; matrices at the first, the last and the save-corr-at epochs. */
function checkRunEpochs(o: Awaited<ReturnType<typeof runEpochs>>, c: RunConfig): void {
  const all = Array.from({ length: c.epochs + 1 }, (_, e) => e);
  assertEquals(
    o.evaluated,
    all.filter((e) => e % c.evalEvery === 0 || e === c.epochs || c.saveCorrAt.includes(e)),
    "evaluated epochs",
  );
  assertEquals(
    o.saved,
    all.filter((e) => e === 0 || e === c.epochs || c.saveCorrAt.includes(e)),
    "epochs with correlation matrices",
  );
}

/** The training subsample of training-set measurements, and the train MSE an evaluation reports. */
function trainSubsample(c: RunConfig) {
  const t = new Trainer(c);
  return {
    indices: t.trainEvalIndices ? Array.from(t.trainEvalIndices) : null,
    x: copy(t, t.trainEval!.x),
    trainX: copy(t, t.train!.x),
    trainMse: t.evaluate().trainMse,
    subsampleMse: t.mse(t.trainEval!),
  };
}

function checkTrainSubsample(o: ReturnType<typeof trainSubsample>, c: RunConfig): void {
  const n = Math.min(c.nTrain, c.nTrainEval);
  const idx = o.indices ?? Array.from({ length: c.nTrain }, (_, i) => i);
  assertEquals(idx.length, n, "subsample size");
  assertOk(idx.every((v, i) => v >= 0 && v < c.nTrain && (i === 0 || v > idx[i - 1])), "rows");
  for (let r = 0; r < n; r++) {
    assertEquals(
      o.x.slice(r * c.d, (r + 1) * c.d),
      o.trainX.slice(idx[r] * c.d, (idx[r] + 1) * c.d),
    );
  }
  assertEquals(o.trainMse, o.subsampleMse, "train MSE measured on the subsample");
}

/** The gradient measurements of an evaluation, and the same measured by hand on the first rows. */
function gradientSubsample(c: RunConfig) {
  const t = new Trainer(c);
  t.trainEpoch();
  const { metrics, splits } = evaluateTrainer(t);
  const g = splits.find((s) => s.name === "train")!.gradients!;
  const k = t.kernels, data = t.trainEval!;
  const first = {
    n: g.samples,
    x: k.rowsOf(data.x, 0, g.samples),
    y: k.rowsOf(data.y, 0, g.samples),
  };
  const [ref] = new Analyzer(t.teacher, t.student).analyze([
    { name: "first", data: first, gradients: true },
  ]);
  return {
    samples: g.samples,
    perSample: g.perSample.samples,
    norms: g.fullBatchNorm,
    trainerNorms: t.evaluate().gradNorm,
    ref: ref.gradients!.fullBatchNorm,
    refMax: ref.gradients!.perSample.max,
    max: g.perSample.max,
    trainMse: metrics.trainMse,
    allMse: t.mse(data),
    rows: data.n,
  };
}

function checkGradientSubsample(o: ReturnType<typeof gradientSubsample>, c: RunConfig): void {
  const want = c.nGradEval > 0 ? Math.min(c.nGradEval, o.rows) : o.rows;
  assertEquals([o.samples, o.perSample], [want, want], "gradient samples");
  assertEquals(o.norms, o.ref, "full-batch norms = those of the first rows alone");
  // Trainer.evaluate scales the error before the backward pass: the same up to rounding
  o.trainerNorms.forEach((v, l) => assertAlmostEquals(v, o.ref[l], 1e-12 * o.ref[l], "Trainer"));
  assertEquals(o.max, o.refMax, "per-sample norms of the first rows");
  assertEquals(o.trainMse, o.allMse, "the train MSE still uses every row");
}

/** A 64×96·96×40 product with the run's kernels and with the default (deterministic) ones. */
function fmaProduct(c: RunConfig) {
  const product = (k: Kernels) => {
    const rng = new Rng(7, 0);
    const [a, b, out] = [k.alloc(64, 96), k.alloc(96, 40), k.alloc(64, 40)];
    rng.fillNormal(k.view(a), 1);
    rng.fillNormal(k.view(b), 1);
    k.matmulNN(a, b, out);
    return Float64Array.from(k.view(out));
  };
  return { run: product(new Trainer(c).kernels), plain: product(new Kernels(c.precision)) };
}

function checkFmaProduct(o: ReturnType<typeof fmaProduct>, c: RunConfig): void {
  const differing = o.run.filter((v, i) => v !== o.plain[i]).length;
  if (c.fma) assertOk(differing > 0, "fused products round differently (CPU with FMA)");
  else assertEquals(differing, 0);
  o.run.forEach((v, i) => assertAlmostEquals(v, o.plain[i], 1e-4 * (1 + Math.abs(o.plain[i]))));
}

// ---------------------------------------------------------------------------------------------
// The table.

const row = <T>(r: EffectRow<T>): EffectRow => r as unknown as EffectRow;

/** Every option's rows. Other options' rows go here too. */
export const ROWS: EffectRow[] = [
  row({ key: "d", value: 5, what: "input dimension", observe: shapes, check: checkShapes }),
  row({ key: "widths", value: [4, 2], what: "layer sizes", observe: shapes, check: checkShapes }),
  row({ key: "multi", value: 3, what: "student widths", observe: shapes, check: checkShapes }),
  row({ key: "outputs", value: 3, what: "output units", observe: shapes, check: checkShapes }),
  row({ key: "nTrain", value: 40, what: "training set", observe: shapes, check: checkShapes }),
  row({ key: "nTrain", value: 0, what: "no fixed set", observe: shapes, check: checkShapes }),
  row({ key: "nEval", value: 30, what: "eval set", observe: shapes, check: checkShapes }),
  row({
    key: "nTrainEval",
    value: 20,
    what: "training-set measurements on a subsample",
    observe: trainSubsample,
    check: checkTrainSubsample,
  }),
  row({
    key: "nGradEval",
    value: 20,
    what: "gradient measurements on the first samples of the training subsample",
    observe: gradientSubsample,
    check: checkGradientSubsample,
  }),
  row({
    key: "p",
    value: 1.5,
    base: { widths: [4], outputs: 4 },
    what: "fan-out of teacher node i divided by (i+1)^p",
    observe: (c) => new Trainer(c).teacher.getWeights(1),
    check: (w, c) => {
      const t0 = buildTeacher(
        new Kernels(c.precision),
        { ...c, p: 0 },
        new Rng(c.seed, STREAM.teacher),
      );
      const grid = t0.getWeights(1), m = c.widths[0], k = c.outputs;
      const want = grid.map((g, at) => at < m * k ? g * Math.pow(Math.floor(at / k) + 1, -c.p) : g);
      assertOk(grid.some((g, at) => at >= k && at < m * k && g !== 0), "no fan-out to scale");
      closeArrays(w, want, "teacher output layer");
    },
  }),
  row({
    key: "dataStd",
    value: 3,
    what: "inputs are N(0, std²) draws",
    observe: teacherAndData,
    check: checkGaussianData,
  }),
  row({
    key: "seed",
    value: 7,
    what: "teacher and data from the seed's streams",
    observe: teacherAndData,
    check: (o, c) => {
      checkTeacherFromSeed(o, c);
      checkGaussianData(o, c);
    },
  }),
  row({
    key: "data",
    value: "teacher-aware",
    what: "pairs straddling the teacher's boundaries",
    observe: awareData,
    check: checkAwareShifts,
  }),
  row({
    key: "awareShift",
    value: 2,
    base: { data: "teacher-aware" },
    what: "shifts off the boundary",
    observe: awareData,
    check: checkAwareShifts,
  }),
  row({
    key: "awareSpread",
    value: 3,
    base: { data: "teacher-aware" },
    what: "spread of the shifts",
    observe: awareData,
    check: checkAwareShifts,
  }),
  row({
    key: "batch",
    value: 12,
    base: { ...FULL_BATCH, batch: 4 },
    what: "one step = the full-batch gradient step",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "lr",
    value: "0:0.05,1:0.02",
    base: FULL_BATCH,
    what: "step size per epoch",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "momentum",
    value: 0.9,
    base: FULL_BATCH,
    what: "second step carries the first",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "weightDecay",
    value: 0.1,
    base: FULL_BATCH,
    what: "decay term in the step",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "loss",
    value: "cross-entropy",
    what: "d loss / d output is softmax − onehot(teacher's arg-max)",
    observe: outputGradient,
    check: checkOutputGradient,
  }),
  row({
    key: "loss",
    value: "cross-entropy",
    base: FULL_BATCH,
    what: "SGD steps follow the cross-entropy gradient",
    observe: (c) => ({ steps: twoSteps(c), output: outputGradient(c) }),
    check: (o, c) => {
      checkOutputGradient(o.output, c);
      const g0 = o.steps.g0[o.steps.g0.length - 1];
      closeArrays(g0.slice(-c.outputs), o.output.biasGrad, "the steps' output bias gradient");
      checkTwoSteps(o.steps, c);
    },
  }),
  row({
    key: "optimizer",
    value: "adam",
    base: FULL_BATCH,
    what: "Adam's two first steps",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "adamBeta1",
    value: 0.5,
    base: { ...FULL_BATCH, optimizer: "adam" },
    what: "Adam's first-moment decay",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "adamBeta2",
    value: 0.5,
    base: { ...FULL_BATCH, optimizer: "adam" },
    what: "Adam's second-moment decay",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "adamEps",
    value: 0.05,
    base: { ...FULL_BATCH, optimizer: "adam" },
    what: "Adam's eps",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "weightDecay",
    value: 0.5,
    base: { ...FULL_BATCH, optimizer: "adam" },
    what: "L2 term in Adam's gradient",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "sampling",
    value: "shuffle",
    base: { ...FULL_BATCH, sampling: undefined },
    what: "a batch of n-train samples is each sample once",
    observe: twoSteps,
    check: checkTwoSteps,
  }),
  row({
    key: "sampling",
    value: "shuffle",
    base: { nTrain: 8, batch: 4, iters: 2, epochs: 3 },
    what: "a new permutation every pass",
    observe: shuffleOrders,
    check: checkPermutations,
  }),
  row({
    key: "iters",
    value: 5,
    base: { sampling: "shuffle" },
    what: "steps per epoch",
    observe: positionAfterOneEpoch,
    check: (pos, c) => assertEquals(pos, c.iters * c.batch),
  }),
  row({
    key: "precision",
    value: "f32",
    what: "float type of the memory",
    observe: (c) => {
      const t = new Trainer(c);
      return t.kernels.view(t.student.weights[0]).constructor.name;
    },
    check: (name, c) => assertEquals(name, c.precision === "f32" ? "Float32Array" : "Float64Array"),
  }),
  row({
    key: "fma",
    value: true,
    base: { precision: "f32" },
    what: "fused multiply-add in the products (different bits, within rounding)",
    observe: fmaProduct,
    check: checkFmaProduct,
  }),
  row({
    key: "init",
    value: "uniform",
    what: "student init distribution",
    observe: studentInit,
    check: checkStudentInit,
  }),
  row({
    key: "initStd",
    value: 0.1,
    what: "std of the Gaussian init",
    observe: studentInit,
    check: checkStudentInit,
  }),
  row({
    key: "teacherBias",
    value: 0.3,
    what: "the teacher's bias rows",
    observe: (c) => {
      const t = new Trainer(c).teacher;
      return t.weights.map((_, l) =>
        Array.from(t.getWeights(l).slice(t.sizes[l] * t.sizes[l + 1]))
      );
    },
    check: (rows, c) => {
      for (const r of rows) assertEquals(r, r.map(() => c.teacherBias));
    },
  }),
  row({
    key: "biasTuning",
    value: true,
    base: { teacherBias: 2 },
    what: "teacher nodes active on half the inputs",
    observe: hiddenActivity,
    check: checkHalfActive,
  }),
  row({
    key: "standardize",
    value: true,
    what: "teacher outputs with zero mean and unit std",
    observe: outputMoments,
    check: (moments) => {
      for (const { mean, std } of moments) {
        assertAlmostEquals(mean, 0, 0.15, "output mean");
        assertAlmostEquals(std, 1, 0.15, "output std");
      }
    },
  }),
  row({
    key: "slope",
    value: 0.2,
    what: "leaky ReLU of teacher and student",
    observe: hiddenActivity,
    check: checkSlope,
  }),
  row({
    key: "teacherSlope",
    value: 0.3,
    what: "leaky ReLU of the teacher alone",
    observe: hiddenActivity,
    check: checkSlope,
  }),
  row({
    key: "init",
    value: "perturb",
    what: "teacher weights plus noise",
    observe: studentAndTeacher,
    check: checkPerturbed,
  }),
  row({
    key: "perturbStd",
    value: 0.3,
    base: { init: "perturb" },
    what: "std of the perturbation",
    observe: studentAndTeacher,
    check: checkPerturbed,
  }),
  row({
    key: "init",
    value: "same-sign",
    what: "the teacher's signs",
    observe: studentAndTeacher,
    check: (o) => checkSameSign(o),
  }),
  row({
    key: "labelNoise",
    value: 0.4,
    what: "noisy training targets, clean eval targets",
    observe: targets,
    check: checkLabelNoise,
  }),
  row({
    key: "freezeTop",
    value: true,
    base: FULL_BATCH,
    what: "the output layer never moves, the others do",
    observe: twoSteps,
    check: (o) => {
      const top = o.w0.length - 1;
      assertEquals(Array.from(o.w2[top]), Array.from(o.w0[top]), "output layer");
      for (let l = 0; l < top; l++) {
        assertOk(o.w2[l].some((w, i) => w !== o.w0[l][i]), `layer ${l} did not move`);
      }
    },
  }),
  row({ key: "epochs", value: 3, what: "epochs run", observe: runEpochs, check: checkRunEpochs }),
  row({
    key: "evalEvery",
    value: 3,
    base: { epochs: 4 },
    what: "evaluated epochs",
    observe: runEpochs,
    check: checkRunEpochs,
  }),
  row({
    key: "population",
    value: true,
    base: { iters: 1 },
    what: "one step is w − lr·(exact population gradient)",
    observe: populationEpoch,
    check: (o, c) => {
      const lr = scheduledLr(c.lr, 0);
      const expected = [
        o.w[0].map((v, i) => v - lr * o.g.w0[i]),
        o.w[1].map((v, i) => v - lr * o.g.w1[i]),
      ];
      assertOk(maxDiff(o.after, expected) <= 1e-14, `step off by ${maxDiff(o.after, expected)}`);
    },
  }),
  row({
    key: "flow",
    value: true,
    base: { population: true, iters: 1, lr: 0.5 },
    what: "the epoch follows the gradient flow over time lr·iters",
    observe: populationEpoch,
    check: (o, c) => {
      // Richardson extrapolation of plain descent with 400 and 800 steps: second-order exact.
      const t = scheduledLr(c.lr, 0) * c.iters;
      const a = populationDescent(o.pop, o.w, t, 400), b = populationDescent(o.pop, o.w, t, 800);
      const exact = b.map((bl, l) => bl.map((v, i) => 2 * v - a[l][i]));
      const moved = maxDiff(exact, o.w);
      const err = maxDiff(o.after, exact);
      assertOk(err <= 1e-4 * moved, `flow off by ${err} (moved ${moved})`);
    },
  }),
  row({
    key: "polish",
    value: true,
    base: { nTrain: 24, lr: 0.1, polishTol: 1e-4, polishSteps: 400 },
    what: "L-BFGS to a point where every per-sample gradient is ≤ tol",
    observe: polishOf,
    check: (o, c) => {
      assertOk(o !== null, "no polish record");
      assertOk(o.reached && o.gradSampleMaxAfter <= c.polishTol, JSON.stringify(o));
      assertOk(o.gradSampleMaxBefore > c.polishTol && o.trainMseAfter < o.trainMseBefore);
    },
  }),
  row({
    key: "polishTol",
    value: 1e-2,
    base: { nTrain: 24, lr: 0.1, polish: true, polishSteps: 400 },
    what: "polishing stops at the first iterate with max per-sample gradient ≤ tol",
    observe: polishOf,
    check: (o, c) => {
      assertOk(o !== null && o.reached && o.gradSampleMaxAfter <= c.polishTol, JSON.stringify(o));
      assertOk(o.steps === 0 || o.gradSampleMaxPrevious > c.polishTol, JSON.stringify(o));
    },
  }),
  row({
    key: "polishSteps",
    value: 3,
    base: { nTrain: 24, polish: true, polishTol: 1e-30 },
    what: "L-BFGS iterations at most",
    observe: polishOf,
    check: (o, c) => assertOk(o !== null && o.steps === c.polishSteps, JSON.stringify(o)),
  }),
  row({
    key: "evalAt",
    value: "log:4",
    base: { epochs: 2, iters: 8, evalEvery: 2 },
    what: "evaluations and matrices at log-spaced steps (epoch = step / iters)",
    observe: runEpochs,
    check: (o, c) => {
      const total = c.epochs * c.iters;
      // log:4 of 16 steps: round(16^(i/3)) = 1, 3, 6, 16, plus 0
      assertEquals(c.evalAt, [0, 1, 3, 6, 16]);
      const at = c.evalAt.map((s) => s / c.iters);
      assertEquals(o.evaluated, [...new Set([...at, c.epochs])].sort((a, b) => a - b));
      assertEquals(o.saved, at);
      assertOk(total === 16, "the row's run length");
    },
  }),
  row({
    key: "saveCorrAt",
    value: [1],
    base: { epochs: 4, evalEvery: 2 },
    what: "saved correlation matrices",
    observe: runEpochs,
    check: checkRunEpochs,
  }),
];

/** Student weights before and after one epoch, and the exact population gradient before it. */
function populationEpoch(c: RunConfig) {
  const t = new Trainer(c);
  const pop = new Population({
    d: c.d,
    outputs: c.outputs,
    dataStd: c.dataStd,
    teacherW0: t.teacher.getWeights(0),
    teacherW1: t.teacher.getWeights(1),
  });
  const w = [t.student.getWeights(0), t.student.getWeights(1)];
  const g = { w0: new Float64Array(w[0].length), w1: new Float64Array(w[1].length) };
  pop.evaluate(w[0], w[1], g);
  t.trainEpoch();
  return { pop, w, g, after: [t.student.getWeights(0), t.student.getWeights(1)] };
}

/** `iters` steps of plain gradient descent on the population loss, from w, total time t. */
function populationDescent(pop: Population, w: Float64Array[], t: number, steps: number) {
  const x = w.map((a) => a.slice());
  const g = { w0: new Float64Array(x[0].length), w1: new Float64Array(x[1].length) };
  for (let s = 0; s < steps; s++) {
    pop.evaluate(x[0], x[1], g);
    [g.w0, g.w1].forEach((gl, l) => gl.forEach((v, i) => (x[l][i] -= (t / steps) * v)));
  }
  return x;
}

/** max |a − b| over both layers. */
const maxDiff = (a: Float64Array[], b: Float64Array[]) =>
  Math.max(...a.map((al, l) => Math.max(...al.map((v, i) => Math.abs(v - b[l][i])))));

/** The polish record of a run trained to its end (null without --polish). */
async function polishOf(c: RunConfig) {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runToFolder(c, { out: `${dir}/run` });
    return r.polish ?? null;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function configs(r: EffectRow): { on: RunConfig; off: RunConfig } {
  const settings: Record<string, unknown> = { ...BASE, ...r.base };
  for (const [k, v] of Object.entries(settings)) if (v === undefined) delete settings[k];
  return {
    on: resolveConfig({ settings: { ...settings, [r.key]: r.value } }),
    off: resolveConfig({ settings }),
  };
}

for (const r of ROWS) {
  Deno.test(`--${OPTIONS.find((o) => o.key === r.key)!.flag} ${r.value}: ${r.what}`, async () => {
    const { on, off } = configs(r);
    assertOk(
      JSON.stringify(on[r.key]) !== JSON.stringify(off[r.key]),
      `${JSON.stringify(r.value)} is the default`,
    );
    r.check(await r.observe(on), on);
    const atDefault = await r.observe(off);
    let rejected = false;
    try {
      r.check(atDefault, on);
    } catch {
      rejected = true;
    }
    assertOk(rejected, "the check also passes with the option at its default: it cannot fail");
  });
}

Deno.test("every run option has a row in the option-effects table", () => {
  const covered = new Set(ROWS.map((r) => r.key));
  assertEquals(OPTIONS.map((o) => o.key).filter((k) => !covered.has(k)), []);
});
