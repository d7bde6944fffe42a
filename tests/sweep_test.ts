import { ConfigError, resolveConfig } from "../src/config.ts";
import { writeFileAtomic } from "../src/run.ts";
import {
  checkSweepFolder,
  configHash,
  manifestOf,
  parseGrid,
  parseSeeds,
  parseShard,
  planSweep,
  PRESETS,
  resolveShard,
  runSweep,
  SHARD_ENV,
  shardJobs,
} from "../src/sweep.ts";
import { assertEquals, assertOk, assertRejects, assertThrows } from "./assert.ts";
import { assertOneLineError, exists, runCli } from "./run_cli.ts";

const TINY = {
  d: 5,
  widths: [3],
  outputs: 2,
  nTrain: 200,
  nEval: 100,
  epochs: 2,
  iters: 20,
};
const TINY_FLAGS = [
  ...["--d", "5", "--widths", "3", "--outputs", "2", "--n-train", "200", "--n-eval", "100"],
  ...["--epochs", "2", "--iters", "20"],
];
const GRID_FLAGS = ["--grid", "multi=1,2", "--grid", "p=0,1", "--seeds", "1-2"]; // 8 jobs

Deno.test("parseGrid: keys or flag names, commas, semicolons for list options", () => {
  assertEquals(parseGrid("multi=1,2,5,10"), { key: "multi", values: ["1", "2", "5", "10"] });
  assertEquals(parseGrid("n-train=30, 100"), { key: "nTrain", values: ["30", "100"] });
  assertEquals(parseGrid("nTrain=30"), { key: "nTrain", values: ["30"] });
  assertEquals(parseGrid("widths=10;20;10,15"), { key: "widths", values: ["10", "20", "10,15"] });
  assertEquals(parseGrid("lr=0.01;0:0.2,20:0.1").values, ["0.01", "0:0.2,20:0.1"]);
  for (
    const [bad, pattern] of [
      ["multi", /expected KEY=V1,V2/],
      ["=1,2", /expected KEY=V1,V2/],
      ["multi=", /empty value/],
      ["multi=1,,2", /empty value/],
      ["depth=1,2", /unknown option "depth"/],
      ["seed=1,2", /--seeds/],
    ] as const
  ) {
    assertThrows(() => parseGrid(bad), ConfigError, pattern);
  }
});

