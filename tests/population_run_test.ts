/**
 * Population runs (`--population`, `--flow`) against SGD: the same starting bits, the exact
 * population loss of an SGD run's student in its metrics (`population_mse`), and a population
 * run that a fresh-sample large-batch SGD run follows within sampling error over its first epochs.
 * @module
 */

import { resolveConfig } from "../src/config.ts";
import { decodeNpy } from "../src/npy.ts";
import { Population, populationMse } from "../src/population.ts";
import { runToFolder } from "../src/run.ts";
import { dormandPrince, Trainer } from "../src/train.ts";
import { polishTrainer } from "../src/polish.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";
import { runCli, TINY as TINY_FLAGS } from "./run_cli.ts";

/** A tiny two-layer config: d 10, 3 teacher nodes, 6 students, 3 outputs. */
const TINY = { d: 10, widths: [3], multi: 2, outputs: 3, nEval: 4000, lr: 0.05 };

/** The columns of a metrics.csv by name. */
async function metrics(dir: string): Promise<Record<string, number[]>> {
  const [head, ...rows] = (await Deno.readTextFile(`${dir}/metrics.csv`)).trim().split("\n");
  const names = head.split(",");
  const out: Record<string, number[]> = {};
  names.forEach((n, i) => (out[n] = rows.map((r) => Number(r.split(",")[i]))));
  return out;
}

Deno.test("dormandPrince integrates y' = −y and a rotation to its tolerance", () => {
  const y = new Float64Array([1, 0.5]);
  const evals = dormandPrince(
    (v, out) => {
      out[0] = -v[0];
      out[1] = -2 * v[1];
    },
    y,
    3,
    1e-10,
    1e-14,
  );
  assertAlmostEquals(y[0], Math.exp(-3), 1e-9);
  assertAlmostEquals(y[1], 0.5 * Math.exp(-6), 1e-9);
  assertOk(evals < 2000, `${evals} evaluations`);
  const r = new Float64Array([1, 0]);
  dormandPrince(
    (v, out) => {
      out[0] = -v[1];
      out[1] = v[0];
    },
    r,
    Math.PI,
    1e-10,
    1e-12,
  );
  assertAlmostEquals(r[0], -1, 1e-8);
  assertAlmostEquals(r[1], 0, 1e-8);
});

