/**
 * The `sweep` command: flags → {@linkcode planSweep} → {@linkcode runSweep}, with a progress line
 * on stderr (only when it is a terminal) and a summary on stdout. Not part of the library.
 * @module
 */

import { ConfigError, resolveConfig } from "./config.ts";
import {
  type FlagSpec,
  formatHelpRows,
  parseFlags,
  readConfigFile,
  RUN_OPTION_FLAGS,
  runOptionHelpRows,
  runSettings,
} from "./cli_args.ts";
import {
  checkSweepFolder,
  type GridAxis,
  jobState,
  parseGrid,
  parseSeeds,
  planSweep,
  PRESETS,
  resolveShard,
  runSweep,
  SHARD_ENV,
  shardJobs,
  type SweepProgress,
} from "./sweep.ts";
import { formatBytes, parseSaveData, type SaveData } from "./data_store.ts";
import { calibrate, estimateSweep, type SweepEstimate } from "./sweep_estimate.ts";

const SWEEP_FLAGS: FlagSpec[] = [
  ...RUN_OPTION_FLAGS,
  { name: "grid", type: "string", multiple: true },
  { name: "seeds", type: "string" },
  { name: "jobs", type: "string" },
  { name: "shard", type: "string" },
  { name: "shard-count", type: "string" },
  { name: "preset", type: "string" },
  { name: "list-presets", type: "boolean" },
  { name: "out", type: "string", path: true },
  { name: "save-data", type: "string" },
  { name: "config", type: "string", path: true },
  { name: "force", type: "boolean" },
  { name: "quiet", type: "boolean" },
  { name: "help", type: "boolean" },
];

const ENV_FLAG = `--allow-env=${SHARD_ENV.join(",")}`;

function sweepHelp(): string {
  const rows: [string, string][] = [
    [
      "--grid KEY=V1,V2,...",
      "an axis of the grid (repeatable); KEY is an option (multi, p, n-train, …); " +
      'list-valued options separate values by ";" (widths=10;20)',
    ],
    [
      "--seeds 1-8 | 1,2,5",
      "seeds of every grid point [default: the preset's, else --seed, else 1]",
    ],
    ["--preset NAME", "one of the paper's experiments (see --list-presets); flags override it"],
    ["--list-presets", "list the presets and exit"],
    ["--jobs N", "parallel jobs (Deno Workers) [default: one per core]"],
    [
      "--shard i/N",
      "run only jobs whose index mod N is i (0-based) [default: from Slurm or Kubernetes]",
    ],
    [
      "--shard-count N",
      "shard count for a Kubernetes Indexed Job (index from JOB_COMPLETION_INDEX)",
    ],
    ["--out DIR", "the sweep folder [default: sweeps/<preset or sweep>-<hash of the jobs>]"],
    [
      "--save-data all|once|none",
      "training and eval data: once = one copy per distinct data set in DIR/data/<hash>/, " +
      "all = a copy in every job folder, none = not saved [default: once]",
    ],
    ["--config FILE.json", "base settings from a JSON file (config.json keys); flags override it"],
    ["--force", "replace an existing sweep folder (all its jobs run again; not with shards)"],
    ["--quiet", "no progress line on stderr"],
    ["--help", "this help"],
  ];
  rows.push(...runOptionHelpRows(["seed"]));
  return `Usage: deno run --allow-read --allow-write [${ENV_FLAG}] cli.ts sweep [options]

Runs a grid of configurations × seeds, one run folder per job (runs/<hash of its config>/), in
parallel Deno Workers. A rerun skips finished jobs and redoes unfinished or failed ones; failures
are recorded and the others go on; sweep.csv (one row per job) is rewritten as jobs finish.
Run options set the base configuration of every job.

Options:
${formatHelpRows(rows)}`;
}

function listPresets(): string {
  const w = Math.max(...PRESETS.map((p) => p.name.length)) + 2;
  return PRESETS.map((p) => {
    const jobs = p.grid.reduce((n, a) => n * a.values.length, 1) * p.seeds.length;
    return `${p.name.padEnd(w)}${p.description} (${jobs} jobs)`;
  }).join("\n");
}

/** Reads an env variable only if access is already granted: never prompts. */
function envIfGranted(name: string): string | undefined {
  const ok = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  return ok ? Deno.env.get(name) : undefined;
}

function clock(s: number): string {
  if (!Number.isFinite(s)) return "--";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h
    ? `${h}h${String(m).padStart(2, "0")}m`
    : m
    ? `${m}m${String(sec).padStart(2, "0")}s`
    : `${sec}s`;
}

function progressLine(p: SweepProgress): string {
  const done = p.skipped + p.elsewhere + p.completed + p.failed;
  const width = 24;
  const filled = p.total ? Math.round((done / p.total) * width) : width;
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  return `[${bar}] ${done}/${p.total} jobs  ${p.failed} failed  ${p.running} running  ` +
    `elapsed ${clock(p.elapsed)}  ETA ${clock(p.eta)}`;
}

