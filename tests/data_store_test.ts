/**
 * Data stored once: content-addressed data files shared by runs and sweep jobs, `--save-data
 * all|once|none` for `train` and `sweep`, resolution by `runDataFiles`, the disk estimates, and the
 * key lists those estimates rely on (checked against real data).
 */
import { assertEquals, assertOk } from "./assert.ts";
import { assertOneLineError, exists, runCli, TINY } from "./run_cli.ts";
import {
  dataKeys,
  decodeNpy,
  estimateDisk,
  estimateRunDisk,
  formatBytes,
  planSweep,
  resolveConfig,
  resumeRun,
  type RunConfig,
  runDataFiles,
  runSweep,
  runToFolder,
  STUDENT_ONLY_KEYS,
  TEACHER_ONLY_KEYS,
  Trainer,
} from "../mod.ts";
import { normalizePath, relativePath, resolvePath } from "../src/data_store.ts";

const SMALL = { d: 6, widths: [3], outputs: 2, multi: 2, nTrain: 200, nEval: 100, iters: 20 };

/** Total bytes of the files under a folder. */
async function du(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    n += e.isDirectory ? await du(p) : (await Deno.stat(p)).size;
  }
  return n;
}

/** Paths (relative to dir) of every file under it, sorted. */
async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await filesUnder(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

Deno.test("path helpers: normalize, relative and resolve are inverse", () => {
  const cases: [string, string, string][] = [
    ["s/runs/abc", "s/data/h1/train_x.npy", "../../data/h1/train_x.npy"],
    ["runs/a", "runs/data/h/eval_y.npy", "../data/h/eval_y.npy"],
    ["/tmp/x/runs/a", "/tmp/x/data/h/x.npy", "../../data/h/x.npy"],
    ["./a/./b/", "a/c", "../c"],
    ["a", "a/b", "b"],
  ];
  for (const [from, to, rel] of cases) {
    assertEquals(relativePath(from, to), rel, `${from} → ${to}`);
    assertEquals(resolvePath(from, rel), normalizePath(to), `${from} + ${rel}`);
  }
  // Mixed absolute and relative, or unshared "..": the target as it is.
  assertEquals(relativePath("/abs/run", "rel/data/x.npy"), "rel/data/x.npy");
  assertEquals(relativePath("../up/run", "data/x.npy"), "data/x.npy");
  assertEquals(normalizePath("a/../../b/./c/"), "../b/c");
  assertEquals(normalizePath("/a/../../b"), "/b");
});

Deno.test("save-data modes: where the data files go, and the bytes are the same everywhere", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = resolveConfig({ settings: { ...SMALL, epochs: 1 } });
    const layouts: Record<string, string[]> = {};
    const bytes: Record<string, Record<string, Uint8Array>> = {};
    for (const mode of ["all", "once", "none"] as const) {
      const out = `${dir}/${mode}/run`;
      await runToFolder(config, { out, saveData: mode });
      layouts[mode] = (await filesUnder(`${dir}/${mode}`)).filter((f) => /_[xy]\.npy$/.test(f));
      const meta = JSON.parse(await Deno.readTextFile(`${out}/config.json`)).meta;
      assertEquals(meta.data.save, mode);
      const found = await runDataFiles(out);
      assertEquals(found.save, mode);
      bytes[mode] = {};
      for (const [name, path] of Object.entries(found.files)) {
        if (path) bytes[mode][name] = await Deno.readFile(path);
      }
    }
    assertEquals(layouts.all, [
      "run/eval_x.npy",
      "run/eval_y.npy",
      "run/train_x.npy",
      "run/train_y.npy",
    ]);
    assertEquals(layouts.once.length, 4);
    assertOk(
      layouts.once.every((f) => /^data\/[0-9a-f]{12}\/(train|eval)_[xy]\.npy$/.test(f)),
      String(layouts.once),
    );
    assertEquals(layouts.none, []);
    assertEquals(bytes.once, bytes.all);
    assertEquals(bytes.none, {});
    // The decoded inputs are the trainer's.
    const x = decodeNpy(bytes.once.train_x);
    assertEquals(x.shape, [200, 6]);
    const t = new Trainer(config);
    assertEquals(Array.from(x.data), Array.from(t.kernels.view(t.train!.x)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run restarted from scratch by resume keeps its save-data mode and store", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = resolveConfig({ settings: { ...SMALL, epochs: 1 } });
    const out = `${dir}/runs/a`;
    await runToFolder(config, { out, saveData: "once", dataStore: `${dir}/store` });
    const before = await runDataFiles(out);
    // Killed before its first checkpoint: no result.json, no checkpoint.
    await Deno.remove(`${out}/result.json`);
    await Deno.remove(`${dir}/store`, { recursive: true });
    const { resumedAt } = await resumeRun(out);
    assertEquals(resumedAt, 0);
    assertEquals(await runDataFiles(out), before);
    assertOk(!(await exists(`${out}/train_x.npy`)));
    assertOk(before.files.train_x!.startsWith(`${dir}/store/`), before.files.train_x!);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the key lists: student-only keys keep every data file, teacher-only keys keep the inputs", () => {
  const base = { ...SMALL, nTrain: 40, nEval: 30, d: 5, widths: [4], seed: 3 };
  const changed: Record<string, unknown> = {
    multi: 3,
    batch: 4,
    lr: 0.02,
    epochs: 7,
    iters: 9,
    sampling: "shuffle",
    init: "uniform",
    initStd: 0.1,
    momentum: 0.5,
    weightDecay: 0.001,
    evalEvery: 2,
    saveCorrAt: [1],
    nTrainEval: 20,
    nGradEval: 10,
    loss: "cross-entropy",
    optimizer: "adam",
    adamBeta1: 0.8,
    adamBeta2: 0.99,
    adamEps: 1e-6,
    perturbStd: 0.1,
    freezeTop: true,
    teacherSlope: 0.1,
    labelNoise: 0.1,
    widths: [5],
    outputs: 3,
    p: 1.5,
    teacherBias: 0.2,
    biasTuning: true,
    standardize: true,
    slope: 0.1,
  };
  for (const k of [...STUDENT_ONLY_KEYS, ...TEACHER_ONLY_KEYS]) {
    assertOk(k in changed, `no test value for ${k}`);
  }
  const data = (c: RunConfig) => {
    const t = new Trainer(c), k = t.kernels;
    const v = (m: Parameters<typeof k.view>[0]) => Array.from(k.view(m));
    return { x: [v(t.train!.x), v(t.eval.x)], y: [v(t.train!.y), v(t.eval.y)] };
  };
  const c0 = resolveConfig({ settings: base });
  const d0 = data(c0);
  for (const [key, value] of Object.entries(changed)) {
    const c = resolveConfig({ settings: { ...base, [key]: value } });
    const d = data(c);
    const student = (STUDENT_ONLY_KEYS as string[]).includes(key);
    assertEquals(d.x, d0.x, `${key} changed the inputs`);
    assertEquals(dataKeys(c).x, dataKeys(c0).x, `${key} changes the estimate's input key`);
    if (student) {
      assertEquals(d.y, d0.y, `${key} changed the labels`);
      assertEquals(dataKeys(c).y, dataKeys(c0).y);
    } else assertOk(dataKeys(c).y !== dataKeys(c0).y, key);
  }
  // Data settings and the seed change the inputs, and the keys say so.
  for (const [key, value] of Object.entries({ seed: 4, dataStd: 2, nEval: 31, precision: "f32" })) {
    const c = resolveConfig({ settings: { ...base, [key]: value } });
    assertOk(JSON.stringify(data(c).x) !== JSON.stringify(d0.x), `${key} kept the inputs`);
    assertOk(dataKeys(c).x !== dataKeys(c0).x, key);
  }
});

Deno.test("estimateRunDisk is within 20 % of real run folders (two-layer, deeper, fresh)", async () => {
  const cases = [
    { ...SMALL, d: 40, widths: [10], outputs: 20, multi: 5, epochs: 3, saveCorrAt: [1, 2] },
    { ...SMALL, d: 10, widths: [4, 5, 6], outputs: 8, multi: 3, epochs: 2, batch: 8 },
    { ...SMALL, nTrain: 0, epochs: 4, evalEvery: 2 },
  ];
  const dir = await Deno.makeTempDir();
  try {
    for (const [i, s] of cases.entries()) {
      const config = resolveConfig({ settings: s });
      await runToFolder(config, { out: `${dir}/${i}` });
      let run = 0, data = 0;
      for await (const e of Deno.readDir(`${dir}/${i}`)) {
        const size = (await Deno.stat(`${dir}/${i}/${e.name}`)).size;
        if (/_[xy]\.npy$/.test(e.name)) data += size;
        else run += size;
      }
      const est = estimateRunDisk(config);
      assertEquals(est.dataBytes, data, `case ${i}: data`);
      assertOk(Math.abs(est.runBytes / run - 1) < 0.2, `case ${i}: ${est.runBytes} vs ${run}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sweep stores each distinct data file once, and its estimate matches the folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plan = await planSweep({
      base: { ...SMALL, outputs: 4, epochs: 1 },
      grid: [{ key: "multi", values: ["1", "3"] }, { key: "p", values: ["0", "1"] }],
      seeds: [1, 2],
    });
    const out = `${dir}/sweep`;
    const summary = await runSweep(plan, { out, jobs: 2 });
    assertEquals(summary.failures, []);
    // Inputs per seed (2 × train_x, eval_x), labels per seed and p (4 × train_y, eval_y).
    const stored = await filesUnder(`${out}/data`);
    assertEquals(stored.length, 2 * 2 + 4 * 2, stored.join(" "));
    const seen = new Set<string>();
    for (const job of plan.jobs) {
      const found = await runDataFiles(`${out}/runs/${job.hash}`);
      assertEquals(found.save, "once");
      for (const p of Object.values(found.files)) {
        assertOk(p && p.startsWith(`${out}/data/`), String(p));
        seen.add(p!);
      }
      assertOk(!(await exists(`${out}/runs/${job.hash}/train_x.npy`)));
    }
    assertEquals(seen.size, stored.length);
    const est = estimateDisk(plan.jobs.map((j) => j.config), "once");
    assertEquals(est.dataSets, 4);
    const real = await du(out);
    assertOk(Math.abs(est.bytes / real - 1) < 0.25, `estimate ${est.bytes} vs ${real}`);
    // The same sweep with every job keeping its own copy is bigger by the repeated data.
    const all = estimateDisk(plan.jobs.map((j) => j.config), "all");
    assertOk(all.dataBytes > 2 * est.dataBytes, `${all.dataBytes} vs ${est.dataBytes}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --save-data for train and sweep; the sweep prints its estimates first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tiny = [...TINY, "--epochs", "1", "--iters", "20", "--quiet"];
    for (const mode of ["all", "once", "none"]) {
      const r = await runCli(["train", ...tiny, "--save-data", mode, "--out", `${dir}/${mode}/a`]);
      assertEquals(r.code, 0, r.stderr);
      const own = await exists(`${dir}/${mode}/a/train_x.npy`);
      const shared = await exists(`${dir}/${mode}/data`);
      assertEquals([own, shared], [mode === "all", mode === "once"], mode);
    }
    const sweep = ["sweep", ...tiny, "--grid", "multi=1,2", "--seeds", "1-2", "--jobs", "1"];
    for (const mode of ["once", "all"]) {
      const r = await runCli([...sweep, "--save-data", mode, "--out", `${dir}/s-${mode}`]);
      assertEquals(r.code, 0, r.stderr);
      const first = r.stdout.split("\n")[0];
      assertOk(
        /^sweep plan: 4 jobs, 4 to run here; disk ≈ [\d.]+ [kM]B when finished \(.*\); time ≈ \S+ with 1 worker \(estimates\)$/
          .test(first),
        first,
      );
      assertOk(
        first.includes(mode === "once" ? "2 data sets stored once" : "every job folder"),
        first,
      );
      assertEquals(await exists(`${dir}/s-${mode}/data`), mode === "once");
    }
    assertOk((await du(`${dir}/s-once`)) < (await du(`${dir}/s-all`)));
    const rerun = await runCli([...sweep, "--out", `${dir}/s-once`]);
    assertOk(rerun.stdout.startsWith("sweep plan: 4 jobs, 0 to run here;"), rerun.stdout);
    assertOk(rerun.stdout.split("\n")[0].endsWith("time nothing to run (estimates)"), rerun.stdout);
    // Bad values: one line, exit 2, nothing written.
    for (const cmd of [["train", ...tiny], sweep]) {
      const out = `${dir}/bad-${cmd[0]}`;
      const r = await runCli([...cmd, "--save-data", "twice", "--out", out]);
      assertOneLineError(r, /Invalid --save-data "twice": expected all, once, none/);
      assertOk(!(await exists(out)));
    }
    const resumed = await runCli(["train", "--resume", `${dir}/all/a`, "--save-data", "none"]);
    assertOneLineError(resumed, /--save-data with --resume/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatBytes: decimal units, two significant digits below 100", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [999, "999 B"],
    [1000, "1.0 kB"],
    [95_400_000, "95 MB"],
    [120_000_000, "120 MB"],
    [7_900_000_000, "7.9 GB"],
  ];
  for (const [n, text] of cases) assertEquals(formatBytes(n), text, String(n));
});
