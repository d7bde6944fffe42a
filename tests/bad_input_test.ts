/**
 * The bad-input corpus: every entry is an invalid command line (flags, config files, paths, run
 * and sweep folders, checkpoints, .npy files). Each must end with one line on stderr naming the
 * problem, exit code 2 for usage errors and 1 for runtime errors, no stack trace, and the
 * working folder unchanged (nothing created, overwritten or half-written).
 */
import { decodeCheckpoint, encodeCheckpoint } from "../src/checkpoint.ts";
import { resolveConfig } from "../src/config.ts";
import { encodeNpy } from "../src/npy.ts";
import { runToFolder } from "../src/run.ts";
import { Trainer } from "../src/train.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { exists, runCli } from "./run_cli.ts";

const TINY = ["--d", "5", "--widths", "3", "--outputs", "2", "--n-train", "100", "--n-eval", "50"];
const QUICK = [...TINY, "--epochs", "2", "--iters", "10"];

/**
 * A case: the arguments (`$W` is the working folder), the exit code, what the line must say, and
 * environment variables (then granted with --allow-env).
 */
type Case = [args: string[], code: 1 | 2, pattern: RegExp, env?: Record<string, string>];

const SLURM = {
  SLURM_ARRAY_TASK_ID: "3",
  SLURM_ARRAY_TASK_MIN: "1",
  SLURM_ARRAY_TASK_STEP: "2",
  SLURM_ARRAY_TASK_COUNT: "4",
};

