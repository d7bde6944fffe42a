/**
 * The report's numbers, recomputed here from the runs' own files (metrics.csv, alignment.csv,
 * students.csv) and compared value by value: summary.csv (log10 eval MSE mean, sample std and the
 * median MSE over seeds; mean best correlation, covered teachers and dead students), the success
 * rate per teacher and epoch (success_by_teacher.csv and Fig. 2), the loss band of Fig. 3, the best
 * correlations of Fig. 4b, the L-shape points of Fig. 1, the trajectories of Fig. 4 (from the saved
 * correlation matrices); for a single run, teachers.csv and summary.csv; the multi-layer L-shape
 * of Fig. 5 (a deeper run) and the sample-complexity curves of Fig. 6 (an N_train sweep). The sweep is small but trained far enough that some teacher nodes are learned
 * (correlation > 0.95) and some are not, so a rate of 0 (or 1) everywhere would fail.
 */
import { SUCCESS_TAU } from "../src/alignment.ts";
import { resolveConfig } from "../src/config.ts";
import { decodeNpy } from "../src/npy.ts";
import { writeReport } from "../src/report.ts";
import { runToFolder } from "../src/run.ts";
import { parseGrid, planSweep, runSweep } from "../src/sweep.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";

const SETTINGS = {
  d: 8,
  widths: [4],
  outputs: 3,
  nTrain: 400,
  nEval: 200,
  iters: 100,
  epochs: 6,
  lr: 0.05,
  saveCorrAt: [1, 2, 3],
};
const SEEDS = [1, 2, 3];
const EPS = 1e-12;

