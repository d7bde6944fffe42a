/**
 * Correlation, summaries and timeline: the streaming WASM correlation against a plain two-pass TS
 * reference, a scaled copy of the teacher inside the student, and summaries of hand-built
 * matrices with known answers.
 */
import {
  CorrelationAccumulator,
  SpecializationTimeline,
  summarizeStudents,
  summarizeTeachers,
} from "../src/alignment.ts";
import { Analyzer, evaluateTrainer } from "../src/analysis.ts";
import { resolveConfig } from "../src/config.ts";
import { Trainer } from "../src/train.ts";
import { Kernels, type Precision } from "../src/kernels.ts";
import { Network } from "../src/network.ts";
import { Rng } from "../src/rng.ts";
import type { DataSet } from "../src/data.ts";
import { label } from "../src/data.ts";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "./assert.ts";

/** Two-pass Pearson correlation in f64 (the module doc's formula, computed the obvious way). */
function refCorrelation(
  t: ArrayLike<number>,
  s: ArrayLike<number>,
  rows: number,
  m: number,
  n: number,
): Float64Array {
  const mean = (a: ArrayLike<number>, w: number, j: number) => {
    let v = 0;
    for (let r = 0; r < rows; r++) v += a[r * w + j];
    return v / rows;
  };
  const mt = Array.from({ length: m }, (_, j) => mean(t, m, j));
  const ms = Array.from({ length: n }, (_, k) => mean(s, n, k));
  const std = (a: ArrayLike<number>, w: number, j: number, mu: number) => {
    let v = 0;
    for (let r = 0; r < rows; r++) v += (a[r * w + j] - mu) ** 2;
    return Math.sqrt(v / rows);
  };
  const st = mt.map((mu, j) => std(t, m, j, mu)), ss = ms.map((mu, k) => std(s, n, k, mu));
  const out = new Float64Array(m * n);
  for (let j = 0; j < m; j++) {
    for (let k = 0; k < n; k++) {
      if (st[j] === 0 || ss[k] === 0) continue;
      let c = 0;
      for (let r = 0; r < rows; r++) c += (t[r * m + j] - mt[j]) * (s[r * n + k] - ms[k]);
      out[j * n + k] = (c / rows) / (st[j] * ss[k]);
    }
  }
  return out;
}

interface Case {
  rows: number;
  m: number;
  n: number;
  chunkRows: number;
  offset: number;
}

const CASES: Case[] = [
  { rows: 1, m: 1, n: 1, chunkRows: 1000, offset: 0 },
  { rows: 2, m: 1, n: 3, chunkRows: 1000, offset: 0 },
  { rows: 7, m: 3, n: 5, chunkRows: 3, offset: 0 },
  { rows: 1001, m: 13, n: 1, chunkRows: 1000, offset: 0 },
  { rows: 2500, m: 5, n: 17, chunkRows: 1000, offset: 0 },
  { rows: 999, m: 20, n: 200, chunkRows: 128, offset: 0 },
  { rows: 3000, m: 4, n: 9, chunkRows: 1000, offset: 1000 },
];

/** ReLU-like activations: some columns constant (zero or not), the rest random and sparse. */
function activations(rng: Rng, rows: number, w: number, offset: number): Float64Array {
  const a = new Float64Array(rows * w);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < w; j++) {
      const kind = j % 5;
      const z = rng.normal();
      a[r * w + j] = kind === 3
        ? 0 // dead
        : kind === 4 && w > 1
        ? 2.5 + offset // constant, not zero
        : offset + Math.max(0, z + 0.3 * j / w);
    }
  }
  return a;
}