const CASES: Case[] = [
  // run options
  [["train", "--population", "--widths", "3,4"], 2, /Invalid --population true: .*two-layer/],
  [["train", "--population", "--slope", "0.1"], 2, /Invalid --population true: .*ReLU/],
  [["train", "--population", "--data", "teacher-aware"], 2, /Invalid --population true: .*Gauss/],
  [["train", "--flow"], 2, /Invalid --flow true: .*--population/],
  [["train", "--polish", "--n-train", "0"], 2, /Invalid --polish true: .*fixed training set/],
  [["train", "--polish-tol", "0"], 2, /Invalid --polish-tol "0": expected a number > 0/],
  [["train", "--polish-steps", "0"], 2, /Invalid --polish-steps "0"/],
  [["train", "--population", "--loss", "cross-entropy"], 2, /Invalid --population true: .*squared/],
  [["train", "--population", "--flow", "--optimizer", "adam"], 2, /Invalid --flow true: .*adam/],
  [["train", "--population", "--flow", "--momentum", "0.9"], 2, /Invalid --flow true: .*momentum/],
  [["train", "--d", "0"], 2, /Invalid --d "0": expected an integer ≥ 1/],
  [["train", "--d", "x"], 2, /Invalid --d "x"/],
  [["train", "--d", "2.5"], 2, /Invalid --d "2.5"/],
  [["train", "--widths", ""], 2, /Invalid --widths ""/],
  [["train", "--widths", "3,0"], 2, /Invalid --widths "3,0"/],
  [["train", "--widths", "3;4"], 2, /Invalid --widths/],
  [["train", "--multi", "0"], 2, /Invalid --multi "0"/],
  [["train", "--outputs", "1e400"], 2, /Invalid --outputs/],
  [["train", "--p", "-1"], 2, /Invalid --p "-1": expected a number ≥ 0/],
  [["train", "--data-std", "0"], 2, /Invalid --data-std "0": expected a number > 0/],
  [["train", "--n-train", "-5"], 2, /Invalid --n-train "-5"/],
  [["train", "--n-eval", "0"], 2, /Invalid --n-eval "0"/],
  [["train", "--n-train-eval", "0"], 2, /Invalid --n-train-eval "0": expected an integer ≥ 1/],
  [["train", "--fma", "--threads", "2"], 2, /Invalid --threads 2: --fma runs on one thread/],
  [["train", "--n-train-eval", "1.5"], 2, /Invalid --n-train-eval "1.5"/],
  [["train", "--n-grad-eval", "-1"], 2, /Invalid --n-grad-eval "-1": expected an integer ≥ 0/],
  [["train", "--n-grad-eval", "half"], 2, /Invalid --n-grad-eval "half"/],
  [["train", "--batch", "0"], 2, /Invalid --batch "0"/],
  [["train", "--lr", "0"], 2, /Invalid --lr "0"/],
  [["train", "--lr", "NaN"], 2, /Invalid --lr "NaN"/],
  [["train", "--lr", "0:0.1,zz"], 2, /Invalid --lr "0:0.1,zz"/],
  [["train", "--lr", "5:0.1"], 2, /Invalid --lr "5:0.1"/],
  [["train", "--lr", "0:0.1,0:0.2"], 2, /Invalid --lr/],
  [["train", "--lr", "0:0.1,150:0.01"], 2, /schedule epoch 150 is outside the run/],
  [["train", "--epochs", "0"], 2, /Invalid --epochs "0"/],
  [["train", "--iters", "-1"], 2, /Invalid --iters/],
  [["train", "--seed", "4294967296"], 2, /Invalid --seed "4294967296"/],
  [["train", "--precision", "f16"], 2, /Invalid --precision "f16": expected one of f32, f64/],
  [["train", "--sampling", "random"], 2, /Invalid --sampling "random"/],
  [["train", "--init", "zeros"], 2, /Invalid --init "zeros"/],
  [["train", "--slope", "1"], 2, /Invalid --slope "1": expected a number ≥ 0 and < 1/],
  [["train", "--momentum", "1.5"], 2, /Invalid --momentum "1.5"/],
  [["train", "--weight-decay", "-0.1"], 2, /Invalid --weight-decay/],
  [["train", "--label-noise", "-1"], 2, /Invalid --label-noise "-1": expected a number ≥ 0/],
  [
    ["train", "--label-noise", "0.1", "--n-train", "0"],
    2,
    /Invalid --label-noise 0.1: needs a fixed training set/,
  ],
  [
    ["train", "--teacher-slope", "1"],
    2,
    /Invalid --teacher-slope "1": expected a number ≥ 0 and < 1/,
  ],
  [["train", "--perturb-std", "-0.5"], 2, /Invalid --perturb-std "-0.5"/],
  [
    ["train", "--init", "copy"],
    2,
    /Invalid --init "copy": expected one of gaussian, uniform, perturb/,
  ],
  [["train", "--eval-at", "log:1"], 2, /Invalid --eval-at "log:1": expected log:K/],
  [["train", "--eval-at", "5,x"], 2, /Invalid --eval-at "5,x"/],
  [["train", "--eval-at", "1000000"], 2, /Invalid --eval-at 1000000: steps of this run are 0 to/],
  [["train", "--loss", "hinge"], 2, /Invalid --loss "hinge": expected one of mse, cross-entropy/],
  [["train", "--optimizer", "rmsprop"], 2, /Invalid --optimizer "rmsprop": expected one of sgd/],
  [["train", "--adam-beta1", "1"], 2, /Invalid --adam-beta1 "1": expected a number ≥ 0 and < 1/],
  [["train", "--adam-beta2", "-0.1"], 2, /Invalid --adam-beta2 "-0.1"/],
  [["train", "--adam-eps", "0"], 2, /Invalid --adam-eps "0": expected a number > 0/],
  [
    ["train", "--optimizer", "adam", "--momentum", "0.9"],
    2,
    /Invalid --momentum 0.9: momentum applies to --optimizer sgd only/,
  ],
  [["train", "--eval-every", "0"], 2, /Invalid --eval-every "0"/],
  [["train", "--save-corr-at", "x"], 2, /Invalid --save-corr-at "x"/],
  [["train", "--save-corr-at", "101"], 2, /--save-corr-at 101: epochs of this run are 0/],
  [["train", "--d", "1", "--widths", "9"], 2, /at most 8 distinct grid rows/],
  [
    ["train", "--sampling", "shuffle", "--n-train", "0"],
    2,
    /--sampling shuffle: needs a fixed training set/,
  ],
  [["train", "--n-train", "100000000", "--d", "1000"], 2, /GiB of WASM memory; at most 3\.50 GiB/],
  [["train", "--widths", "100000", "--multi", "100"], 2, /GiB of WASM memory/],
  // integers: safe and within the documented range; memory an upper bound, checked up front
  [
    ["train", "--iters", "1e99"],
    2,
    /Invalid --iters "1e99": expected an integer ≥ 1 and ≤ 1000000000/,
  ],
  [["train", "--iters", "1e15"], 2, /Invalid --iters "1e15"/],
  [
    ["train", "--epochs", "1e12"],
    2,
    /Invalid --epochs "1e12": expected an integer ≥ 1 and ≤ 1000000/,
  ],
  [["train", "--n-eval", "9007199254740993"], 2, /Invalid --n-eval "9007199254740993"/],
  [["train", "--multi", "100000"], 2, /Invalid --multi "100000"/],
  [["train", "--widths", "20,10000000"], 2, /Invalid --widths "20,10000000"/],
  [["train", "--save-corr-at", "1e20"], 2, /Invalid --save-corr-at "1e20"/],
  [["train", "--eval-every", "1e7"], 2, /Invalid --eval-every "1e7"/],
  [["train", "--batch", "12000000"], 2, /--batch|GiB of WASM memory/],
  [["train", "--batch", "1000000", "--d", "1000"], 2, /GiB of WASM memory/],
  [["train", "--config", "$W/huge_epochs.json"], 2, /huge_epochs\.json: Invalid --epochs 1e\+99/],
  // unknown flags: the flag and the nearest known one, never the parser's raw text
  [["train", "--bogus", "1"], 2, /^error: Unknown option --bogus \(see --help\)$/],
  [["train", "--epoch", "3"], 2, /Unknown option --epoch; did you mean --epochs\?/],
  [["train", "--widht", "5"], 2, /Unknown option --widht; did you mean --widths\?/],
  [
    ["train", "--no-standardise"],
    2,
    /Unknown option --no-standardise; did you mean --no-standardize\?/,
  ],
  [["train", "--n_train=5"], 2, /Unknown option --n_train; did you mean --n-train\?/],
  [["sweep", "--grids", "p=1"], 2, /Unknown option --grids; did you mean --grid\?/],
  [["sweep", "--shards", "0/2"], 2, /Unknown option --shards; did you mean --shard\?/],
  [["report", "$W/run", "--outt", "x"], 2, /Unknown option --outt; did you mean --out\?/],
  // a list-valued option as an axis needs ";" between values
  [["sweep", ...QUICK, "--grid", "widths=10,20"], 2, /--grid "widths=10;20".*run option/],
  [["sweep", ...QUICK, "--grid", "save-corr-at=1,2"], 2, /--grid "save-corr-at=1;2"/],
  [["sweep", ...QUICK, "--grid", "lr=0:0.2,1:0.1"], 2, /values of lr are separated by ";"/],
  [["sweep", ...QUICK, "--config", "$W/missing.json"], 2, /Invalid --config .*missing\.json/],
  [["sweep", ...QUICK, "--shard", "0/2", "--force"], 2, /Invalid --force with shard 0\/2/],
  [["train", "--d"], 2, /^error: Missing value for --d \(see --help\)$/],
  // a value left out: the next flag is not taken as the value
  [["train", "--lr", "--epochs", "3"], 2, /^error: Missing value for --lr \(see --help\)$/],
  [["sweep", "--grid", "--seeds", "1"], 2, /^error: Missing value for --grid \(see --help\)$/],
  [["report", "$W/run", "--out"], 2, /^error: Missing value for --out \(see --help\)$/],
  // short options: -h is --help, nothing else
  [["train", "-x"], 2, /^error: Unknown option -x: options are long, e\.g\. --help$/],
  [["sweep", "-n", "3"], 2, /^error: Unknown option -n: options are long/],
  [["report", "$W/run", "-o", "x"], 2, /^error: Unknown option -o: options are long/],
  [["train", "--d", "100000", "--multi", "10000"], 2, /GiB of WASM memory.*--multi/],
  [["train", "stray"], 2, /Unexpected argument "stray"/],
  [["trian"], 2, /Unknown command "trian"; did you mean train\?/],
  [["sweeep", "--epochs", "2"], 2, /Unknown command "sweeep"; did you mean sweep\?/],
  [["reprot", "$W/run"], 2, /Unknown command "reprot"; did you mean report\?/],
  [["report", "$W/run", "--hepl"], 2, /Unknown option --hepl; did you mean --help\?/],
  [["sweep", "--epoch", "2"], 2, /Unknown option --epoch; did you mean --epochs\?/],
  [["sweep", "--forse"], 2, /Unknown option --forse; did you mean --force\?/],
  // sweep --config: the file named, like train's
  [["sweep", ...QUICK, "--config", ""], 2, /Invalid --config "": expected a path/],
  [["sweep", ...QUICK, "--config", "$W/malformed.json"], 2, /malformed\.json.*not valid JSON/],
  [["sweep", ...QUICK, "--config", "$W/array.json"], 2, /array\.json.*JSON object/],
  [["sweep", "--config", "$W/unknown_key.json"], 2, /unknown_key\.json.*depth/],
  [["sweep", "--config", "$W/huge_epochs.json"], 2, /huge_epochs\.json.*Invalid --epochs 1e\+99/],
  // Slurm array environments that are partial or malformed
  [["sweep", ...QUICK], 2, /partial: .*SLURM_ARRAY_TASK_COUNT/, { SLURM_ARRAY_TASK_ID: "3" }],
  [["sweep", ...QUICK], 2, /Invalid SLURM_ARRAY_TASK_STEP ""/, {
    ...SLURM,
    SLURM_ARRAY_TASK_STEP: "",
  }],
  [["sweep", ...QUICK], 2, /Invalid SLURM_ARRAY_TASK_COUNT "4x"/, {
    ...SLURM,
    SLURM_ARRAY_TASK_COUNT: "4x",
  }],
  [["sweep", ...QUICK], 2, /not one of min \+ k·step/, { ...SLURM, SLURM_ARRAY_TASK_ID: "4" }],
  // paths
  [["train", ...QUICK, "--out", "$W/a_file"], 2, /Invalid --out .*a_file.*it is a file/],
  [["train", ...QUICK, "--out", "$W/full"], 2, /already exists and is not empty.*--force/],
  [["train", "--config", "$W/missing.json"], 2, /Invalid --config .*missing\.json.*cannot read it/],
  [["train", "--config", "$W/full"], 2, /Invalid --config .*full.*cannot read it/],
  [["train", ...QUICK, "--out", "$W/interrupted"], 2, /holds an interrupted run.*--resume/],
  // empty paths and the filesystem root, refused before anything is touched
  [["train", ...QUICK, "--out", ""], 2, /Invalid --out "": expected a path/],
  [["train", "--resume", ""], 2, /Invalid --resume "": expected a path/],
  [["train", "--config", ""], 2, /Invalid --config "": expected a path/],
  [["train", "--config", " "], 2, /Invalid --config " ": expected a path/],
  [["sweep", ...QUICK, "--out", ""], 2, /Invalid --out "": expected a path/],
  [["report", ""], 2, /Invalid DIR "": expected a path/],
  [["report", "$W/run", "--out", ""], 2, /Invalid --out "": expected a path/],
  [["train", ...QUICK, "--out", "/", "--force"], 2, /Invalid --out "\/": the filesystem root/],
  [["train", ...QUICK, "--out", "/tmp/../", "--force"], 2, /the filesystem root/],
  [["train", "--resume", "//"], 2, /Invalid --resume "\/\/": the filesystem root/],
  [["sweep", ...QUICK, "--out", "/."], 2, /the filesystem root/],
  [["report", "/"], 2, /Invalid DIR "\/": the filesystem root/],
  // config files
  [["train", "--config", "$W/malformed.json"], 2, /malformed\.json.*not valid JSON/],
  [["train", "--config", "$W/array.json"], 2, /array\.json.*expected a JSON object/],
  [["train", "--config", "$W/wrong_type.json"], 2, /wrong_type\.json: Invalid --d "many"/],
  [["train", "--config", "$W/wrong_list.json"], 2, /wrong_list\.json: Invalid --widths \{"a":1\}/],
  [["train", "--config", "$W/unknown_key.json"], 2, /unknown_key\.json: Unknown setting "depth"/],
  [["train", "--config", "$W/bad_lr.json"], 2, /bad_lr\.json: Invalid --lr/],
  // resume
  [["train", "--resume", "$W/nowhere"], 2, /Invalid --resume .*nowhere.*not a run folder/],
  [["train", "--resume", "$W/full"], 2, /Invalid --resume .*full.*not a run folder/],
  [["train", "--resume", "$W/run", "--epochs", "5"], 2, /Invalid --epochs with --resume/],
  [["train", "--resume", "$W/corrupt_ckpt"], 1, /Corrupt checkpoint .*checksum mismatch/],
  [["train", "--resume", "$W/truncated_ckpt"], 1, /Corrupt checkpoint .*truncated/],
  [["train", "--resume", "$W/foreign_ckpt"], 1, /Corrupt checkpoint .*bad magic/],
  // resume integrity: the folder must still be what the checkpoint was made from
  [["train", "--resume", "$W/edited_seed"], 1, /edited after the run started \(seed 1 → 2\)/],
  [["train", "--resume", "$W/edited_lr_p"], 1, /\(lr \[\[0,0\.01\]\] → \[\[0,0\.5\]\], p 1 → 2\)/],
  [["train", "--resume", "$W/changed_data"], 1, /Cannot resume .*train_x\.npy changed/],
  [["train", "--resume", "$W/missing_data"], 1, /Cannot resume .*eval_y\.npy is missing/],
  [["train", "--resume", "$W/other_tool"], 1, /another build of the tool \(version 0\.0\.1/],
  [["train", "--resume", "$W/no_origin"], 1, /Cannot resume .*no origin recorded/],
  // sweeps
  [["sweep", ...QUICK, "--grid", "multi"], 2, /--grid "multi"/],
  [["sweep", ...QUICK, "--grid", "multi="], 2, /--grid "multi="/],
  [["sweep", ...QUICK, "--grid", "depth=1,2"], 2, /depth/],
  [["sweep", ...QUICK, "--grid", "multi=1,x"], 2, /--multi "x"/],
  [["sweep", ...QUICK, "--seeds", "5-1"], 2, /--seeds "5-1"/],
  [["sweep", ...QUICK, "--seeds", ""], 2, /--seeds/],
  [["sweep", ...QUICK, "--shard", "3/3"], 2, /--shard "3\/3"/],
  [["sweep", ...QUICK, "--shard", "x"], 2, /--shard "x"/],
  [["sweep", ...QUICK, "--preset", "nope"], 2, /--preset "nope"/],
  // reports
  [["report", "$W/nowhere"], 2, /nowhere/],
  [["report", "$W/full"], 2, /full/],
  [["report", "$W/a_file"], 2, /a_file/],
];

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(`${p}/`, ...await tree(p));
    else out.push(`${p} ${(await Deno.stat(p)).size} ${(await Deno.stat(p)).mtime?.getTime()}`);
  }
  return out.sort();
}

