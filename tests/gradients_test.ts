/**
 * Gradient measurements two ways: per-sample gradient norms against per-sample backprop in plain
 * TS, Jacobian β against finite differences, observability against direct counting, and the
 * trainer's own losses and gradient norms against the fused analysis pass.
 */
import { Analyzer, evaluateTrainer } from "../src/analysis.ts";
import { resolveConfig } from "../src/config.ts";
import type { DataSet } from "../src/data.ts";
import { label } from "../src/data.ts";
import { fanoutNorms, ObservabilityAccumulator, quantileSorted } from "../src/gradients.ts";
import { Kernels, type Precision } from "../src/kernels.ts";
import { Network } from "../src/network.ts";
import { Rng } from "../src/rng.ts";
import { Trainer } from "../src/train.ts";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "./assert.ts";
import { refForward, refGradients } from "./reference_net.ts";

function randomWeights(sizes: number[], rng: Rng, bias = 0.1): Float64Array[] {
  const w: Float64Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const a = new Float64Array((sizes[l] + 1) * sizes[l + 1]);
    rng.fillNormal(a, 1 / Math.sqrt(sizes[l]));
    for (let j = 0; j < sizes[l + 1]; j++) a[sizes[l] * sizes[l + 1] + j] += bias;
    w.push(a);
  }
  return w;
}

/** A teacher–student pair with random weights and a labelled data set of n samples. */
function pair(
  precision: Precision,
  tSizes: number[],
  sSizes: number[],
  n: number,
  slope = 0,
  seed = 5,
) {
  const k = new Kernels(precision);
  const rng = new Rng(seed, tSizes.length);
  const teacher = new Network(k, tSizes, slope), student = new Network(k, sSizes, slope);
  const tw = randomWeights(tSizes, rng, 0.2), sw = randomWeights(sSizes, rng, 0.1);
  tw.forEach((w, l) => teacher.setWeights(l, w));
  sw.forEach((w, l) => student.setWeights(l, w));
  const x = k.alloc(n, tSizes[0]), y = k.alloc(n, tSizes[tSizes.length - 1]);
  rng.fillNormal(k.view(x), 1);
  label(teacher, x, y);
  const data: DataSet = { n, x, y };
  const weightsOf = (net: Network) => net.weights.map((_, l) => net.getWeights(l));
  return { k, teacher, student, data, weightsOf };
}

for (const precision of ["f32", "f64"] as Precision[]) {
  for (const slope of [0, 0.1]) {
    Deno.test(
      `Per-sample gradient norms match per-sample backprop in TS (${precision}, slope ${slope})`,
      () => {
        const tol = precision === "f32" ? 2e-5 : 1e-11;
        for (
          const [tS, sS, n] of [
            [[3, 2, 2], [3, 4, 2], 1],
            [[5, 3, 4], [5, 7, 4], 1003],
            [[4, 3, 5, 2], [4, 6, 9, 2], 37],
          ] as [number[], number[], number][]
        ) {
          const { k, teacher, student, data, weightsOf } = pair(precision, tS, sS, n, slope);
          const [sp] = new Analyzer(teacher, student, { keepSampleNorms: true }).analyze([
            { name: "train", data, gradients: true },
          ]);
          const x = Float64Array.from(k.view(data.x)), y = Float64Array.from(k.view(data.y));
          const w = weightsOf(student), d = sS[0], c = sS[sS.length - 1];
          const g = sp.gradients!;
          const want = new Float64Array(n);
          const full = w.map((a) => new Float64Array(a.length));
          const layerMax = w.map(() => 0);
          for (let i = 0; i < n; i++) {
            const gi = refGradients(
              sS,
              w,
              x.subarray(i * d, (i + 1) * d),
              y.subarray(i * c, (i + 1) * c),
              1,
              slope,
            );
            let s2 = 0;
            gi.forEach((gl, l) => {
              let sl = 0;
              for (let e = 0; e < gl.length; e++) {
                sl += gl[e] ** 2;
                full[l][e] += gl[e] / n;
              }
              s2 += sl;
              layerMax[l] = Math.max(layerMax[l], Math.sqrt(sl));
            });
            want[i] = Math.sqrt(s2);
          }
          const scale = Math.max(...want);
          for (let i = 0; i < n; i++) {
            assertAlmostEquals(g.sampleNorms![i], want[i], tol * scale, `${sS} sample ${i}`);
          }
          const sorted = Float64Array.from(want).sort();
          assertAlmostEquals(g.perSample.max, sorted[n - 1], tol * scale);
          assertAlmostEquals(g.perSample.q50, quantileSorted(sorted, 0.5), tol * scale);
          assertAlmostEquals(g.perSample.q99, quantileSorted(sorted, 0.99), tol * scale);
          assertAlmostEquals(g.perSample.mean, want.reduce((a, b) => a + b) / n, tol * scale);
          layerMax.forEach((m, l) => assertAlmostEquals(g.perSample.layerMax[l], m, tol * scale));
          full.forEach((gl, l) => {
            const norm = Math.sqrt(gl.reduce((a, b) => a + b * b, 0));
            assertAlmostEquals(g.fullBatchNorm[l], norm, tol * Math.max(1, norm), `full grad ${l}`);
          });
        }
      },
    );
  }
}