for (const precision of ["f32", "f64"] as Precision[]) {
  Deno.test(`Streaming correlation matches the two-pass reference (${precision})`, () => {
    const tol = precision === "f32" ? 2e-4 : 1e-10;
    for (const c of CASES) {
      const k = new Kernels(precision);
      const rng = new Rng(3, c.rows + c.m * 7 + c.n);
      const t = k.alloc(c.rows, c.m), s = k.alloc(c.rows, c.n);
      k.view(t).set(activations(rng, c.rows, c.m, c.offset));
      // Students: noisy copies of teachers plus independent nodes (and the same dead/constant kinds).
      const sv = activations(rng, c.rows, c.n, c.offset);
      const tv = k.view(t);
      for (let r = 0; r < c.rows; r++) {
        for (let j = 0; j < c.n; j += 2) {
          if (j % 5 < 3) sv[r * c.n + j] = 0.7 * tv[r * c.m + (j % c.m)] + 0.1 * sv[r * c.n + j];
        }
      }
      k.view(s).set(sv);
      const acc = new CorrelationAccumulator(k, {
        teachers: c.m,
        students: c.n,
        chunkRows: c.chunkRows,
      });
      // Fed in uneven pieces: the result must not depend on how the data is split.
      const cut = Math.floor(c.rows / 3);
      if (cut > 0) acc.add(k.rowsOf(t, 0, cut), k.rowsOf(s, 0, cut));
      acc.add(k.rowsOf(t, cut, c.rows - cut), k.rowsOf(s, cut, c.rows - cut));
      const got = acc.result();
      const want = refCorrelation(k.view(t), k.view(s), c.rows, c.m, c.n);
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        assertOk(Number.isFinite(got.corr[i]), `NaN/inf at ${i}`);
        worst = Math.max(worst, Math.abs(got.corr[i] - want[i]));
      }
      assertOk(
        worst <= tol,
        `${precision} rows ${c.rows} ${c.m}×${c.n} chunk ${c.chunkRows} offset ${c.offset}: ` +
          `largest difference ${worst} > ${tol}`,
      );
      // Dead and constant nodes: exactly zero variance and zero correlation.
      for (let kk = 0; kk < c.n; kk++) {
        if (c.n > 1 && (kk % 5 === 3 || kk % 5 === 4) && kk % 2 === 1) {
          assertEquals(got.studentStd[kk], 0, `student ${kk} should be constant`);
          for (let j = 0; j < c.m; j++) assertEquals(got.corr[j * c.n + kk], 0);
        }
      }
      assertEquals(got.samples, c.rows);
      // Reset forgets everything.
      acc.reset();
      acc.add(t, s);
      const again = acc.result().corr;
      for (let i = 0; i < again.length; i++) assertAlmostEquals(again[i], got.corr[i], tol);
    }
  });
}

Deno.test("Correlation rejects mismatched shapes", () => {
  const k = new Kernels("f64");
  const acc = new CorrelationAccumulator(k, { teachers: 2, students: 3 });
  assertThrows(() => acc.add(k.alloc(4, 2), k.alloc(5, 3)), RangeError, /rows × 2/);
  assertThrows(() => new CorrelationAccumulator(k, { teachers: 0, students: 3 }), RangeError);
});

/** Random two- or three-hidden-layer teacher; the student holds a positively scaled copy of every
 * teacher node (its "twin") and random other nodes. */
function scaledCopy(precision: Precision, hidden: number[]) {
  const k = new Kernels(precision);
  const rng = new Rng(11, hidden.length);
  const d = 6, c = 4, extra = 3;
  const tSizes = [d, ...hidden, c];
  const sSizes = [d, ...hidden.map((h) => h + extra), c];
  const teacher = new Network(k, tSizes), student = new Network(k, sSizes);
  const twin = hidden.map((h) => Array.from({ length: h }, (_, j) => (j * 5 + 2) % (h + extra)));
  // Make the twin maps injective: place teacher j at (j*5+2) mod width, resolving collisions.
  twin.forEach((tw, l) => {
    const used = new Set<number>();
    for (let j = 0; j < tw.length; j++) {
      while (used.has(tw[j])) tw[j] = (tw[j] + 1) % (hidden[l] + extra);
      used.add(tw[j]);
    }
  });
  const scale = hidden.map((_, l) => 0.3 + l * 2.2);
  for (let l = 0; l < tSizes.length - 1; l++) {
    const fi = tSizes[l], fo = tSizes[l + 1], sfi = sSizes[l], sfo = sSizes[l + 1];
    const wt = new Float64Array((fi + 1) * fo);
    rng.fillNormal(wt, 1 / Math.sqrt(fi));
    for (let j = 0; j < fo; j++) wt[fi * fo + j] = (l === 0 ? 0 : 0.4) + 0.2 * rng.normal();
    teacher.setWeights(l, wt);
    const ws = new Float64Array((sfi + 1) * sfo);
    rng.fillNormal(ws, 1 / Math.sqrt(sfi));
    // Input index map: layer 0 takes x directly; above, teacher input i is student input twin[l-1][i].
    const inMap = l === 0 ? [...Array(fi).keys()] : twin[l - 1];
    const inScale = l === 0 ? 1 : scale[l - 1];
    const outMap = l < hidden.length ? twin[l] : [...Array(fo).keys()];
    const outScale = l < hidden.length ? scale[l] : 1;
    for (let j = 0; j < fo; j++) {
      const col = outMap[j];
      for (let i = 0; i < sfi; i++) ws[i * sfo + col] = 0;
      for (let i = 0; i < fi; i++) ws[inMap[i] * sfo + col] = wt[i * fo + j] * outScale / inScale;
      ws[sfi * sfo + col] = wt[fi * fo + j] * outScale;
    }
    student.setWeights(l, ws);
  }
  const n = 1500;
  const x = k.alloc(n, d), y = k.alloc(n, c);
  rng.fillNormal(k.view(x), 1.5);
  label(teacher, x, y);
  const data: DataSet = { n, x, y };
  return { teacher, student, data, twin };
}

