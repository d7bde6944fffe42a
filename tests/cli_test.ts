import { decodeNpy } from "../src/npy.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "./assert.ts";
import { assertOneLineError, exists, runCli, TINY } from "./run_cli.ts";

const TINY_RUN = [...TINY, "--epochs", "3", "--iters", "50", "--seed", "5"];

Deno.test("train writes a complete run folder that numpy can read", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/run`;
  const r = await runCli(["train", ...TINY_RUN, "--out", out]);
  assertEquals(r.code, 0, r.stderr);
  assertOk(r.stdout.includes("eval MSE"), r.stdout);
  assertEquals(r.stderr, "", "no progress when stderr is not a terminal");
  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assertEquals([config.d, config.widths, config.seed, config.precision], [7, [3], 5, "f64"]);
  assertOk(
    config.meta.version && config.meta.wasmSha256 && config.meta.deno,
    "provenance in config.json",
  );
  const metrics = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
  assertOk(
    metrics[0].startsWith("epoch,lr,train_mse,eval_mse,population_mse,grad_norm_0,grad_norm_1"),
    metrics[0],
  );
  assertEquals(metrics.length, 1 + 4, "header + epochs 0..3");
  const result = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  assertEquals(result.status, "completed");
  assertOk(result.final.evalMse < result.initial.evalMse);
  const shapes: Record<string, number[]> = {
    teacher_w0: [8, 3],
    teacher_w1: [4, 2],
    student_init_w0: [8, 9],
    student_final_w1: [10, 2],
    train_x: [300, 7],
    train_y: [300, 2],
    eval_x: [200, 7],
    eval_y: [200, 2],
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const a = decodeNpy(await Deno.readFile(`${out}/${name}.npy`));
    assertEquals(a.shape, shape, name);
    assertOk(a.data instanceof Float64Array, name);
  }
  // the written config.json reproduces the run
  const again = await runCli(["train", "--config", `${out}/config.json`, "--out", `${dir}/again`]);
  assertEquals(again.code, 0, again.stderr);
  for (const f of ["student_final_w0.npy", "metrics.csv", "eval_y.npy"]) {
    assertEquals(await Deno.readFile(`${dir}/again/${f}`), await Deno.readFile(`${out}/${f}`), f);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("flags override the config file; f32 runs write f32 arrays", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ d: 7, widths: [3], outputs: 2, multi: 9, seed: 5 }),
  );
  const r = await runCli([
    "train",
    "--config",
    `${dir}/c.json`,
    "--multi",
    "2",
    "--precision",
    "f32",
    ...[
      "--n-train",
      "100",
      "--n-eval",
      "100",
      "--epochs",
      "1",
      "--iters",
      "10",
    ],
    "--out",
    `${dir}/r`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/r/config.json`));
  assertEquals([config.multi, config.precision], [2, "f32"]);
  assertOk(
    decodeNpy(await Deno.readFile(`${dir}/r/student_final_w0.npy`)).data instanceof Float32Array,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--help lists every option with its default", async () => {
  const r = await runCli(["train", "--help"], []);
  assertEquals(r.code, 0);
  for (
    const flag of [
      "--d",
      "--widths",
      "--multi",
      "--lr",
      "--n-train",
      "--precision",
      "--out",
      "--force",
      "--config",
    ]
  ) {
    assertOk(r.stdout.includes(flag + " "), flag);
  }
  assertOk(r.stdout.includes("[default: 0.01]"), "lr default shown");
});

const BAD: [string[], RegExp][] = [
  [["train", "--d", "0"], /--d "0"/],
  [["train", "--d", "x"], /--d "x"/],
  [["train", "--multi", "-3"], /multi/],
  [["train", "--lr", "0"], /--lr "0"/],
  [["train", "--lr", "nan"], /--lr "nan"/],
  [["train", "--lr", "0:0.1,zz"], /--lr/],
  [["train", "--lr", "5:0.1"], /--lr/],
  [["train", "--batch", "0"], /--batch "0"/],
  [["train", "--epochs", "2.5"], /--epochs/],
  [["train", "--precision", "f16"], /--precision "f16"/],
  [["train", "--widths", "3,0"], /--widths/],
  [["train", "--bogus", "1"], /bogus/],
  [["train", "--d"], /--d/],
  [["train", "extra"], /Unexpected argument "extra"/],
  [["trian"], /Unknown command "trian"; did you mean train\?/],
  [["train", "--config", "/nonexistent/c.json"], /--config .*cannot read/],
];

