/**
 * Checkpoints and resume: a run killed with SIGKILL at several moments and resumed each time ends
 * with a folder identical to an uninterrupted run's (result.json apart from its `timing`).
 */
import { decodeCheckpoint, encodeCheckpoint } from "../src/checkpoint.ts";
import { resolveConfig } from "../src/config.ts";
import { Rng } from "../src/rng.ts";
import { Trainer } from "../src/train.ts";
import { assertEquals, assertOk, assertRejects } from "./assert.ts";
import { assertOneLineError, exists, runCli } from "./run_cli.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const ARGS = [
  ...["--d", "50", "--widths", "10", "--outputs", "20", "--multi", "5", "--n-train", "3000"],
  ...["--n-eval", "1000", "--epochs", "20", "--iters", "2500", "--save-corr-at", "5"],
];

async function folderFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    let bytes = await Deno.readFile(`${dir}/${e.name}`);
    if (e.name === "result.json") {
      const r = JSON.parse(new TextDecoder().decode(bytes));
      delete r.timing;
      bytes = new TextEncoder().encode(JSON.stringify(r));
    }
    files.set(e.name, bytes);
  }
  return files;
}

/** Rows (evaluations) written to a run's metrics.csv so far. */
async function evaluationsWritten(dir: string): Promise<number> {
  try {
    return (await Deno.readTextFile(`${dir}/metrics.csv`)).trim().split("\n").length - 1;
  } catch {
    return 0;
  }
}

/**
 * Starts the CLI and kills it with SIGKILL at a random moment after the run folder shows
 * `evaluations` evaluations (so every kill lands after some progress, wherever in an epoch or a
 * file write it falls). Returns whether the process ended by itself.
 */
async function killDuring(
  args: string[],
  dir: string,
  evaluations: number,
  rng: Rng,
): Promise<boolean> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-write", CLI, ...args],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let ended = false;
  const status = child.status.then((s) => (ended = true, s));
  while (!ended && await evaluationsWritten(dir) < evaluations) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, rng.int(60)));
  if (!ended) {
    try {
      child.kill("SIGKILL");
    } catch { /* ended meanwhile */ }
  }
  return (await status).success;
}