for (const precision of ["f32", "f64"] as Precision[]) {
  for (const hidden of [[5], [4, 6, 3]]) {
    Deno.test(
      `A positively scaled copy of a teacher node has correlation 1 with it (${precision}, ` +
        `hidden ${hidden.join("-")})`,
      () => {
        const { teacher, student, data, twin } = scaledCopy(precision, hidden);
        const [sp] = new Analyzer(teacher, student).analyze([
          { name: "train", data, gradients: true },
        ]);
        const tol = precision === "f32" ? 1e-4 : 1e-9; // f32: the copy itself is rounded
        sp.layers.forEach((la, l) => {
          const { students: n, teacherStd, studentStd } = la.correlation;
          for (let j = 0; j < hidden[l]; j++) {
            const r = la.correlation.corr[j * n + twin[l][j]];
            const st = teacherStd[j], ss = studentStd[twin[l][j]];
            assertOk(st > 0.01, `layer ${l} teacher ${j} hardly varies (std ${st})`);
            assertOk(ss > 0, `layer ${l}: the twin of teacher ${j} does not vary`);
            assertAlmostEquals(r, 1, tol, `layer ${l} teacher ${j} with its twin ${twin[l][j]}`);
            assertEquals(la.teachers.bestStudent[j], twin[l][j]);
            assertEquals(la.students.bestTeacher[twin[l][j]], j);
          }
          assertEquals(la.teachers.covered, la.teachers.taus.map(() => hidden[l]));
        });
        // The copy is exact, so the student's error is zero up to rounding.
        assertOk(sp.mse < (precision === "f32" ? 1e-8 : 1e-20), `mse ${sp.mse}`);
      },
    );
  }
}

Deno.test("Teacher and student summaries of a hand-built matrix", () => {
  // 3 teachers × 4 students.
  const corr = Float64Array.of(
    0.96,
    0.2,
    0.91,
    0.96, // teacher 0: tie between students 0 and 3 → 0
    -0.5,
    -0.1,
    -0.2,
    -0.3, // teacher 1: all negative → student 1 (−0.1)
    0.55,
    0.65,
    0.75,
    0.85, // teacher 2
  );
  const t = summarizeTeachers(corr, 3);
  assertEquals(Array.from(t.bestStudent), [0, 1, 3]);
  assertEquals(Array.from(t.bestCorr), [0.96, -0.1, 0.85]);
  assertEquals(Array.from(t.nAbove), [
    3,
    3,
    3,
    3,
    3,
    2, // > 0.5, 0.6, 0.7, 0.8, 0.9, 0.95
    0,
    0,
    0,
    0,
    0,
    0,
    4,
    3,
    2,
    1,
    0,
    0,
  ]);
  assertEquals(t.covered, [2, 2, 2, 2, 1, 1]);
  const s = summarizeStudents(corr, 3);
  assertEquals(Array.from(s.bestTeacher), [0, 2, 0, 0]);
  assertEquals(Array.from(s.bestCorr), [0.96, 0.65, 0.91, 0.96]);
  // Exactly τ is not above τ.
  assertEquals(Array.from(summarizeTeachers(Float64Array.of(0.5, 0.95), 1).nAbove), [
    1,
    1,
    1,
    1,
    1,
    0,
  ]);
  assertThrows(() => summarizeTeachers(new Float64Array(5), 2), RangeError);
});