Deno.test("parseSeeds: ranges and lists; empty ranges, repeats and junk are errors", () => {
  assertEquals(parseSeeds("1-8"), [1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals(parseSeeds("1,2,5"), [1, 2, 5]);
  assertEquals(parseSeeds("0-2, 9"), [0, 1, 2, 9]);
  assertEquals(parseSeeds("7"), [7]);
  assertThrows(() => parseSeeds("5-3"), ConfigError, /range 5-3 is empty/);
  assertThrows(() => parseSeeds(""), ConfigError, /--seeds/);
  assertThrows(() => parseSeeds("1,1"), ConfigError, /repeated/);
  assertThrows(() => parseSeeds("1-x"), ConfigError, /--seeds "1-x"/);
  assertThrows(() => parseSeeds("-3"), ConfigError, /--seeds/);
  assertThrows(() => parseSeeds("4294967296"), ConfigError, /≤ 4294967295/);
});

Deno.test("parseShard and resolveShard: flag, Slurm, Kubernetes, out of range", () => {
  assertEquals(parseShard("0/1"), { index: 0, count: 1 });
  assertEquals(parseShard("2/3"), { index: 2, count: 3 });
  for (const bad of ["3/3", "1/0", "-1/3", "1", "a/b", "1/3/4"]) {
    assertThrows(() => parseShard(bad), ConfigError, /i\/N/);
  }
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(resolveShard({}, env({})), { index: 0, count: 1 });
  const slurm = (id: string, min: string, step: string, count: string) =>
    env({
      SLURM_ARRAY_TASK_ID: id,
      SLURM_ARRAY_TASK_MIN: min,
      SLURM_ARRAY_TASK_STEP: step,
      SLURM_ARRAY_TASK_COUNT: count,
    });
  assertEquals(resolveShard({}, slurm("3", "0", "1", "4")), { index: 3, count: 4 });
  assertEquals(resolveShard({}, slurm("4", "1", "1", "4")), { index: 3, count: 4 });
  assertEquals(
    resolveShard({ shardCount: "5" }, env({ JOB_COMPLETION_INDEX: "2" })),
    { index: 2, count: 5 },
  );
  assertEquals(
    resolveShard({ shard: "1/2" }, slurm("3", "0", "1", "4")),
    { index: 1, count: 2 },
    "the flag wins",
  );
  assertThrows(() => resolveShard({ shardCount: "3" }, env({})), ConfigError, /JOB_COMPLETION/);
  assertThrows(
    () => resolveShard({}, env({ JOB_COMPLETION_INDEX: "1" })),
    ConfigError,
    /--shard-count/,
  );
  assertThrows(
    () => resolveShard({ shardCount: "3" }, env({ JOB_COMPLETION_INDEX: "3" })),
    ConfigError,
    /i\/N/,
  );
  assertThrows(() => resolveShard({ shardCount: "0" }, env({})), ConfigError, /--shard-count/);
});

Deno.test("Slurm arrays: every id of contiguous, stepped and 0-based arrays is one shard; partial or malformed environments are refused (table)", () => {
  const env = (vars: Record<string, string | undefined>) => (name: string) => vars[name];
  // [--array, ids]: Slurm sets MIN, STEP and COUNT from the spec
  const arrays: [string, number[], number][] = [
    ["1-7:2", [1, 3, 5, 7], 2],
    ["0-3", [0, 1, 2, 3], 1],
    ["5-9", [5, 6, 7, 8, 9], 1],
    ["0-15:5", [0, 5, 10, 15], 5],
  ];
  for (const [spec, ids, step] of arrays) {
    const shards = ids.map((id) =>
      resolveShard(
        {},
        env({
          SLURM_ARRAY_TASK_ID: String(id),
          SLURM_ARRAY_TASK_MIN: String(ids[0]),
          SLURM_ARRAY_TASK_STEP: String(step),
          SLURM_ARRAY_TASK_COUNT: String(ids.length),
        }),
      )
    );
    assertEquals(shards, ids.map((_, i) => ({ index: i, count: ids.length })), spec);
  }
  const full = {
    SLURM_ARRAY_TASK_ID: "3",
    SLURM_ARRAY_TASK_MIN: "1",
    SLURM_ARRAY_TASK_STEP: "2",
    SLURM_ARRAY_TASK_COUNT: "4",
  };
  const bad: [Record<string, string | undefined>, RegExp][] = [
    [{ ...full, SLURM_ARRAY_TASK_COUNT: undefined }, /partial: SLURM_ARRAY_TASK_COUNT not set/],
    [{ ...full, SLURM_ARRAY_TASK_STEP: undefined }, /partial: SLURM_ARRAY_TASK_STEP/],
    [{ SLURM_ARRAY_TASK_ID: "3" }, /partial: SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN/],
    [{ SLURM_ARRAY_TASK_COUNT: "4" }, /partial: SLURM_ARRAY_TASK_ID/],
    [{ ...full, SLURM_ARRAY_TASK_COUNT: "" }, /Invalid SLURM_ARRAY_TASK_COUNT ""/],
    [{ ...full, SLURM_ARRAY_TASK_ID: "x" }, /Invalid SLURM_ARRAY_TASK_ID "x"/],
    [{ ...full, SLURM_ARRAY_TASK_MIN: "-1" }, /Invalid SLURM_ARRAY_TASK_MIN "-1"/],
    [{ ...full, SLURM_ARRAY_TASK_ID: "4" }, /not one of min \+ k·step/],
    [{ ...full, SLURM_ARRAY_TASK_ID: "9" }, /not one of min \+ k·step/],
    [{ ...full, SLURM_ARRAY_TASK_ID: "0" }, /not one of min \+ k·step/],
    [{ ...full, SLURM_ARRAY_TASK_STEP: "0" }, /not one of min \+ k·step/],
    [{ ...full, SLURM_ARRAY_TASK_COUNT: "0" }, /not one of min \+ k·step/],
  ];
  for (const [vars, pattern] of bad) {
    assertThrows(() => resolveShard({}, env(vars)), ConfigError, pattern);
  }
});

Deno.test("config hash: stable, key-order free, sensitive to every setting", async () => {
  const a = resolveConfig({ settings: { ...TINY, multi: 2 } });
  const b = resolveConfig({
    settings: {
      multi: "2",
      iters: "20",
      nEval: 100,
      ...Object.fromEntries(Object.entries(TINY).reverse()),
    },
  });
  const h = await configHash(a);
  assertOk(/^[0-9a-f]{12}$/.test(h), h);
  assertEquals(await configHash(b), h, "same config, other key order and raw types");
  const hashes = new Set([h]);
  for (
    const change of [{ multi: 3 }, { seed: 2 }, { p: 1.5 }, { lr: "0:0.01,1:0.005" }, {
      widths: [3, 2],
    }]
  ) {
    hashes.add(await configHash(resolveConfig({ settings: { ...TINY, multi: 2, ...change } })));
  }
  assertEquals(hashes.size, 6, "every change gives a new hash");
});

Deno.test("planSweep: grid × seeds in a stable order, validated, sharded by index", async () => {
  const plan = await planSweep({
    base: { ...TINY },
    grid: [parseGrid("multi=1,2"), parseGrid("p=0,0.5,1")],
    seeds: [1, 2],
  });
  assertEquals(plan.jobs.length, 12);
  assertEquals(
    plan.jobs.slice(0, 3).map((j) => [j.point.multi, j.point.p, j.seed]),
    [["1", "0", 1], ["1", "0", 2], ["1", "0.5", 1]],
  );
  assertEquals(plan.jobs[11].config.multi, 2);
  const again = await planSweep({
    base: { ...TINY },
    grid: [parseGrid("multi=1,2"), parseGrid("p=0,0.5,1")],
    seeds: [1, 2],
  });
  assertEquals(again.jobs.map((j) => j.hash), plan.jobs.map((j) => j.hash));
  assertEquals(again.id, plan.id);
  const shards = [0, 1, 2].map((index) => shardJobs(plan.jobs, { index, count: 3 }));
  assertEquals(shards.map((s) => s.length), [4, 4, 4]);
  assertEquals(shards.flat().map((j) => j.index).sort((x, y) => x - y), [...Array(12).keys()]);
  await assertRejects(
    () => planSweep({ base: TINY, grid: [parseGrid("p=0,-1")] }),
    ConfigError,
    /--grid: Invalid --p "-1"/,
  );
  await assertRejects(
    () => planSweep({ base: TINY, grid: [parseGrid("multi=1,01")] }),
    ConfigError,
    /same configuration/,
  );
  await assertRejects(() => planSweep({ base: TINY, seeds: [] }), ConfigError, /no seeds/);
});

Deno.test("presets resolve, and --epochs/--seeds shrink them", async () => {
  for (const p of PRESETS) {
    const full = await planSweep({ preset: p.name });
    assertEquals(
      full.jobs.length,
      p.grid.reduce((n, a) => n * a.values.length, 1) * p.seeds.length,
    );
    const quick = await planSweep({ preset: p.name, base: { epochs: "3" }, seeds: [1] });
    assertOk(quick.jobs.every((j) => j.config.epochs === 3 && j.seed === 1), p.name);
  }
  const one = await planSweep({ preset: "trajectory", base: { seed: "7" } });
  assertEquals(one.jobs.map((j) => j.seed), [7, 7, 7, 7], "--seed alone over a preset");
  await assertRejects(
    () => planSweep({ preset: "trajectory", base: { seed: "x" } }),
    ConfigError,
    /--seed "x"/,
  );
  const two = await planSweep({ preset: "two-layer" });
  assertEquals(two.jobs.length, 2 * 4 * 6 * 32);
  assertEquals(two.jobs[0].config.d, 100);
  assertEquals(two.jobs[0].config.nGradEval, 0, "two-layer: gradients on every training sample");
  const ml = (await planSweep({ preset: "multi-layer", base: { epochs: "30" } })).jobs[0].config;
  assertEquals([ml.nTrain, ml.nTrainEval, ml.nGradEval], [200000, 10000, 5000]);
  assertEquals(ml.lr, [[0, 0.2], [20, 0.1]]);
});

Deno.test("the multi-layer-sample-complexity preset: its grid, settings and paper scale", async () => {
  const plan = await planSweep({ preset: "multi-layer-sample-complexity" });
  assertEquals(plan.jobs.length, 2 * 2 * 6 * 3);
  const seen = (
    key: string,
  ) => [...new Set(plan.jobs.map((j) => JSON.stringify(j.config[key as "d"])))];
  assertEquals(seen("loss"), ['"mse"', '"cross-entropy"']);
  assertEquals(seen("multi"), ["2", "5"]);
  assertEquals(seen("nTrain"), ["5000", "10000", "20000", "50000", "100000", "200000"]);
  const c = plan.jobs[0].config;
  assertEquals([c.d, c.dataStd, c.outputs, c.batch, c.epochs], [20, 10, 100, 64, 30]);
  assertEquals(c.widths, [10, 15, 20, 25]);
  assertEquals(c.lr, [[0, 0.2], [20, 0.1]]);
  assertEquals([c.biasTuning, c.init, c.precision], [true, "uniform", "f32"]);
  // the paper's scale through flags
  const paper = await planSweep({
    preset: "multi-layer-sample-complexity",
    base: { widths: "50,75,100,125", epochs: "200" },
    grid: [parseGrid("n-train=5000,500000,2000000")],
    seeds: [1, 2],
  });
  assertEquals(paper.jobs.length, 2 * 2 * 3 * 2);
  assertOk(paper.jobs.every((j) => j.config.epochs === 200 && j.config.widths[3] === 125));
});

async function startCounts(out: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const text = await Deno.readTextFile(`${out}/log.jsonl`);
  for (const line of text.trim().split("\n")) {
    const e = JSON.parse(line);
    if (e.event === "start") counts.set(e.hash, (counts.get(e.hash) ?? 0) + 1);
  }
  return counts;
}

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split("\n");
  const cols = head.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i], v])));
}