for (
  const extra of [
    [],
    ["--sampling", "shuffle", "--momentum", "0.5", "--precision", "f32"],
    ["--n-train", "0"],
    ["--eval-at", "log:12", "--optimizer", "adam", "--loss", "cross-entropy"],
  ]
) {
  Deno.test(`a run killed with SIGKILL and resumed ends identical to an uninterrupted one ${extra.join(" ")}`, async () => {
    const dir = await Deno.makeTempDir();
    const args = [...ARGS, ...extra];
    const whole = await runCli(["train", ...args, "--out", `${dir}/whole`]);
    assertEquals(whole.code, 0, whole.stderr);
    const rng = new Rng(2024, extra.length);
    const cut = `${dir}/cut`;
    let kills = 0, done = false;
    for (const at of [2, 6, 11, 15]) {
      const argv = kills === 0 ? ["train", ...args, "--out", cut] : ["train", "--resume", cut];
      done = await killDuring(argv, cut, at + rng.int(3), rng);
      if (done) break;
      kills++;
    }
    if (!done) {
      const last = await runCli(["train", "--resume", cut]);
      assertEquals(last.code, 0, last.stderr);
    }
    assertOk(kills >= 3, `the run was killed ${kills} times (the test wants at least 3)`);
    const a = await folderFiles(`${dir}/whole`), b = await folderFiles(`${dir}/cut`);
    assertEquals([...b.keys()].sort(), [...a.keys()].sort());
    for (const [name, bytes] of a) {
      assertEquals(b.get(name), bytes, `${name} differs after ${kills} kills`);
    }
    const result = JSON.parse(await Deno.readTextFile(`${dir}/cut/result.json`));
    assertOk(result.timing.resumes >= 1, "result.json counts the resumes");
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("resuming a finished run changes nothing; a corrupt checkpoint is refused", async () => {
  const dir = await Deno.makeTempDir();
  const args = [...ARGS.slice(0, -6), "--epochs", "2", "--iters", "50", "--n-eval", "100"];
  assertEquals((await runCli(["train", ...args, "--out", `${dir}/r`])).code, 0);
  const before = await Deno.readFile(`${dir}/r/result.json`);
  const again = await runCli(["train", "--resume", `${dir}/r`]);
  assertEquals(again.code, 0, again.stderr);
  assertOk(again.stdout.includes("already complete"), again.stdout);
  assertOk(!again.stdout.includes("wrote"), `claims to have written: ${again.stdout}`);
  assertEquals(await Deno.readFile(`${dir}/r/result.json`), before);

  // A run whose result.json is gone and whose checkpoint is damaged: exit 1, one line, untouched.
  await Deno.remove(`${dir}/r/result.json`);
  await Deno.writeFile(`${dir}/r/checkpoint.bin`, new TextEncoder().encode("SPECKPT1garbage"));
  const bad = await runCli(["train", "--resume", `${dir}/r`]);
  assertOneLineError(bad, /^error: Corrupt checkpoint .*checkpoint\.bin/, 1);
  assertEquals(await exists(`${dir}/r/result.json`), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint files detect truncation, edits and wrong magic", async () => {
  const blobs = [new Uint8Array([1, 2, 3]), new Uint8Array(new Float64Array([0.5, -2]).buffer)];
  const bytes = await encodeCheckpoint({ state: { epoch: 3, x: [1, null] }, blobs });
  const back = await decodeCheckpoint<unknown>(bytes, "c");
  assertEquals(back.state, { epoch: 3, x: [1, null] });
  assertEquals(back.blobs, blobs);
  await assertRejects(
    () => decodeCheckpoint(bytes.subarray(0, bytes.length - 1), "c"),
    Error,
    /truncated/,
  );
  const edited = bytes.slice();
  edited[edited.length - 1] ^= 1;
  await assertRejects(() => decodeCheckpoint(edited, "c"), Error, /checksum/);
  await assertRejects(() => decodeCheckpoint(new Uint8Array(20), "c"), Error, /magic/);
});

Deno.test("a trainer restored from a snapshot continues bit for bit", () => {
  const cfg = resolveConfig({
    settings: {
      d: 9,
      widths: [3],
      outputs: 2,
      nTrain: 300,
      nEval: 100,
      iters: 100,
      sampling: "shuffle",
      momentum: 0.9,
      lr: 0.001,
    },
  });
  const a = new Trainer(cfg);
  a.trainEpoch();
  const snap = a.snapshot();
  a.trainEpoch();
  const b = new Trainer(cfg);
  b.restore(snap);
  b.trainEpoch();
  assertEquals(b.snapshot(), a.snapshot());
});

Deno.test("a diverging run ends with status diverged, not a crash", async () => {
  const dir = await Deno.makeTempDir();
  const r = await runCli([
    "train",
    ...["--d", "10", "--widths", "4", "--outputs", "3", "--n-train", "200", "--n-eval", "100"],
    ...["--epochs", "5", "--iters", "200", "--lr", "50", "--out", `${dir}/r`],
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertOk(r.stdout.includes("DIVERGED"), r.stdout);
  const result = JSON.parse(await Deno.readTextFile(`${dir}/r/result.json`));
  assertEquals(result.status, "diverged");
  assertOk(
    result.divergence.epoch >= 1 && result.divergence.quantity,
    JSON.stringify(result.divergence),
  );
  assertEquals(await exists(`${dir}/r/checkpoint.bin`), false);
  // the diverged epoch's training counts in the timing, and the summary says which evaluation
  // its "final" MSE is
  assertOk(result.timing.trainSeconds > 0, JSON.stringify(result.timing));
  assertOk(
    r.stdout.includes(`the last finite evaluation, epoch ${result.final.epoch}`),
    r.stdout,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a sweep killed mid-way and started again loses no job and redoes no finished one", async () => {
  const dir = await Deno.makeTempDir();
  const sweep = [
    "sweep",
    ...["--grid", "multi=2,5", "--seeds", "1-2", "--jobs", "2", "--quiet"],
    ...ARGS.slice(0, -6),
    ...["--epochs", "12", "--iters", "2500"],
  ];
  const whole = await runCli([...sweep, "--out", `${dir}/whole`]);
  assertEquals(whole.code, 0, whole.stderr);
  // Kill the second sweep once some job has a checkpoint and none has finished everything.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-write", CLI, ...sweep, "--out", `${dir}/cut`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const hasCheckpoint = async () => {
    try {
      for await (const run of Deno.readDir(`${dir}/cut/runs`)) {
        if (await exists(`${dir}/cut/runs/${run.name}/checkpoint.bin`)) return true;
      }
    } catch { /* not yet created */ }
    return false;
  };
  while (!(await hasCheckpoint())) await new Promise((r) => setTimeout(r, 5));
  child.kill("SIGKILL");
  await child.status;
  const finishedBefore = new Map<string, Uint8Array>();
  for await (const run of Deno.readDir(`${dir}/cut/runs`)) {
    const f = `${dir}/cut/runs/${run.name}/result.json`;
    if (await exists(f)) finishedBefore.set(run.name, await Deno.readFile(f));
  }
  const again = await runCli([...sweep, "--out", `${dir}/cut`]);
  assertEquals(again.code, 0, again.stderr);
  for (const [name, bytes] of finishedBefore) {
    assertEquals(
      await Deno.readFile(`${dir}/cut/runs/${name}/result.json`),
      bytes,
      `${name} redone`,
    );
  }
  const names = [];
  for await (const run of Deno.readDir(`${dir}/whole/runs`)) names.push(run.name);
  assertEquals(names.length, 4);
  let resumed = 0;
  for (const name of names) {
    const a = await folderFiles(`${dir}/whole/runs/${name}`);
    const b = await folderFiles(`${dir}/cut/runs/${name}`);
    assertEquals([...b.keys()].sort(), [...a.keys()].sort(), name);
    for (const [f, bytes] of a) {
      if (f !== "log.jsonl") assertEquals(b.get(f), bytes, `${name}/${f}`);
    }
    const r = JSON.parse(await Deno.readTextFile(`${dir}/cut/runs/${name}/result.json`));
    resumed += r.timing.resumes;
  }
  assertOk(resumed >= 1, "the interrupted job continued from its checkpoint");
  await Deno.remove(dir, { recursive: true });
});