Deno.test("Specialization timeline records the first epoch above each τ", () => {
  const tl = new SpecializationTimeline([0.5, 0.9]);
  tl.record("eval", 0, 0, [0.3, 0.6]);
  tl.record("eval", 0, 2, [0.95, 0.4]);
  tl.record("eval", 0, 4, [0.2, 0.99]);
  tl.record("train", 1, 0, [0.91]);
  const got = tl.entries().map((e) => `${e.split}/${e.layer}/${e.teacher}/${e.tau}:${e.epoch}`);
  assertEquals(got, [
    "eval/0/0/0.5:2",
    "eval/0/0/0.9:2",
    "eval/0/1/0.5:0",
    "eval/0/1/0.9:4",
    "train/1/0/0.5:0",
    "train/1/0/0.9:0",
  ]);
  const never = new SpecializationTimeline();
  never.record("eval", 0, 0, [0.1]);
  assertOk(never.entries().every((e) => e.epoch === null));
});

Deno.test("the correlation is exact at any scale: activations × c give the same ρ (table)", () => {
  const rows = 1500, m = 3, n = 4;
  const rng = new Rng(11);
  const t = new Float64Array(rows * m), s = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const z = rng.normal();
    for (let j = 0; j < m; j++) t[r * m + j] = Math.max(0, z + rng.normal() * (j + 1) * 0.3);
    for (let k = 0; k < n; k++) s[r * n + k] = Math.max(0, (k % 2 ? -z : z) + rng.normal() * k);
  }
  const want = refCorrelation(t, s, rows, m, n);
  for (const precision of ["f64", "f32"] as Precision[]) {
    const tol = precision === "f64" ? 1e-12 : 2e-5;
    for (const c of [1e-30, 1e-9, 1e-7, 1e-3, 1, 1e3, 1e9, 1e30]) {
      const k = new Kernels(precision);
      const tm = k.alloc(rows, m), sm = k.alloc(rows, n);
      k.view(tm).set(t.map((v) => v * c));
      k.view(sm).set(s.map((v) => v * c));
      const acc = new CorrelationAccumulator(k, { teachers: m, students: n, chunkRows: 700 });
      acc.add(tm, sm);
      const res = acc.result(), got = res.corr;
      let s0 = 0, s1 = 0;
      for (let r = 0; r < rows; r++) s0 += t[r * m], s1 += t[r * m] * t[r * m];
      const std0 = Math.sqrt(s1 / rows - (s0 / rows) * (s0 / rows));
      assertAlmostEquals(res.teacherStd[0] / c / std0, 1, tol * 10, `σ at scale ${c}`);
      for (let i = 0; i < m * n; i++) {
        assertAlmostEquals(got[i], want[i], tol, `${precision}, scale ${c}, pair ${i}`);
      }
      assertOk(want.some((v) => Math.abs(v) > 0.5), "the table has strong correlations");
    }
  }
});

Deno.test("a run's correlations do not depend on the scale of the data (--data-std 1e-7, --teacher-bias 0)", () => {
  const corr = (dataStd: number, initStd: number) => {
    const t = new Trainer(resolveConfig({
      settings: { d: 8, widths: [4], outputs: 3, multi: 3, nTrain: 400, nEval: 300, dataStd },
    }, { settings: { teacherBias: 0, initStd, epochs: 1, iters: 1 } }));
    return evaluateTrainer(t).splits.map((sp) => Array.from(sp.layers[0].correlation.corr));
  };
  const ref = corr(1, 0.005);
  for (const [dataStd, initStd] of [[1e-7, 0.005], [1, 1e-9], [1e-7, 1e-9], [1e6, 0.005]]) {
    const got = corr(dataStd, initStd);
    got.forEach((split, i) =>
      split.forEach((v, k) =>
        assertAlmostEquals(v, ref[i][k], 1e-9, `data-std ${dataStd}, init-std ${initStd}, ${k}`)
      )
    );
  }
});