Deno.test("Mean squared back-propagated gradient per student node matches the TS reference", () => {
  const sS = [4, 6, 5, 3];
  const { k, teacher, student, data, weightsOf } = pair("f64", [4, 3, 2, 3], sS, 50);
  const [sp] = new Analyzer(teacher, student).analyze([{ name: "t", data, gradients: true }]);
  const w = weightsOf(student);
  const x = Float64Array.from(k.view(data.x)), y = Float64Array.from(k.view(data.y));
  const { acts, pre } = refForward(sS, w, x, 50);
  // δ at each layer for the unscaled per-sample error, by hand.
  let delta = pre[2].map((v, i) => v - y[i]);
  const deltas: Float64Array[] = [];
  for (let l = 2; l >= 1; l--) {
    const fi = sS[l], fo = sS[l + 1], prev = new Float64Array(50 * fi);
    for (let r = 0; r < 50; r++) {
      for (let i = 0; i < fi; i++) {
        let s = 0;
        for (let j = 0; j < fo; j++) s += delta[r * fo + j] * w[l][i * fo + j];
        prev[r * fi + i] = acts[l][r * fi + i] > 0 ? s : 0;
      }
    }
    deltas[l - 1] = prev;
    delta = prev;
  }
  for (let h = 0; h < 2; h++) {
    const n = sS[h + 1];
    for (let kk = 0; kk < n; kk++) {
      let s = 0;
      for (let r = 0; r < 50; r++) s += deltas[h][r * n + kk] ** 2;
      assertAlmostEquals(sp.layers[h].gradSqMean![kk], s / 50, 1e-12 * Math.max(1, s));
    }
  }
});

/** Output of a network from hidden layer h's activations (plain TS, f64). */
function forwardFrom(
  sizes: number[],
  w: Float64Array[],
  h: number,
  act: Float64Array,
  slope: number,
): Float64Array {
  let a = act;
  for (let l = h + 1; l + 1 < sizes.length; l++) {
    const fi = sizes[l], fo = sizes[l + 1];
    const z = new Float64Array(fo);
    for (let j = 0; j < fo; j++) {
      let s = w[l][fi * fo + j];
      for (let i = 0; i < fi; i++) s += a[i] * w[l][i * fo + j];
      z[j] = l + 2 < sizes.length && s < 0 ? slope * s : s;
    }
    a = z;
  }
  return a;
}

/** Jacobian ∂y/∂h_h (outputs × nodes) at one sample, by central finite differences. */
function fdJacobian(
  sizes: number[],
  w: Float64Array[],
  x: Float64Array,
  h: number,
  slope: number,
): Float64Array {
  const { acts } = refForward(sizes, w, x, 1, slope);
  const a = Float64Array.from(acts[h + 1]), n = a.length, c = sizes[sizes.length - 1];
  const J = new Float64Array(c * n), eps = 1e-6;
  for (let k = 0; k < n; k++) {
    const keep = a[k];
    a[k] = keep + eps;
    const up = forwardFrom(sizes, w, h, a, slope);
    a[k] = keep - eps;
    const down = forwardFrom(sizes, w, h, a, slope);
    a[k] = keep;
    for (let o = 0; o < c; o++) J[o * n + k] = (up[o] - down[o]) / (2 * eps);
  }
  return J;
}

