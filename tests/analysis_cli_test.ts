/**
 * The analysis outputs of `cli.ts train` end to end: alignment.csv, students.csv, timeline.csv,
 * the metrics.csv gradient columns, the correlation .npy files and the end-of-run summary; and the
 * bad-input cases of --eval-every and --save-corr-at (exit 2, one line, nothing written).
 */
import { decodeNpy } from "../src/npy.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { assertOneLineError, exists, runCli, TINY as TINY_BASE } from "./run_cli.ts";

const TINY = [...TINY_BASE, "--iters", "50", "--seed", "5"];

const readCsv = async (path: string) =>
  (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => l.split(","));

Deno.test("train writes alignment, students, timeline, gradient columns and correlations", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/run`;
  // 5 epochs, every 2nd evaluated, matrices also at epoch 3: evaluations at 0, 2, 3, 4, 5.
  const r = await runCli([
    "train",
    ...TINY,
    "--epochs",
    "5",
    "--eval-every",
    "2",
    "--save-corr-at",
    "3",
    "--out",
    out,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertOk(/layer 0: eval covered at 0\.95 \d+\/3/.test(r.stdout), r.stdout);
  assertOk(r.stdout.includes("per-sample gradient norm max"), r.stdout);
  const epochs = [0, 2, 3, 4, 5];

  const align = await readCsv(`${out}/alignment.csv`);
  assertEquals(
    align[0].slice(0, 12).join(","),
    "epoch,split,layer,teacher,best_student,best_corr,n_above_0.5,n_above_0.6,n_above_0.7," +
      "n_above_0.8,n_above_0.9,n_above_0.95",
  );
  // splits: train, eval and (two-layer ReLU) the exact population correlations
  assertEquals(align.length - 1, epochs.length * 3 * 3, "evaluations × splits × teachers");
  assertEquals([...new Set(align.slice(1).map((row) => row[1]))].sort(), [
    "eval",
    "population",
    "train",
  ]);
  assertEquals([...new Set(align.slice(1).map((row) => Number(row[0])))], epochs);
  for (const row of align.slice(1)) {
    const best = Number(row[5]);
    assertOk(best >= -1 && best <= 1, `best_corr ${best}`);
    assertOk(Number(row[4]) >= 0 && Number(row[4]) < 9);
  }

  const students = await readCsv(`${out}/students.csv`);
  assertEquals(
    students[0].slice(0, 7).join(","),
    "epoch,split,layer,student,best_teacher,best_corr,fanout_norm",
  );
  assertEquals(students.length - 1, epochs.length * 2 * 9, "evaluations × splits × students");

  const metrics = await readCsv(`${out}/metrics.csv`);
  for (const col of ["grad_sample_max", "grad_sample_mean", "grad_sample_q50", "grad_sample_q99"]) {
    assertOk(metrics[0].includes(col), `${col} in ${metrics[0]}`);
  }
  assertEquals(metrics.length - 1, epochs.length);
  const iMax = metrics[0].indexOf("grad_sample_max"),
    iMean = metrics[0].indexOf("grad_sample_mean");
  for (const row of metrics.slice(1)) assertOk(Number(row[iMax]) >= Number(row[iMean]));

  const timeline = await readCsv(`${out}/timeline.csv`);
  assertEquals(timeline[0].join(","), "split,layer,teacher,tau,epoch");
  assertEquals(timeline.length - 1, 3 * 3 * 6, "splits (train, eval, population) × teachers × τ");

  for (const split of ["train", "eval"]) {
    for (const e of [0, 3, 5]) {
      const a = decodeNpy(await Deno.readFile(`${out}/corr_${split}_layer0_epoch${e}.npy`));
      assertEquals(a.shape, [3, 9]);
      assertOk(a.data instanceof Float64Array);
      assertOk(Array.from(a.data).every((v) => v >= -1 && v <= 1));
    }
    assertOk(!(await exists(`${out}/corr_${split}_layer0_epoch2.npy`)));
  }
  for (const e of [0, 3, 5]) {
    const obs = decodeNpy(await Deno.readFile(`${out}/obs_train_layer0_epoch${e}.npy`));
    assertEquals(obs.shape, [3, 9]);
    assertOk(Array.from(obs.data).every((v) => Number.isInteger(v) && v >= 0 && v <= 150));
  }
  assertOk(!(await exists(`${out}/obs_eval_layer0_epoch0.npy`)));
  // The last matrix agrees with alignment.csv.
  const last = decodeNpy(await Deno.readFile(`${out}/corr_eval_layer0_epoch5.npy`)).data;
  const rows5 = align.filter((row) => row[0] === "5" && row[1] === "eval");
  rows5.forEach((row, j) => {
    const best = Math.max(...Array.from(last.subarray(j * 9, (j + 1) * 9)));
    assertEquals(Number(row[5]), best);
  });

  const result = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  assertEquals(result.layers.length, 1);
  assertEquals(result.layers[0].success.length, 3);
  assertOk(Array.isArray(result.layers[0].deadStudents));
});

Deno.test("train analysis on fresh samples and a deeper network", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/run`;
  const r = await runCli([
    "train",
    ...TINY,
    "--widths",
    "3,4",
    "--n-train",
    "0",
    "--epochs",
    "2",
    "--out",
    out,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const align = await readCsv(`${out}/alignment.csv`);
  assertEquals(align.length - 1, 3 * (3 + 4), "evaluations × (eval split only) × teachers");
  assertOk(align.slice(1).every((row) => row[1] === "eval"));
  assertOk(await exists(`${out}/corr_eval_layer1_epoch2.npy`));
  const students = await readCsv(`${out}/students.csv`);
  assertEquals(students.length - 1, 3 * (9 + 12));
});

Deno.test("Bad --eval-every and --save-corr-at: exit 2, one line, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  const cases = [
    ["--eval-every", "0"],
    ["--eval-every", "x"],
    ["--eval-every", "1.5"],
    ["--save-corr-at", "9"],
    ["--save-corr-at", "-1"],
    ["--save-corr-at", "1,a"],
  ];
  for (const [i, c] of cases.entries()) {
    const out = `${dir}/run${i}`;
    const r = await runCli(["train", ...TINY, "--epochs", "4", ...c, "--out", out]);
    assertOneLineError(r, new RegExp(c[0]));
    assertEquals(r.stdout, "");
    assertOk(!(await exists(out)), `${c.join(" ")} must not create ${out}`);
  }
});