async function makeWorkFolder(): Promise<string> {
  const w = await Deno.makeTempDir();
  await Deno.writeTextFile(`${w}/a_file`, "not a folder");
  await Deno.mkdir(`${w}/full`);
  await Deno.writeTextFile(`${w}/full/precious.txt`, "keep me");
  const files: Record<string, string> = {
    "malformed.json": "{ d: 5",
    "array.json": "[5]",
    "wrong_type.json": `{"d": "many"}`,
    "wrong_list.json": `{"widths": {"a": 1}}`,
    "unknown_key.json": `{"depth": 3}`,
    "bad_lr.json": `{"lr": [[0, -1]]}`,
    "huge_epochs.json": `{"epochs": 1e99}`,
  };
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${w}/${name}`, text);
  // A real, finished run, and interrupted copies of it with damaged checkpoints.
  const r = await runCli(["train", ...QUICK, "--save-corr-at", "1", "--out", `${w}/run`]);
  assertEquals(r.code, 0, r.stderr);
  for (const name of ["corrupt_ckpt", "truncated_ckpt", "foreign_ckpt"]) {
    await Deno.mkdir(`${w}/${name}`);
    for await (const e of Deno.readDir(`${w}/run`)) {
      if (e.name !== "result.json") {
        await Deno.copyFile(`${w}/run/${e.name}`, `${w}/${name}/${e.name}`);
      }
    }
  }
  // A valid checkpoint, then damaged three ways.
  const ckpt = await checkpointOfQuickRun();
  const flipped = ckpt.slice();
  flipped[flipped.length - 3] ^= 0xff;
  await Deno.writeFile(`${w}/corrupt_ckpt/checkpoint.bin`, flipped);
  await Deno.writeFile(`${w}/truncated_ckpt/checkpoint.bin`, ckpt.subarray(0, ckpt.length - 100));
  await Deno.writeFile(
    `${w}/foreign_ckpt/checkpoint.bin`,
    encodeNpy({ data: new Float64Array(4), shape: [4] }),
  );
  await makeInterruptedRuns(w);
  return w;
}

/**
 * An interrupted run (stopped after its first checkpoint) and copies of it changed after the
 * start: config.json edited, a data file replaced or removed, a checkpoint from another tool
 * version or without an origin.
 */
async function makeInterruptedRuns(w: string): Promise<void> {
  const config = resolveConfig({
    settings: { d: 5, widths: [3], outputs: 2, nTrain: 100, nEval: 50, epochs: 3, iters: 10 },
  });
  const dir = `${w}/interrupted`;
  await runToFolder(config, {
    out: dir,
    onEvaluation: (m) => {
      if (m.epoch === 1) throw new Error("stop");
    },
  }).catch(() => {});
  assertOk(await exists(`${dir}/checkpoint.bin`), "the interrupted run has a checkpoint");
  const copies = ["edited_seed", "edited_lr_p", "changed_data", "missing_data", "other_tool"];
  for (const name of [...copies, "no_origin"]) {
    await Deno.mkdir(`${w}/${name}`);
    for await (const e of Deno.readDir(dir)) {
      await Deno.copyFile(`${dir}/${e.name}`, `${w}/${name}/${e.name}`);
    }
  }
  const edit = async (name: string, change: Record<string, unknown>) => {
    const c = JSON.parse(await Deno.readTextFile(`${w}/${name}/config.json`));
    await Deno.writeTextFile(`${w}/${name}/config.json`, JSON.stringify({ ...c, ...change }));
  };
  await edit("edited_seed", { seed: 2 });
  await edit("edited_lr_p", { lr: 0.5, p: 2 });
  const x = await Deno.readFile(`${w}/changed_data/train_x.npy`);
  x[x.length - 1] ^= 1;
  await Deno.writeFile(`${w}/changed_data/train_x.npy`, x);
  await Deno.remove(`${w}/missing_data/eval_y.npy`);
  const ckpt = await decodeCheckpoint<{ origin?: Record<string, unknown> }>(
    await Deno.readFile(`${dir}/checkpoint.bin`),
    "checkpoint.bin",
  );
  const rewrite = async (name: string, origin: Record<string, unknown> | undefined) =>
    await Deno.writeFile(
      `${w}/${name}/checkpoint.bin`,
      await encodeCheckpoint({ state: { ...ckpt.state, origin }, blobs: ckpt.blobs }),
    );
  await rewrite("other_tool", { ...ckpt.state.origin, version: "0.0.1" });
  await rewrite("no_origin", undefined);
}

/** A real checkpoint of the QUICK config after one epoch, as a run folder would hold it. */
async function checkpointOfQuickRun(): Promise<Uint8Array> {
  const t = new Trainer(resolveConfig({
    settings: { d: 5, widths: [3], outputs: 2, nTrain: 100, nEval: 50, epochs: 2, iters: 10 },
  }));
  t.trainEpoch();
  const snap = t.snapshot();
  return await encodeCheckpoint({ state: { trainer: snap.state }, blobs: snap.blobs });
}

Deno.test(`bad-input corpus: ${CASES.length} invalid inputs, each one line, the right exit code, nothing written`, async () => {
  const w = await makeWorkFolder();
  const before = await tree(w);
  const problems: string[] = [];
  // A few cases at a time (each is a separate process); the folder is compared after each group.
  const GROUP = 3;
  for (let g = 0; g < CASES.length; g += GROUP) {
    const group = CASES.slice(g, g + GROUP);
    const whats = await Promise.all(group.map(async ([args, code, pattern, env]) => {
      const argv = args.map((a) => a.replace("$W", w));
      const r = env
        ? await runCli(argv, ["--allow-read", "--allow-write", "--allow-env"], env)
        : await runCli(argv);
      const lines = r.stderr.trim().split("\n");
      const what = argv.join(" ").replaceAll(w, "$W");
      if (r.code !== code) problems.push(`${what}: exit ${r.code}, expected ${code} (${lines[0]})`);
      else if (lines.length !== 1) {
        problems.push(`${what}: ${lines.length} lines on stderr:\n${r.stderr}`);
      } else if (!lines[0].startsWith("error: ") || !pattern.test(lines[0])) {
        problems.push(`${what}: "${lines[0]}" does not match ${pattern}`);
      } else if (/\bat .*:\d+:\d+/.test(r.stderr)) problems.push(`${what}: stack trace`);
      return what;
    }));
    const after = await tree(w);
    if (after.join("\n") !== before.join("\n")) {
      const added = after.filter((x) => !before.includes(x)),
        gone = before.filter((x) => !after.includes(x));
      problems.push(
        `one of ${whats.join(" | ")}: the folder changed: +${added.join(", ")} -${gone.join(", ")}`,
      );
      break;
    }
  }
  assertOk(CASES.length >= 40, "at least 40 cases");
  assertEquals(problems, []);
  await Deno.remove(w, { recursive: true });
});