Deno.test("population runs start from the SGD run's bits and record exact losses and correlations", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = { ...TINY, nTrain: 300, epochs: 2, iters: 30, seed: 4 };
    for (
      const [name, extra] of [["sgd", {}], ["pop", { population: true }], ["flow", {
        population: true,
        flow: true,
      }]] as const
    ) {
      await runToFolder(resolveConfig({ settings: { ...base, ...extra } }), {
        out: `${dir}/${name}`,
      });
    }
    for (const l of [0, 1]) {
      const init = (n: string) =>
        decodeNpy(Deno.readFileSync(`${dir}/${n}/student_init_w${l}.npy`));
      assertEquals(Array.from(init("pop").data), Array.from(init("sgd").data));
      assertEquals(Array.from(init("flow").data), Array.from(init("sgd").data));
    }
    // population_mse of every run is the exact loss of its saved final student.
    for (const n of ["sgd", "pop", "flow"]) {
      const m = await metrics(`${dir}/${n}`);
      const t = new Trainer(resolveConfig({ settings: base }));
      const w = [0, 1].map((l) =>
        decodeNpy(Deno.readFileSync(`${dir}/${n}/student_final_w${l}.npy`)).data
      );
      const pop = new Population({
        d: base.d,
        outputs: base.outputs,
        dataStd: t.config.dataStd,
        teacherW0: t.teacher.getWeights(0),
        teacherW1: t.teacher.getWeights(1),
      });
      const exact = populationMse(pop.evaluate(w[0], w[1]), base.outputs);
      assertEquals(m.population_mse.at(-1), exact, `${n}: population_mse of the final student`);
      assertOk(m.population_mse[2] < m.population_mse[0], `${n}: the population loss falls`);
      const corr = decodeNpy(Deno.readFileSync(`${dir}/${n}/corr_population_layer0_epoch2.npy`));
      assertEquals(corr.shape, [3, 6]);
      const align = await Deno.readTextFile(`${dir}/${n}/alignment.csv`);
      assertEquals(align.split("\n").filter((r) => r.startsWith("2,population,0,")).length, 3);
    }
    // Flow and steps of lr 0.05 follow the same curve closely (time 1.5 per epoch).
    const p = await metrics(`${dir}/pop`), f = await metrics(`${dir}/flow`);
    for (let e = 1; e <= 2; e++) {
      assertAlmostEquals(f.population_mse[e], p.population_mse[e], 0.03 * p.population_mse[e]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a fresh-sample large-batch SGD run follows the population run within sampling error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = { ...TINY, nTrain: 0, batch: 512, epochs: 4, iters: 25, seed: 9 };
    await runToFolder(resolveConfig({ settings: base }), { out: `${dir}/sgd` });
    await runToFolder(resolveConfig({ settings: { ...base, population: true } }), {
      out: `${dir}/pop`,
    });
    const s = await metrics(`${dir}/sgd`), p = await metrics(`${dir}/pop`);
    assertEquals(s.population_mse[0], p.population_mse[0]); // the same student at epoch 0
    for (let e = 0; e <= base.epochs; e++) {
      // The SGD run's eval MSE is a mean over n = 4000 samples of c = 3 squared errors: its
      // standard error is at most mse·√(2/n) (Gaussian errors, outputs fully correlated).
      const se = s.eval_mse[e] * Math.sqrt(2 / base.nEval);
      const gap = Math.abs(s.eval_mse[e] - p.population_mse[e]);
      assertOk(
        gap <= 4 * se,
        `epoch ${e}: SGD eval ${s.eval_mse[e]} vs population ${p.population_mse[e]}`,
      );
    }
    assertOk(p.population_mse[base.epochs] < 0.8 * p.population_mse[0], "the loss falls");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("polishTrainer: L-BFGS drives every per-sample gradient below tol, f64 and f32", () => {
  for (const [precision, tol] of [["f64", 1e-9], ["f32", 1e-3]] as const) {
    const t = new Trainer(resolveConfig({
      settings: { ...TINY, nTrain: 40, nEval: 100, epochs: 2, iters: 50, precision, seed: 3 },
    }));
    t.trainEpoch();
    const before = t.mse(t.train!);
    const r = polishTrainer(t, tol, 3000);
    assertOk(r.reached && r.gradSampleMaxAfter <= tol, `${precision}: ${JSON.stringify(r)}`);
    assertAlmostEquals(r.trainMseBefore, before, 1e-12 * before);
    assertAlmostEquals(t.mse(t.train!), r.trainMseAfter, 1e-6 * r.trainMseBefore);
    assertOk(r.trainMseAfter < 1e-3 * before, `${precision}: MSE ${before} → ${r.trainMseAfter}`);
  }
});

Deno.test("train --polish records before/after and the specialization check in result.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = resolveConfig({
      settings: { ...TINY, nTrain: 60, epochs: 2, iters: 40, polish: true, polishTol: 1e-4 },
    });
    const r = await runToFolder(config, { out: `${dir}/run` });
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/run/result.json`));
    assertEquals(saved.polish, r.polish);
    const p = r.polish!;
    assertOk(p.reached && p.gradSampleMaxAfter <= 1e-4 && p.gradSampleMaxBefore > 1e-4);
    assertEquals(p.specialized, r.layers[0].success.every(Boolean));
    assertOk(typeof p.specializedPopulation === "boolean");
    // The last evaluation measures the polished student.
    assertAlmostEquals(r.final.trainMse, p.trainMseAfter, 1e-9 + 1e-6 * p.trainMseAfter);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report of a --grid population=false,true sweep: population runs as their own line, exact loss dashed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sweep = await runCli([
      "sweep",
      ...TINY_FLAGS,
      ...["--epochs", "2", "--iters", "20", "--grid", "population=false,true", "--seeds", "1"],
      ...["--out", `${dir}/s`, "--quiet"],
    ]);
    assertEquals(sweep.code, 0, sweep.stderr);
    const report = await runCli(["report", `${dir}/s`]);
    assertEquals(report.code, 0, report.stderr);
    const svg = await Deno.readTextFile(`${dir}/s/report/fig3_loss.svg`);
    for (
      const text of ["population = false", "population = true", "exact (population)", "sampled"]
    ) {
      assertOk(svg.includes(text), `fig3_loss.svg lacks "${text}"`);
    }
    assertOk(/stroke-dasharray="5,3"/.test(svg), "no dashed line");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report of one run with its exact loss: population dashed, in the plot and in its one legend entry", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = await runCli([
      "train",
      ...TINY_FLAGS,
      ...["--epochs", "2", "--iters", "20", "--out", `${dir}/r`, "--quiet"],
    ]);
    assertEquals(run.code, 0, run.stderr);
    const report = await runCli(["report", `${dir}/r`]);
    assertEquals(report.code, 0, report.stderr);
    const svg = await Deno.readTextFile(`${dir}/r/report/fig3_loss.svg`);
    // dashed (it can lie on the eval curve), named once: the series legend shows the dashes, no
    // second legend for line styles
    assertEquals(svg.match(/>population</g)?.length, 1, "times the legend says population");
    assertOk(!svg.includes(">exact (population)<"), "a dash legend beside the series legend");
    const dashedIn = (cls: string) =>
      (svg.match(new RegExp(`class="${cls}.*?</g>`, "g")) ?? [])
        .filter((g) => g.includes('stroke-dasharray="5,3"')).length;
    assertEquals(dashedIn("mark-symbol role-legend-symbol"), 1, "dashed legend entries");
    assertEquals(dashedIn("mark-line role-mark"), 1, "dashed lines");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