Deno.test("a real sweep: 2 workers, sweep.csv, rerun skips, failures recorded, incomplete redone", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/s`;
  const failHash = (await planSweep({
    base: { ...TINY },
    grid: [parseGrid("multi=1,2"), parseGrid("p=0,1")],
    seeds: [1, 2],
  })).jobs[5].hash;
  const r = await runCli(
    ["sweep", ...TINY_FLAGS, ...GRID_FLAGS, "--jobs", "2", "--out", out],
    ["--allow-read", "--allow-write", "--allow-env=SPECIALIZE_FAIL_JOB"],
  ).catch((e) => {
    throw e;
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "", "no progress when stderr is not a terminal");
  assertOk(/8 completed, 0 skipped.*0 failed/.test(r.stdout), r.stdout);
  const rows = parseCsv(await Deno.readTextFile(`${out}/sweep.csv`));
  assertEquals(rows.length, 8);
  assertOk(rows.every((x) => x.status === "completed" && Number(x.eval_mse) > 0), "metrics");
  assertEquals(
    Object.keys(rows[0]).slice(0, 5),
    ["hash", "status", "multi", "p", "seed"],
  );
  assertOk("grad_norm_1" in rows[0] && "train_mse" in rows[0] && "error" in rows[0]);
  const manifest = JSON.parse(await Deno.readTextFile(`${out}/sweep.json`));
  assertEquals(manifest.jobs.length, 8);
  assertEquals(manifest.jobs[5].hash, failHash);

  // a rerun skips every finished job
  const again = await runCli(["sweep", ...TINY_FLAGS, ...GRID_FLAGS, "--out", out]);
  assertEquals(again.code, 0, again.stderr);
  assertOk(/0 completed, 8 skipped/.test(again.stdout), again.stdout);
  assertOk([...(await startCounts(out)).values()].every((n) => n === 1), "nothing rerun");

  // an incomplete folder (killed mid-way) is redone from scratch; a failing job is recorded
  const victim = manifest.jobs[2].hash;
  await Deno.remove(`${out}/runs/${victim}/result.json`);
  await Deno.writeTextFile(`${out}/runs/${victim}/partial.tmp`, "junk");
  await Deno.remove(`${out}/runs/${failHash}`, { recursive: true });
  const failing = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-env=SPECIALIZE_FAIL_JOB",
      new URL("../cli.ts", import.meta.url).pathname,
      "sweep",
      ...TINY_FLAGS,
      ...GRID_FLAGS,
      "--out",
      out,
    ],
    env: { SPECIALIZE_FAIL_JOB: failHash },
    stdout: "piped",
    stderr: "piped",
  });
  const f = await failing.output();
  const fOut = new TextDecoder().decode(f.stdout), fErr = new TextDecoder().decode(f.stderr);
  assertEquals(f.code, 1, fErr);
  assertOk(/1 completed, 6 skipped.*1 failed/.test(fOut), fOut);
  assertOk(fErr.trim().split("\n").length === 1 && /1 of 8 jobs failed/.test(fErr), fErr);
  assertOk(await exists(`${out}/runs/${victim}/result.json`), "incomplete job redone");
  assertEquals(await exists(`${out}/runs/${victim}/partial.tmp`), false, "from scratch");
  const err = JSON.parse(await Deno.readTextFile(`${out}/runs/${failHash}/error.json`));
  assertOk(/Injected failure/.test(err.error) && err.config.multi === 2, err.error);
  const rows2 = parseCsv(await Deno.readTextFile(`${out}/sweep.csv`));
  assertEquals(rows2.length, 8);
  assertEquals(rows2.filter((x) => x.status === "failed").map((x) => x.hash), [failHash]);
  assertOk(/Injected failure/.test(rows2[5].error), "error in sweep.csv");

  // the failed job is retried on the next run
  const retry = await runCli(["sweep", ...TINY_FLAGS, ...GRID_FLAGS, "--out", out]);
  assertEquals(retry.code, 0, retry.stderr);
  assertOk(/1 completed, 7 skipped.*0 failed/.test(retry.stdout), retry.stdout);
  assertOk(await exists(`${out}/runs/${failHash}/result.json`));
  assertEquals(await exists(`${out}/runs/${failHash}/error.json`), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("library: a job that throws is recorded and the sweep finishes", async () => {
  const dir = await Deno.makeTempDir();
  const plan = await planSweep({ base: { ...TINY }, grid: [parseGrid("multi=1,2,3")] });
  const summary = await runSweep(plan, {
    out: dir,
    jobs: 2,
    runJob: (job) => {
      if (job.index === 1) return Promise.reject(new Error("boom\nsecond line"));
      return import("../src/run.ts").then((m) =>
        m.runToFolder(job.config, { out: `${dir}/runs/${job.hash}` })
      );
    },
  });
  assertEquals([summary.completed, summary.failures.length, summary.csvRows], [2, 1, 3]);
  assertEquals(summary.failures[0], { hash: plan.jobs[1].hash, error: "boom" });
  const csv = await Deno.readTextFile(`${dir}/sweep.csv`);
  assertOk(csv.includes(`${plan.jobs[1].hash},failed,2,1,`) && csv.includes(",boom\n"), csv);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sharding: 3 shard processes into one folder run every job exactly once", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/s`;
  const cli = new URL("../cli.ts", import.meta.url).pathname;
  const env = `--allow-env=${SHARD_ENV.join(",")}`;
  const shard = (extra: string[], vars: Record<string, string>) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-read",
        "--allow-write",
        env,
        cli,
        "sweep",
        ...TINY_FLAGS,
        ...GRID_FLAGS,
        "--jobs",
        "1",
        "--out",
        out,
        ...extra,
      ],
      env: vars,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const results = await Promise.all([
    shard(["--shard", "0/3"], {}),
    shard([], {
      SLURM_ARRAY_TASK_ID: "3",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_STEP: "2",
      SLURM_ARRAY_TASK_COUNT: "3",
    }),
    shard(["--shard-count", "3"], { JOB_COMPLETION_INDEX: "2" }),
  ]);
  const dec = new TextDecoder();
  for (const [i, r] of results.entries()) {
    assertEquals(r.code, 0, dec.decode(r.stderr));
    assertOk(dec.decode(r.stdout).includes(`(shard ${i}/3)`), dec.decode(r.stdout));
  }
  const manifest = JSON.parse(await Deno.readTextFile(`${out}/sweep.json`));
  const counts = await startCounts(out);
  assertEquals(counts.size, 8);
  for (const job of manifest.jobs) {
    assertEquals(counts.get(job.hash), 1, job.hash);
    assertOk(await exists(`${out}/runs/${job.hash}/result.json`), job.hash);
  }
  // the csv written last holds every job, whichever shard finished last
  const finalCsv = await runCli(["sweep", ...TINY_FLAGS, ...GRID_FLAGS, "--out", out]);
  assertOk(/0 completed, 8 skipped/.test(finalCsv.stdout), finalCsv.stdout);
  assertEquals(parseCsv(await Deno.readTextFile(`${out}/sweep.csv`)).length, 8);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sweep --list-presets and --help", async () => {
  const r = await runCli(["sweep", "--list-presets"], []);
  assertEquals(r.code, 0, r.stderr);
  for (const p of PRESETS) assertOk(r.stdout.includes(p.name), p.name);
  assertOk(r.stdout.includes("1536 jobs"), r.stdout);
  const h = await runCli(["sweep", "--help"], []);
  assertEquals(h.code, 0);
  for (const f of ["--grid", "--seeds", "--jobs", "--shard", "--shard-count", "--preset"]) {
    assertOk(h.stdout.includes(f + " "), f);
  }
});