for (const [args, pattern] of BAD) {
  Deno.test(`bad input ${args.join(" ")}: one line, exit 2, nothing written`, async () => {
    const dir = await Deno.makeTempDir();
    const r = await runCli([...args, "--out", `${dir}/out`]);
    assertOneLineError(r, pattern);
    assertEquals(await exists(`${dir}/out`), false, "no output folder");
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("a bad config file is a one-line error and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string, RegExp][] = [
    ["{not json", /not valid JSON/],
    ["[1,2]", /expected a JSON object/],
    [`{"d": "many"}`, /c\.json: Invalid --d "many"/],
    [`{"depth": 3}`, /Unknown setting "depth"/],
  ];
  for (const [text, pattern] of cases) {
    await Deno.writeTextFile(`${dir}/c.json`, text);
    const r = await runCli(["train", "--config", `${dir}/c.json`, "--out", `${dir}/out`]);
    assertOneLineError(r, pattern);
    assertEquals(await exists(`${dir}/out`), false);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an existing run folder is never overwritten without --force", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/out`);
  await Deno.writeTextFile(`${dir}/out/precious.txt`, "keep me");
  const r = await runCli(["train", ...TINY_RUN, "--out", `${dir}/out`]);
  assertEquals(r.code, 2);
  assertOk(/already exists.*--force/.test(r.stderr), r.stderr);
  assertEquals(await Deno.readTextFile(`${dir}/out/precious.txt`), "keep me");
  const forced = await runCli(["train", ...TINY_RUN, "--out", `${dir}/out`, "--force"]);
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await exists(`${dir}/out/precious.txt`), false);
  assertOk(await exists(`${dir}/out/result.json`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--n-train-eval: training measurements on a recorded subsample; epoch minibatch norms; timing fractions", async () => {
  const dir = await Deno.makeTempDir();
  const run = async (name: string, extra: string[]) => {
    const r = await runCli(["train", ...TINY_RUN, ...extra, "--out", `${dir}/${name}`]);
    assertEquals(r.code, 0, r.stderr);
    const text = (f: string) => Deno.readTextFile(`${dir}/${name}/${f}`);
    return {
      config: JSON.parse(await text("config.json")),
      result: JSON.parse(await text("result.json")),
      metrics: (await text("metrics.csv")).trim().split("\n").map((l) => l.split(",")),
      weights: await Deno.readFile(`${dir}/${name}/student_final_w0.npy`),
      hasIdx: await exists(`${dir}/${name}/train_eval_idx.npy`),
    };
  };
  const all = await run("all", []), sub = await run("sub", ["--n-train-eval", "120"]);
  assertEquals([all.config.nTrainEval, sub.config.nTrainEval], [10000, 120]);
  assertEquals([all.hasIdx, sub.hasIdx], [false, true]);
  const idx = decodeNpy(await Deno.readFile(`${dir}/sub/train_eval_idx.npy`));
  assertEquals(idx.shape, [120]);
  assertOk(idx.data instanceof Int32Array && idx.data.every((v) => v >= 0 && v < 300));
  assertEquals(sub.weights, all.weights, "training itself does not change");
  const col = (m: string[][], name: string) => m.slice(1).map((r) => r[m[0].indexOf(name)]);
  assertOk(col(sub.metrics, "train_mse").every((v, i) => v !== col(all.metrics, "train_mse")[i]));
  assertEquals(col(sub.metrics, "eval_mse"), col(all.metrics, "eval_mse"));
  for (const m of [all.metrics, sub.metrics]) {
    for (const name of ["grad_batch_mean_0", "grad_batch_max_0", "grad_batch_max_1"]) {
      const v = col(m, name);
      assertEquals(v[0], "", `${name} is empty before training`);
      assertOk(v.slice(1).every((x) => Number(x) > 0), `${name}: ${v}`);
    }
  }
  assertEquals(col(sub.metrics, "grad_batch_max_1"), col(all.metrics, "grad_batch_max_1"));
  const t = sub.result.timing;
  assertEquals(t.evaluations, 4);
  assertOk(t.wallSeconds >= t.trainSeconds + t.evalSeconds, JSON.stringify(t));
  assertAlmostEquals(t.evalFraction, t.evalSeconds / t.wallSeconds, 1e-12);
  assertOk(t.evalPerEpoch > 0 && t.evalFraction > 0 && t.evalFraction < 1, JSON.stringify(t));
  assertEquals(sub.result.final.batchGradNorm.steps, 50);
  await Deno.remove(dir, { recursive: true });
});