for (const precision of ["f64", "f32"] as Precision[]) {
  Deno.test(`Jacobian β matches finite differences (${precision})`, () => {
    const tS = [5, 4, 3, 5, 3], sS = [5, 7, 6, 8, 3], n = 40, slope = 0.05;
    const { k, teacher, student, data, weightsOf } = pair(precision, tS, sS, n, slope, 9);
    const [sp] = new Analyzer(teacher, student, { betaSamples: 25, betaMatrices: true })
      .analyze([{ name: "train", data }]);
    const ws = weightsOf(student), wt = weightsOf(teacher);
    const x = Float64Array.from(k.view(data.x));
    const c = 3, used = 25;
    const tol = precision === "f32" ? 1e-4 : 1e-6;
    for (let h = 0; h < 3; h++) {
      const ns = sS[h + 1], nt = tS[h + 1];
      const diag = new Float64Array(ns), ss = new Float64Array(ns * ns);
      const st = new Float64Array(ns * nt);
      for (let i = 0; i < used; i++) {
        const xi = x.subarray(i * 5, (i + 1) * 5);
        const Js = fdJacobian(sS, ws, xi, h, slope), Jt = fdJacobian(tS, wt, xi, h, slope);
        for (let a = 0; a < ns; a++) {
          for (let o = 0; o < c; o++) diag[a] += Js[o * ns + a] ** 2 / used;
          for (let b = 0; b < ns; b++) {
            for (let o = 0; o < c; o++) ss[a * ns + b] += Js[o * ns + a] * Js[o * ns + b] / used;
          }
          for (let b = 0; b < nt; b++) {
            for (let o = 0; o < c; o++) st[a * nt + b] += Js[o * ns + a] * Jt[o * nt + b] / used;
          }
        }
      }
      const la = sp.layers[h];
      assertOk(diag.every((v) => v > 1e-4), `layer ${h}: β should not vanish (${diag})`);
      const scale = Math.max(1, ...diag);
      for (let a = 0; a < ns; a++) {
        assertAlmostEquals(la.beta.diag[a], diag[a], tol * scale, `layer ${h} β_${a}${a}`);
        assertAlmostEquals(la.betaNorm[a], Math.sqrt(la.beta.diag[a]), 1e-15);
      }
      for (let i = 0; i < ss.length; i++) {
        assertAlmostEquals(la.beta.studentStudent![i], ss[i], tol * scale, `layer ${h} ss ${i}`);
      }
      for (let i = 0; i < st.length; i++) {
        assertAlmostEquals(la.beta.studentTeacher![i], st[i], tol * scale, `layer ${h} st ${i}`);
      }
      assertEquals(la.beta.samples, h === 2 ? 0 : used);
    }
    // Top hidden layer: sqrt(E β_kk) is the fan-out norm.
    const top = sp.layers[2];
    const fo = fanoutNorms(student, 2);
    for (let a = 0; a < fo.length; a++) assertAlmostEquals(top.betaNorm[a], fo[a], 1e-6);
    // A split with beta false skips the sampled layers only; everything else is the same.
    const [off] = new Analyzer(teacher, student, { betaSamples: 25, betaMatrices: true })
      .analyze([{ name: "train", data, beta: false }]);
    for (let h = 0; h < 3; h++) {
      const a = off.layers[h], b = sp.layers[h];
      assertEquals(a.betaNorm.every(Number.isNaN), h < 2, `layer ${h} β skipped`);
      if (h === 2) assertEquals(a.betaNorm, b.betaNorm);
      assertEquals(a.correlation.corr, b.correlation.corr);
    }
  });
}