/** A CSV file as records of numbers (or strings where not numeric). */
async function readCsv(path: string): Promise<Record<string, number | string>[]> {
  const [head, ...lines] = (await Deno.readTextFile(path)).trim().split("\n");
  const cols = head.split(",");
  return lines.map((l) =>
    Object.fromEntries(
      l.split(",").map((v, i) => {
        const x = Number(v);
        return [cols[i], v !== "" && Number.isFinite(x) ? x : v];
      }),
    )
  );
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sampleStd = (xs: number[]) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

/** One run as its own files say. */
interface Run {
  multi: number;
  seed: number;
  /** Evaluated epoch → eval MSE. */
  evalMse: Map<number, number>;
  /** Evaluated epoch → best eval correlation per teacher (layer 0). */
  bestCorr: Map<number, number[]>;
  /** Last evaluation, eval split, layer 0: per student [best correlation, fan-out norm]. */
  points: [number, number][];
  /** Last evaluation, the gradient (train) split: dead students of layer 0. */
  dead: number;
}

async function readRun(dir: string, multi: number, seed: number): Promise<Run> {
  const metrics = await readCsv(`${dir}/metrics.csv`);
  const evalMse = new Map(metrics.map((r) => [r.epoch as number, r.eval_mse as number]));
  const bestCorr = new Map<number, number[]>();
  for (const r of await readCsv(`${dir}/alignment.csv`)) {
    if (r.split !== "eval" || r.layer !== 0) continue;
    const e = r.epoch as number;
    if (!bestCorr.has(e)) bestCorr.set(e, []);
    bestCorr.get(e)![r.teacher as number] = r.best_corr as number;
  }
  const last = Math.max(...evalMse.keys());
  const students = (await readCsv(`${dir}/students.csv`)).filter((r) =>
    r.epoch === last && r.layer === 0
  );
  const points = students.filter((r) => r.split === "eval").map((
    r,
  ) => [r.best_corr, r.fanout_norm] as [number, number]);
  const dead = students.filter((r) => r.split === "train" && r.dead === 1).length;
  return { multi, seed, evalMse, bestCorr, points, dead };
}

/** The number in a label like "multi = 2" or "epoch 6 (end)". */
const numberIn = (label: unknown): number => Number(String(label).match(/-?\d+(\.\d+)?/)![0]);

const byKey = <T>(xs: T[], key: (x: T) => string) => {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
};

Deno.test("report values: tables and figures recomputed from the runs' CSVs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report-values-" });
  try {
    const plan = await planSweep({ base: SETTINGS, grid: [parseGrid("multi=1,2")], seeds: SEEDS });
    const done = await runSweep(plan, { out: dir, jobs: 2 });
    assertEquals(done.failures, []);
    const runs = await Promise.all(
      plan.jobs.map((j) => readRun(`${dir}/runs/${j.hash}`, j.config.multi, j.seed)),
    );
    const report = await writeReport(dir);
    const last = SETTINGS.epochs, early = 5;
    const groups = byKey(runs, (r) => String(r.multi));

    // the fixture exercises both outcomes: some teachers learned, some not
    const finals = runs.flatMap((r) => r.bestCorr.get(last)!);
    assertOk(finals.some((c) => c > SUCCESS_TAU) && finals.some((c) => c <= SUCCESS_TAU), "mixed");

    // summary.csv: per grid point, over seeds
    const summary = await readCsv(`${report.out}/summary.csv`);
    assertEquals(summary.length, groups.size);
    for (const row of summary) {
      const rs = groups.get(String(row.multi))!;
      const finalMse = rs.map((r) => r.evalMse.get(last)!);
      const logs = finalMse.map(Math.log10);
      assertEquals(row.seeds, SEEDS.length);
      assertAlmostEquals(row.log10_eval_mse_mean as number, mean(logs), EPS, "log10 mean");
      assertAlmostEquals(row.log10_eval_mse_std as number, sampleStd(logs), EPS, "log10 std");
      assertOk((row.log10_eval_mse_std as number) > 0, "seeds differ");
      assertAlmostEquals(row.eval_mse_median as number, median(finalMse), EPS, "median MSE");
      const corr = rs.map((r) => r.bestCorr.get(last)!);
      assertAlmostEquals(row.layer0_mean_best_corr as number, mean(corr.map(mean)), EPS, "corr");
      assertAlmostEquals(
        row[`layer0_covered_${SUCCESS_TAU}`] as number,
        mean(corr.map((c) => c.filter((x) => x > SUCCESS_TAU).length)),
        EPS,
        "covered",
      );
      assertAlmostEquals(row.layer0_dead_students as number, mean(rs.map((r) => r.dead)), EPS);
    }

    // success rate and mean best correlation per teacher, at the early epoch and the end
    const rate = (rs: Run[], e: number, j: number) =>
      rs.filter((r) => r.bestCorr.get(e)![j] > SUCCESS_TAU).length / rs.length;
    const success = await readCsv(`${report.out}/success_by_teacher.csv`);
    assertEquals(success.length, groups.size * 2 * SETTINGS.widths[0]);
    for (const row of success) {
      const rs = groups.get(String(row.multi))!, e = row.epoch as number, j = row.teacher as number;
      assertOk(e === early || e === last, `epoch ${e}`);
      assertEquals(row.success_rate, rate(rs, e, j), `rate multi ${row.multi} epoch ${e} j ${j}`);
      assertAlmostEquals(
        row.best_corr_mean as number,
        mean(rs.map((r) => r.bestCorr.get(e)![j])),
        EPS,
      );
      assertEquals(row.seeds, SEEDS.length);
    }
    assertOk(success.some((r) => (r.success_rate as number) > 0), "some teacher learned");

    const figure = (prefix: string) => {
      const f = report.figures.find((f) => f.file.startsWith(prefix));
      assertOk(f, `no ${prefix}`);
      return f.data;
    };

    // Fig. 2: the same rates, a point per (epoch row, multi line, teacher)
    const fig2 = figure("fig2_success");
    assertEquals(fig2.length, success.length);
    for (const p of fig2) {
      const e = numberIn(p.row), rs = groups.get(String(numberIn(p.series)))!;
      assertEquals(p.y, rate(rs, e, p.x as number), `Fig. 2 ${p.row} ${p.series} j ${p.x}`);
    }

    // Fig. 3: log10 eval MSE per epoch, mean ± sample std over seeds
    // (two-layer ReLU runs also carry the exact population loss, drawn dashed: kind "exact …")
    const fig3All = figure("fig3_loss");
    const fig3 = fig3All.filter((p) => p.kind === undefined || p.kind === "sampled");
    assertEquals(fig3.length, groups.size * (last + 1));
    assertEquals(
      fig3All.length - fig3.length,
      groups.size * (last + 1),
      "one exact line per group",
    );
    for (const p of fig3) {
      const rs = groups.get(String(numberIn(p.series)))!;
      const logs = rs.map((r) => Math.log10(r.evalMse.get(p.x as number)!));
      assertAlmostEquals(p.y as number, mean(logs), EPS, `Fig. 3 mean, epoch ${p.x}`);
      assertAlmostEquals(p.hi as number, mean(logs) + sampleStd(logs), EPS, "Fig. 3 band");
      assertAlmostEquals(p.lo as number, mean(logs) - sampleStd(logs), EPS, "Fig. 3 band");
    }

    // Fig. 4b: best correlation of teacher j per epoch, mean over seeds
    const fig4b = figure("fig4b_best_corr");
    assertEquals(fig4b.length, groups.size * (last + 1) * SETTINGS.widths[0]);
    for (const p of fig4b) {
      const rs = groups.get(String(numberIn(p.col)))!, j = Number(p.series);
      const want = mean(rs.map((r) => r.bestCorr.get(p.x as number)![j]));
      assertAlmostEquals(p.y as number, want, EPS, `Fig. 4b j ${j} epoch ${p.x}`);
    }

    // Fig. 1: every student's (best correlation, fan-out norm) at the end, per multi and seed
    const fig1 = figure("fig1_lshape");
    const key = (multi: number, seed: number, x: number, y: number) => `${multi}/${seed}/${x}/${y}`;
    assertEquals(
      fig1.map((p) => key(numberIn(p.col), Number(p.color), p.x as number, p.y as number)).sort(),
      runs.flatMap((r) => r.points.map(([x, y]) => key(r.multi, r.seed, x, y))).sort(),
    );

    // Fig. 4: every student's correlation with teacher j at each saved epoch (first seed)
    const fig4 = figure("fig4_trajectories");
    const saved = [0, ...SETTINGS.saveCorrAt, last], m = SETTINGS.widths[0];
    // teachers × students of every multi × saved epochs
    const students = [...groups.keys()].reduce((a, multi) => a + m * Number(multi), 0);
    assertEquals(fig4.length, m * students * saved.length);
    for (const p of fig4) {
      const multi = numberIn(p.col), j = numberIn(p.row), k = p.student as number;
      const job = plan.jobs.find((x) => x.config.multi === multi && x.seed === SEEDS[0])!;
      const npy = decodeNpy(
        await Deno.readFile(`${dir}/runs/${job.hash}/corr_eval_layer0_epoch${p.x}.npy`),
      );
      assertEquals(p.y, npy.data[j * npy.shape[1] + k], `Fig. 4 multi ${multi} j ${j} k ${k}`);
    }

    // one run's report: teachers.csv and summary.csv from the same files
    const one = runs[3], oneDir = `${dir}/runs/${plan.jobs[3].hash}`;
    const single = await writeReport(oneDir, { out: `${dir}/single` });
    const teachers = await readCsv(`${single.out}/teachers.csv`);
    const finalCorr = one.bestCorr.get(last)!;
    assertEquals(teachers.map((t) => t.best_corr), finalCorr);
    assertEquals(teachers.map((t) => t.success), finalCorr.map((c) => (c > SUCCESS_TAU ? 1 : 0)));
    const [layer] = await readCsv(`${single.out}/summary.csv`);
    assertAlmostEquals(layer.mean_best_corr as number, mean(finalCorr), EPS);
    assertEquals(
      layer[`covered_${SUCCESS_TAU}`],
      finalCorr.filter((c) => c > SUCCESS_TAU).length,
    );
    assertEquals(layer.dead_students, one.dead);
    const singleFig1 = single.figures.find((f) => f.file.startsWith("fig1_lshape"))!.data;
    assertEquals(
      singleFig1.map((p) => `${p.x}/${p.y}`).sort(),
      one.points.map(([x, y]) => `${x}/${y}`).sort(),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report values: Fig. 5 (deeper run) and Fig. 6 (N_train sweep) from the runs' CSVs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report-values-" });
  try {
    // Fig. 5: (best correlation, sqrt(E[β_kk])) of every student of every hidden layer
    const deep = resolveConfig({
      settings: { ...SETTINGS, widths: [3, 4], saveCorrAt: [], iters: 30, epochs: 5 },
    });
    await runToFolder(deep, { out: `${dir}/deep` });
    const five = await writeReport(`${dir}/deep`, { out: `${dir}/deep_report` });
    const fig5 = five.figures.find((f) => f.file.startsWith("fig5_multilayer_lshape"))!.data;
    const shown = new Set(fig5.map((p) => numberIn(p.col)));
    assertOk(shown.size >= 3, `epochs shown: ${[...shown]}`);
    const students = (await readCsv(`${dir}/deep/students.csv`)).filter((r) =>
      r.split === "eval" && shown.has(r.epoch as number)
    );
    assertEquals(
      fig5.map((p) => `${numberIn(p.row)}/${numberIn(p.col)}/${p.x}/${p.y}`).sort(),
      students.map((r) => `${r.layer}/${r.epoch}/${r.best_corr}/${r.beta_norm}`).sort(),
    );

    // Fig. 6: log10 eval MSE and mean best correlation at the end vs N_train, mean ± std
    const settings = { ...SETTINGS, saveCorrAt: [], iters: 30, epochs: 2 };
    const plan = await planSweep({
      base: settings,
      grid: [parseGrid("n-train=100,200")],
      seeds: [1, 2],
    });
    assertEquals((await runSweep(plan, { out: `${dir}/sc`, jobs: 2 })).failures, []);
    const six = await writeReport(`${dir}/sc`);
    const fig6 = six.figures.find((f) => f.file.startsWith("fig6_sample_complexity"))!.data;
    assertEquals(fig6.length, 4);
    for (const p of fig6) {
      const runs = await Promise.all(
        plan.jobs.filter((j) => j.config.nTrain === p.x).map((j) =>
          readRun(`${dir}/sc/runs/${j.hash}`, j.config.multi, j.seed)
        ),
      );
      const vs = p.panel === "left"
        ? runs.map((r) => Math.log10(r.evalMse.get(settings.epochs)!))
        : runs.map((r) => mean(r.bestCorr.get(settings.epochs)!));
      assertEquals(runs.length, 2);
      assertAlmostEquals(p.y as number, mean(vs), EPS, `Fig. 6 ${p.panel} N ${p.x}`);
      assertAlmostEquals(p.hi as number, mean(vs) + sampleStd(vs), EPS, "Fig. 6 band");
      assertAlmostEquals(p.lo as number, mean(vs) - sampleStd(vs), EPS, "Fig. 6 band");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