const BAD: [string[], RegExp][] = [
  [["--grid", "multi"], /--grid "multi": expected KEY=V1,V2/],
  [["--grid", "multi=1,,2"], /empty value/],
  [["--grid", "depth=1,2"], /unknown option "depth"/],
  [["--grid", "multi=0,1"], /Invalid --multi "0"/],
  [["--grid", "multi=1", "--grid", "multi=2"], /given twice/],
  [["--seeds", "5-3"], /--seeds "5-3": the range 5-3 is empty/],
  [["--seeds", "a-b"], /--seeds "a-b"/],
  [["--shard", "3/3"], /--shard "3\/3"/],
  [["--shard", "1"], /--shard "1"/],
  [["--shard-count", "2"], /JOB_COMPLETION_INDEX/],
  [["--jobs", "0"], /--jobs "0"/],
  [["--preset", "nope"], /Unknown --preset "nope"/],
  [["--seed", "3", "--seeds", "1-2"], /--seed or --seeds/],
  [["--d", "0"], /--d "0"/],
  [["extra"], /Unexpected argument "extra"/],
];

for (const [args, pattern] of BAD) {
  Deno.test(`sweep bad input ${args.join(" ")}: one line, exit 2, nothing written`, async () => {
    const dir = await Deno.makeTempDir();
    const r = await runCli(["sweep", ...TINY_FLAGS, ...args, "--out", `${dir}/out`]);
    assertOneLineError(r, pattern);
    assertEquals(await exists(`${dir}/out`), false, "no output folder");
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("a folder that is not a sweep, or holds another sweep, is refused untouched", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/other`);
  await Deno.writeTextFile(`${dir}/other/keep.txt`, "keep me");
  const r = await runCli(["sweep", ...TINY_FLAGS, "--out", `${dir}/other`]);
  assertOneLineError(r, /is not a sweep/);
  assertEquals([...Deno.readDirSync(`${dir}/other`)].map((e) => e.name), ["keep.txt"]);
  await Deno.writeTextFile(`${dir}/file`, "x");
  const f = await runCli(["sweep", ...TINY_FLAGS, "--out", `${dir}/file`]);
  assertEquals(f.code, 2, f.stderr);
  assertOk(/is a file/.test(f.stderr), f.stderr);

  const first = await runCli(["sweep", ...TINY_FLAGS, "--seeds", "1", "--out", `${dir}/s`]);
  assertEquals(first.code, 0, first.stderr);
  const before = await Deno.readTextFile(`${dir}/s/sweep.json`);
  const other = await runCli(["sweep", ...TINY_FLAGS, "--seeds", "1-2", "--out", `${dir}/s`]);
  assertEquals(other.code, 2, other.stderr);
  assertOk(/holds a different sweep/.test(other.stderr), other.stderr);
  assertEquals(await Deno.readTextFile(`${dir}/s/sweep.json`), before);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resuming a sweep: a corrupt checkpoint fails the job with the reason, recorded; the next run redoes it", async () => {
  const dir = await Deno.makeTempDir();
  const plan = await planSweep({ base: { ...TINY }, grid: [parseGrid("multi=1,2")] });
  const first = await runSweep(plan, { out: dir, jobs: 1 });
  assertEquals([first.completed, first.failures.length], [2, 0]);
  // job 0 "killed" after a checkpoint that is now damaged; job 1 killed before any checkpoint
  const [bad, bare] = plan.jobs.map((j) => `${dir}/runs/${j.hash}`);
  await Deno.remove(`${bad}/result.json`);
  await Deno.writeFile(`${bad}/checkpoint.bin`, new TextEncoder().encode("SPECKPT1garbage"));
  await Deno.remove(`${bare}/result.json`);

  const second = await runSweep(plan, { out: dir, jobs: 1 });
  assertEquals(second.completed, 1, "the job without a checkpoint starts again from scratch");
  assertEquals(second.failures.map((f) => f.hash), [plan.jobs[0].hash]);
  assertOk(
    /Cannot resume from .*checkpoint\.bin.*Corrupt checkpoint/.test(second.failures[0].error),
    second.failures[0].error,
  );
  const err = JSON.parse(await Deno.readTextFile(`${bad}/error.json`));
  assertEquals(err.error, second.failures[0].error);
  const csv = await Deno.readTextFile(`${dir}/sweep.csv`);
  assertOk(csv.includes(`${plan.jobs[0].hash},failed,`) && csv.includes("Corrupt checkpoint"), csv);

  const third = await runSweep(plan, { out: dir, jobs: 1 });
  assertEquals([third.completed, third.skipped, third.failures.length], [1, 1, 0]);
  assertOk(await exists(`${bad}/result.json`) && !(await exists(`${bad}/error.json`)));

  // a result.json that cannot be read is shown in sweep.csv with the reason, not dropped
  await Deno.writeTextFile(`${bare}/result.json`, "{ not json");
  const fourth = await runSweep(plan, { out: dir, jobs: 1 });
  assertEquals([fourth.skipped, fourth.csvRows], [2, 2]);
  const rows = (await Deno.readTextFile(`${dir}/sweep.csv`)).trim().split("\n");
  const row = rows.find((l) => l.startsWith(plan.jobs[1].hash))!;
  assertOk(/,unreadable,.*result\.json is not valid JSON/.test(row), row);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("two processes on the same shard never run the same job", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/s`;
  const go = () =>
    runCli(["sweep", ...TINY_FLAGS, ...GRID_FLAGS, "--jobs", "1", "--quiet", "--out", out]);
  const [a, b] = await Promise.all([go(), go()]);
  assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
  const counts = await startCounts(out);
  assertEquals(counts.size, 8);
  for (const [hash, n] of counts) assertEquals(n, 1, `job ${hash} started ${n} times`);
  const csv = parseCsv(await Deno.readTextFile(`${out}/sweep.csv`));
  assertEquals(csv.filter((r) => r.status === "completed").length, 8);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkSweepFolder while another shard creates the same sweep folder: never refused", async () => {
  const plan = await planSweep({ base: TINY, grid: [], seeds: [1, 2] });
  const dir = await Deno.makeTempDir();
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    const out = `${dir}/s${i}`;
    let done = false;
    // what runSweep does first: the folder, the manifest (through a temporary file), runs/
    const create = (async () => {
      await Deno.mkdir(out, { recursive: true });
      await writeFileAtomic(`${out}/sweep.json`, JSON.stringify(manifestOf(plan)) + "\n");
      await Deno.mkdir(`${out}/runs`, { recursive: true });
      done = true;
    })();
    const check = (async () => {
      while (!done) await checkSweepFolder(out, plan).catch(() => (refused++, done = true));
    })();
    await Promise.all([create, check]);
  }
  assertEquals(refused, 0);
  await Deno.remove(dir, { recursive: true });
});
