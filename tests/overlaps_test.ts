/**
 * Order parameters: Q, R, T against cosines computed directly from the weights, their invariances
 * (a node's scale does not matter; Q and T have a unit diagonal), a student that starts as a copy
 * of the teacher (best |R| = 1 for every teacher node), and the run folder's files.
 */
import { resolveConfig } from "../src/config.ts";
import { layerOverlaps, overlapsCsvRows } from "../src/overlaps.ts";
import { runToFolder } from "../src/run.ts";
import { Trainer } from "../src/train.ts";
import { decodeNpy } from "../src/npy.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";

/** The cosine of the incoming weights (bias excluded) of node a of net A and node b of net B. */
function cosine(wa: Float64Array, na: number, a: number, wb: Float64Array, nb: number, b: number) {
  const fanIn = wa.length / na - 1;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < fanIn; i++) {
    const x = wa[i * na + a], y = wb[i * nb + b];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

Deno.test("Q, R and T are the cosines of the incoming weights, per hidden layer", () => {
  for (const precision of ["f32", "f64"] as const) {
    const t = new Trainer(resolveConfig({
      settings: { d: 7, widths: [3, 4], outputs: 2, multi: 2, precision, nTrain: 50 },
    }));
    t.trainEpoch();
    const layers = layerOverlaps(t.student, t.teacher);
    assertEquals(layers.length, 2);
    for (const o of layers) {
      const l = o.layer, ws = t.student.getWeights(l), wt = t.teacher.getWeights(l);
      const n = o.students, m = o.teachers;
      assertEquals([n, m], [t.student.sizes[l + 1], t.teacher.sizes[l + 1]]);
      for (let k = 0; k < n; k++) {
        assertAlmostEquals(o.q[k * n + k], 1, 1e-12, "Q diagonal");
        for (let k2 = 0; k2 < n; k2++) {
          assertAlmostEquals(o.q[k * n + k2], cosine(ws, n, k, ws, n, k2), 1e-12, "Q");
        }
        for (let j = 0; j < m && o.r; j++) {
          assertAlmostEquals(o.r[k * m + j], cosine(ws, n, k, wt, m, j), 1e-12, "R");
        }
      }
      for (let j = 0; j < m; j++) {
        for (let j2 = 0; j2 < m; j2++) {
          assertAlmostEquals(o.t[j * m + j2], cosine(wt, m, j, wt, m, j2), 1e-12, "T");
        }
      }
      assertOk((o.r !== null) === (l === 0), "R only where the inputs are shared");
    }
    // a node's scale does not change its overlaps
    const before = layerOverlaps(t.student, t.teacher)[0].r!;
    const w = t.student.getWeights(0), n = t.student.sizes[1];
    for (let i = 0; i < 7; i++) w[i * n + 1] *= 5;
    t.student.setWeights(0, w);
    const after = layerOverlaps(t.student, t.teacher)[0].r!;
    before.forEach((v, i) => assertAlmostEquals(after[i], v, 1e-6, "scaled node"));
  }
});

Deno.test("a student that starts as the teacher has best |R| = 1 for every teacher node", () => {
  const t = new Trainer(resolveConfig({
    settings: { d: 6, widths: [4], outputs: 2, multi: 3, init: "perturb", perturbStd: 0 },
  }));
  const row = overlapsCsvRows(0, layerOverlaps(t.student, t.teacher)).trim().split(",");
  assertAlmostEquals(Number(row[2]), 1, 1e-12, "mean best |R|");
  assertAlmostEquals(Number(row[3]), 1, 1e-12, "min best |R|");
  const plain = new Trainer(
    resolveConfig({ settings: { d: 6, widths: [4], outputs: 2, multi: 3 } }),
  );
  const r = overlapsCsvRows(0, layerOverlaps(plain.student, plain.teacher)).split(",");
  assertOk(Number(r[2]) < 0.99, "a random student is not the teacher");
});

Deno.test("a run folder has overlaps.csv and the Q, R, T matrices at the saved epochs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "overlaps-" });
  try {
    const config = resolveConfig({
      settings: {
        d: 5,
        widths: [3, 4],
        outputs: 2,
        multi: 2,
        nTrain: 60,
        nEval: 40,
        epochs: 3,
        iters: 5,
        saveCorrAt: [2],
      },
    });
    await runToFolder(config, { out: `${dir}/run` });
    const lines = (await Deno.readTextFile(`${dir}/run/overlaps.csv`)).trim().split("\n");
    assertEquals(
      lines[0],
      "epoch,layer,r_best_mean,r_best_min,q_offdiag_mean_abs,t_offdiag_mean_abs",
    );
    assertEquals(lines.length, 1 + 4 * 2, "4 evaluations × 2 hidden layers");
    for (const e of [0, 2, 3]) {
      const q = decodeNpy(await Deno.readFile(`${dir}/run/overlap_Q_layer1_epoch${e}.npy`));
      assertEquals(q.shape, [8, 8]);
      const r = decodeNpy(await Deno.readFile(`${dir}/run/overlap_R_layer0_epoch${e}.npy`));
      assertEquals(r.shape, [6, 3]);
    }
    const t = decodeNpy(await Deno.readFile(`${dir}/run/overlap_T_layer1.npy`));
    assertEquals(t.shape, [4, 4]);
    let missing = false;
    await Deno.stat(`${dir}/run/overlap_Q_layer0_epoch1.npy`).catch(() => (missing = true));
    assertOk(missing, "matrices only at the saved epochs");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