for (const precision of ["f64", "f32"] as Precision[]) {
  Deno.test(`Jacobian β of ReLU students, inactive nodes left out, matches finite differences and the dense path (${precision})`, () => {
    const tol = precision === "f32" ? 1e-4 : 1e-6;
    for (
      const [sS, n, off] of [
        [[5, 7, 6, 8, 3], 40, -1], // four weight layers, awkward widths
        [[4, 9, 13, 2], 33, -1],
        [[3, 5, 6, 4, 2], 20, 2], // weight layer 2 gets bias −100: hidden layer 2 never active
      ] as [number[], number, number][]
    ) {
      const { k, teacher, student, data, weightsOf } = pair(precision, sS, sS, n, 0, 11);
      if (off >= 0) {
        const w = student.getWeights(off), fi = sS[off], fo = sS[off + 1];
        for (let j = 0; j < fo; j++) w[fi * fo + j] = -100;
        student.setWeights(off, w);
      }
      const used = Math.min(n, 25);
      const [sparse] = new Analyzer(teacher, student, { betaSamples: used })
        .analyze([{ name: "t", data }]);
      const [dense] = new Analyzer(teacher, student, { betaSamples: used, betaMatrices: true })
        .analyze([{ name: "t", data }]);
      const ws = weightsOf(student), x = Float64Array.from(k.view(data.x)), d = sS[0];
      const c = sS[sS.length - 1], H = sS.length - 2;
      for (let h = 0; h + 1 < H; h++) {
        const ns = sS[h + 1], diag = new Float64Array(ns);
        for (let i = 0; i < used; i++) {
          const J = fdJacobian(sS, ws, x.subarray(i * d, (i + 1) * d), h, 0);
          for (let a = 0; a < ns; a++) {
            for (let o = 0; o < c; o++) diag[a] += J[o * ns + a] ** 2 / used;
          }
        }
        const got = sparse.layers[h].beta.diag, want = dense.layers[h].beta.diag;
        const scale = Math.max(1, ...diag);
        if (off >= 0 && h < off) assertOk(diag.every((v) => v === 0), "no path through layer");
        else assertOk(diag.some((v) => v > 1e-3), `layer ${h}: β should not vanish`);
        assertEquals(sparse.layers[h].beta.samples, used);
        for (let a = 0; a < ns; a++) {
          assertAlmostEquals(got[a], diag[a], tol * scale, `${sS} layer ${h} β_${a}${a} vs FD`);
          const rel = precision === "f32" ? 1e-5 : 1e-13;
          assertAlmostEquals(got[a], want[a], rel * Math.max(1e-30, Math.abs(want[a])), "dense");
        }
      }
    }
  });
}

for (const slope of [0, 0.2]) {
  Deno.test(`Boundary observability matches direct counting (slope ${slope})`, () => {
    for (const precision of ["f32", "f64"] as Precision[]) {
      const tS = [6, 5, 3], sS = [6, 9, 3], n = 2345;
      const { k, teacher, student, data } = pair(precision, tS, sS, n, slope);
      const [sp] = new Analyzer(teacher, student).analyze([{ name: "t", data, gradients: true }]);
      const x = Float64Array.from(k.view(data.x));
      const pt = refForward(tS, teacher.weights.map((_, l) => teacher.getWeights(l)), x, n).pre[0];
      const ps = refForward(sS, student.weights.map((_, l) => student.getWeights(l)), x, n).pre[0];
      const got = sp.layers[0].observability!;
      let nonzero = 0;
      for (let j = 0; j < 5; j++) {
        for (let kk = 0; kk < 9; kk++) {
          let both = 0, offOn = 0;
          for (let r = 0; r < n; r++) {
            const t = pt[r * 5 + j] > 0, s = ps[r * 9 + kk] > 0;
            if (t && s) both++;
            if (!t && s) offOn++;
          }
          // f32 may flip a sample sitting on a boundary; allow one.
          const tol = precision === "f32" ? 1 : 0;
          assertAlmostEquals(
            got[j * 9 + kk],
            Math.min(both, offOn),
            tol,
            `${precision} ${j},${kk}`,
          );
          if (got[j * 9 + kk] > 0) nonzero++;
        }
      }
      assertOk(nonzero > 10, "the test data should observe most boundaries");
    }
  });
}

Deno.test("Observability of hand-built gates", () => {
  const k = new Kernels("f64");
  const gt = k.alloc(5, 2), gs = k.alloc(5, 1);
  k.view(gt).set([1, 0, 1, 0, 0, 1, 0, 1, 0, 0]);
  k.view(gs).set([1, 1, 1, 0, 1]);
  const obs = new ObservabilityAccumulator(k, { teachers: 2, students: 1, chunkRows: 2 });
  obs.add(gt, gs);
  // Teacher 0 active on samples 0, 1; student on 0, 1, 2, 4 → both 2, teacher off & student on 2.
  // Teacher 1 active on 2, 3 → both 1 (sample 2), off & on 3.
  assertEquals(Array.from(obs.result()), [2, 1]);
});