/** The line printed before a sweep starts: jobs, disk and time estimates. */
export function estimateLine(
  total: number,
  here: number,
  est: SweepEstimate,
  saveData: SaveData,
  workers: number,
): string {
  const w = Math.max(1, Math.min(workers, est.jobs || 1));
  const data = saveData === "none"
    ? "data not saved"
    : saveData === "once"
    ? `${plural(est.dataSets, "data set")} stored once, ${formatBytes(est.dataBytes)}`
    : `data in every job folder, ${formatBytes(est.dataBytes)}`;
  const time = est.jobs ? `≈ ${clock(est.seconds)} with ${plural(w, "worker")}` : "nothing to run";
  const shard = here === total ? "" : `, ${here} in this shard`;
  return `sweep plan: ${plural(total, "job")}${shard}, ${est.jobs} to run here; disk ≈ ` +
    `${formatBytes(est.bytes)} when finished (${data}); time ${time} (estimates)`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Runs `cli.ts sweep` with its arguments; returns the exit code. */
export async function sweepCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, SWEEP_FLAGS);
  if (values.help) {
    console.log(sweepHelp());
    return 0;
  }
  if (values["list-presets"]) {
    console.log(listPresets());
    return 0;
  }
  if (positionals.length) {
    throw new ConfigError(`Unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  }
  const flags = runSettings(values);
  const file = typeof values.config === "string" ? await readConfigFile(values.config) : {};
  delete file.meta;
  // the file's own errors name the file, as train's do
  if (typeof values.config === "string") resolveConfig({ settings: file, source: values.config });
  if (typeof values.seeds === "string") delete file.seed; // --seeds replaces the file's seed
  const base = { ...file, ...flags };
  const grid: GridAxis[] = ((values.grid as string[] | undefined) ?? []).map(parseGrid);
  const seeds = typeof values.seeds === "string" ? parseSeeds(values.seeds) : undefined;
  if (seeds && base.seed !== undefined) {
    throw new ConfigError("Invalid --seed: give either --seed or --seeds");
  }
  let jobs: number | undefined;
  if (typeof values.jobs === "string") {
    jobs = /^\d+$/.test(values.jobs.trim()) ? Number(values.jobs) : NaN;
    if (!(jobs >= 1)) {
      throw new ConfigError(
        `Invalid --jobs ${JSON.stringify(values.jobs)}: expected an integer ≥ 1`,
      );
    }
  }
  const shard = resolveShard(
    {
      shard: values.shard as string | undefined,
      shardCount: values["shard-count"] as string | undefined,
    },
    envIfGranted,
  );
  const saveData = parseSaveData(values["save-data"] ?? "once");
  const plan = await planSweep({
    preset: values.preset as string | undefined,
    base,
    grid,
    seeds,
  });
  const out = typeof values.out === "string"
    ? values.out
    : `sweeps/${plan.preset ?? "sweep"}-${plan.id}`;
  if (values.force) {
    if (shard.count > 1) {
      throw new ConfigError(
        `Invalid --force with shard ${shard.index}/${shard.count}: it would delete the other ` +
          `shards' jobs; remove the folder once, then start the shards`,
      );
    }
    await Deno.remove(out, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  } else await checkSweepFolder(out, plan);

  const mine = shardJobs(plan.jobs, shard);
  const todo = [];
  for (const job of mine) if ((await jobState(out, job.hash)) !== "completed") todo.push(job);
  const workers = jobs ?? navigator.hardwareConcurrency ?? 1;
  const est = estimateSweep(plan.jobs.map((j) => j.config), todo.map((j) => j.config), {
    saveData,
    workers,
    calibration: todo.length ? calibrate(todo[0].config) : null,
  });
  console.log(estimateLine(plan.jobs.length, mine.length, est, saveData, workers));

  const showProgress = !values.quiet && Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const summary = await runSweep(plan, {
    out,
    jobs,
    shard,
    saveData,
    onProgress: showProgress
      ? (p) => Deno.stderr.writeSync(enc.encode(`\r${progressLine(p)}\x1b[K`))
      : undefined,
  });
  if (showProgress) Deno.stderr.writeSync(enc.encode("\n"));
  const shardText = shard.count > 1 ? ` (shard ${shard.index}/${shard.count})` : "";
  console.log(
    `specialize sweep  ${plural(plan.jobs.length, "job")}${
      plan.preset ? `, preset ${plan.preset}` : ""
    }` +
      `${shardText}: ${summary.total} to run here`,
  );
  console.log(
    `  ${summary.completed} completed, ${summary.skipped} skipped (already finished), ` +
      `${summary.elsewhere} running or run elsewhere, ${summary.failures.length} failed in ` +
      `${summary.seconds.toFixed(1)} s`,
  );
  for (const f of summary.failures.slice(0, 5)) console.log(`  failed ${f.hash}: ${f.error}`);
  if (summary.failures.length > 5) console.log(`  … and ${summary.failures.length - 5} more`);
  const dataPart = saveData === "once" ? ", data/<hash>/" : "";
  console.log(
    `  wrote ${out}/ (sweep.json, sweep.csv with ${summary.csvRows} rows, runs/<hash>/${dataPart})`,
  );
  if (summary.failures.length) {
    console.error(
      `error: ${summary.failures.length} of ${summary.total} jobs failed (see ${out}/sweep.csv)`,
    );
    return 1;
  }
  return 0;
}