Deno.test("Cached teacher activations give the same results and follow teacher changes", () => {
  for (const precision of ["f32", "f64"] as Precision[]) {
    const { teacher, student, data } = pair(precision, [5, 4, 3, 2], [5, 8, 6, 2], 1234);
    const plain = new Analyzer(teacher, student, { betaMatrices: true });
    const cached = new Analyzer(teacher, student, { betaMatrices: true, cacheTeacher: true });
    const split = [{ name: "t", data, gradients: true }];
    const same = () => {
      const [a] = plain.analyze(split), [b] = cached.analyze(split);
      a.layers.forEach((la, h) => {
        const lb = b.layers[h];
        assertEquals(Array.from(lb.correlation.corr), Array.from(la.correlation.corr));
        assertEquals(Array.from(lb.observability!), Array.from(la.observability!));
        assertEquals(Array.from(lb.beta.studentTeacher!), Array.from(la.beta.studentTeacher!));
      });
    };
    same();
    const bytes = teacher.kernels.bytesAllocated;
    same();
    assertEquals(teacher.kernels.bytesAllocated, bytes, "the cache is filled once");
    const w = teacher.getWeights(0);
    w[0] += 0.5;
    teacher.setWeights(0, w);
    same();
    assertEquals(teacher.kernels.bytesAllocated, bytes, "a teacher change refills in place");
  }
});

Deno.test("Quantiles interpolate like NumPy", () => {
  const v = [1, 2, 3, 4, 10];
  assertEquals(quantileSorted(v, 0), 1);
  assertEquals(quantileSorted(v, 1), 10);
  assertEquals(quantileSorted(v, 0.5), 3);
  assertAlmostEquals(quantileSorted(v, 0.9), 7.6, 1e-12);
  assertOk(Number.isNaN(quantileSorted([], 0.5)));
});

for (const precision of ["f64", "f32"] as Precision[]) {
  Deno.test(`evaluateTrainer reports the trainer's own losses and gradient norms (${precision})`, () => {
    for (const nTrain of [700, 0]) {
      const cfg = resolveConfig({
        settings: { d: 8, widths: [4], outputs: 3, epochs: 2, iters: 50, nTrain, nEval: 1300 },
      }, { settings: { precision } });
      const t = new Trainer(cfg);
      t.trainEpoch();
      const want = t.evaluate();
      const before = t.kernels.bytesAllocated;
      const { metrics, splits } = evaluateTrainer(t);
      const afterFirst = t.kernels.bytesAllocated;
      evaluateTrainer(t);
      assertEquals(t.kernels.bytesAllocated, afterFirst, "repeated evaluations allocate nothing");
      assertOk(afterFirst >= before);
      const rel = precision === "f32" ? 1e-5 : 1e-12;
      assertEquals(metrics.epoch, want.epoch);
      assertEquals(metrics.lr, want.lr);
      assertAlmostEquals(metrics.evalMse, want.evalMse, rel * want.evalMse);
      if (nTrain > 0) assertAlmostEquals(metrics.trainMse, want.trainMse, rel * want.trainMse);
      else assertEquals(metrics.trainMse, want.trainMse);
      want.gradNorm.forEach((g, l) => assertAlmostEquals(metrics.gradNorm[l], g, rel * g));
      assertEquals(splits.map((s) => s.name), nTrain > 0 ? ["train", "eval"] : ["eval"]);
    }
  });
}

Deno.test("Gradients on the first samples of a split: the same as a split of those rows alone", () => {
  for (const precision of ["f32", "f64"] as Precision[]) {
    const { k, teacher, student, data } = pair(precision, [5, 4, 3, 2], [5, 8, 6, 2], 2500, 0, 3);
    for (const n of [1, 999, 1500, 2500, 4000]) {
      const a = new Analyzer(teacher, student, { keepSampleNorms: true });
      const [sp] = a.analyze([{ name: "t", data, gradients: true, gradientSamples: n }]);
      const m = Math.min(n, 2500);
      const first = { n: m, x: k.rowsOf(data.x, 0, m), y: k.rowsOf(data.y, 0, m) };
      const [ref] = new Analyzer(teacher, student, { keepSampleNorms: true })
        .analyze([{ name: "t", data: first, gradients: true }]);
      const g = sp.gradients!, r = ref.gradients!;
      assertEquals(g.samples, m);
      assertEquals(g.fullBatchNorm, r.fullBatchNorm, `${precision} ${n}: full-batch norms`);
      assertEquals(Array.from(g.sampleNorms!), Array.from(r.sampleNorms!), `${n}: per sample`);
      sp.layers.forEach((la, h) => {
        assertEquals(Array.from(la.gradSqMean!), Array.from(ref.layers[h].gradSqMean!));
      });
      // Everything else still uses every row.
      assertEquals(sp.samples, 2500);
      assertEquals(sp.layers[0].correlation.samples, 2500);
    }
    assertThrows(
      () =>
        new Analyzer(teacher, student).analyze([
          { name: "t", data, gradients: true, gradientSamples: 0 },
        ]),
      RangeError,
      /gradientSamples must be a positive integer, got 0/,
    );
  }
});
