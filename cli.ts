/**
 * The `specialize` command line: a thin layer that parses flags, resolves the configuration, calls
 * the library and prints. Usage errors end with one line on stderr and exit code 2; runtime
 * errors with one line and exit code 1; never a stack trace (set SPECIALIZE_DEBUG=1 to see one).
 *
 * ```sh
 * deno run --allow-read --allow-write cli.ts train --widths 20 --multi 10 --out runs/a
 * deno run cli.ts train --help
 * ```
 * @module
 */

import {
  ConfigError,
  flagOf,
  parseThreads,
  resolveConfig,
  type RunConfig,
  THREADS_HELP,
} from "./src/config.ts";
import {
  closest,
  type FlagSpec,
  formatHelpRows,
  parseFlags,
  readConfigFile,
  RUN_OPTION_FLAGS,
  runOptionHelpRows,
  runSettings,
} from "./src/cli_args.ts";
import { resumeRun, runToFolder, TEMP_FILE } from "./src/run.ts";
import { parseSaveData } from "./src/data_store.ts";
import type { EpochMetrics, Trainer } from "./src/train.ts";
import { formatSummary } from "./src/summary.ts";
import { VERSION } from "./src/version.ts";
import { sweepCommand } from "./src/sweep_cli.ts";
import { reportCommand } from "./src/report_cli.ts";

const TRAIN_FLAGS: FlagSpec[] = [
  ...RUN_OPTION_FLAGS,
  { name: "out", type: "string", path: true },
  { name: "force", type: "boolean" },
  { name: "save-data", type: "string" },
  { name: "config", type: "string", path: true },
  { name: "resume", type: "string", path: true },
  { name: "quiet", type: "boolean" },
  { name: "threads", type: "string" },
  { name: "help", type: "boolean" },
];

const USAGE = `specialize: teacher–student experiments on deep ReLU networks

Usage:
  deno run --allow-read --allow-write cli.ts train [options]
  deno run --allow-read --allow-write cli.ts sweep [options]
  deno run --allow-read --allow-write cli.ts report DIR
  deno run cli.ts train --help

Commands:
  train    train a student on a teacher's outputs and write a run folder
  sweep    a grid of runs × seeds in parallel workers, resumable and shardable
  report   figures (SVG), summary tables (CSV) and index.html of a run or sweep folder
  version  the tool's version (also --version)`;

function trainHelp(): string {
  const rows = runOptionHelpRows();
  rows.push(
    ["--out DIR", "run folder to create [default: runs/<timestamp>]"],
    ["--force", "replace an existing, non-empty run folder"],
    [
      "--save-data all|once|none",
      "training and eval data: all = in the run folder, once = one shared copy per distinct " +
      "data set in data/<hash>/ beside the run folder, none = not saved [default: all]",
    ],
    ["--config FILE.json", "settings from a JSON file (config.json keys); flags override it"],
    [
      "--resume DIR",
      "continue an interrupted run from its last checkpoint (only --quiet, --threads)",
    ],
    THREADS_HELP,
    ["--quiet", "no progress on stderr"],
    ["--help", "this help"],
  );
  return `Usage: deno run --allow-read --allow-write cli.ts train [options]

Trains an over-parameterized student on a fixed teacher (Tian, arXiv 1909.13458) and writes
config.json, metrics.csv, result.json and .npy weights and data into the run folder.
Boolean options take --no-<name> to turn them off.

Options:
${formatHelpRows(rows)}`;
}

function progressLine(m: EpochMetrics, epochs: number): string {
  const g = m.gradNorm.map((x) => x.toExponential(2)).join(" ");
  return `epoch ${String(m.epoch).padStart(String(epochs).length)}/${epochs}  lr ${m.lr}  ` +
    `train ${m.trainMse.toExponential(3)}  eval ${m.evalMse.toExponential(3)}  ` +
    (m.evalCe === undefined
      ? ""
      : `ce ${m.trainCe!.toExponential(3)} / ${m.evalCe.toExponential(3)}  acc ` +
        `${m.trainAcc!.toFixed(3)} / ${m.evalAcc!.toFixed(3)}  `) +
    `|grad| ${g}`;
}

async function train(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, TRAIN_FLAGS);
  if (values.help) {
    console.log(trainHelp());
    return;
  }
  if (positionals.length) {
    throw new ConfigError(`Unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  }
  const flags = runSettings(values);
  const showProgress = !values.quiet && Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const progress = showProgress
    ? (m: EpochMetrics, t: Trainer) =>
      Deno.stderr.writeSync(enc.encode(`\r${progressLine(m, t.config.epochs)}\x1b[K`))
    : undefined;
  // Ctrl-C / SIGTERM: say where the run stopped and how to continue it (the checkpoint stays).
  let dir = typeof values.resume === "string" ? values.resume : "";
  let epochs = 0, saved: number | null = null, created = false;
  const onCheckpoint = (e: number, of: number) => (saved = e, epochs = of);
  const interrupted = (signal: Deno.Signal, code: number) => () => {
    if (showProgress) Deno.stderr.writeSync(enc.encode("\n"));
    const started = dir !== "" && cleanUpInterrupted(dir, created);
    const where = saved === null ? "before its first checkpoint" : `after epoch ${saved}/${epochs}`;
    console.error(
      started
        ? `interrupted (${signal}) ${where}; continue with: train --resume ${dir}`
        : `interrupted (${signal}) before the run started; nothing was kept: run the same command again`,
    );
    Deno.exit(code);
  };
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    if (Deno.build.os !== "windows" || signal === "SIGINT") {
      Deno.addSignalListener(signal, interrupted(signal, code));
    }
  }
  if (typeof values.resume === "string") {
    const extra = [...Object.keys(flags).map((k) => `--${flagOf(k as keyof RunConfig)}`)];
    for (const f of ["config", "out", "force", "save-data"]) {
      if (values[f] !== undefined) extra.push(`--${f}`);
    }
    if (extra.length) {
      throw new ConfigError(
        `Invalid ${
          extra[0]
        } with --resume: a resumed run keeps its own config.json (only --quiet and --threads are accepted)`,
      );
    }
    const threads = values.threads === undefined ? 1 : parseThreads(values.threads);
    const { config, result, resumedAt } = await resumeRun(dir, {
      onEvaluation: progress,
      onCheckpoint,
      threads,
    });
    if (showProgress) Deno.stderr.writeSync(enc.encode("\n"));
    if (resumedAt === null) {
      console.log(
        `${dir} is already complete (result.json exists): nothing run, nothing rewritten.`,
      );
    } else console.log(`Resumed ${dir} after epoch ${resumedAt}.`);
    console.log(formatSummary(config, result, resumedAt === null ? null : dir));
    return;
  }
  const layers = [];
  let fileThreads = 1;
  if (typeof values.config === "string") {
    const settings = await readConfigFile(values.config);
    // `threads` is an execution option, not a setting of the run (see THREADS_HELP).
    if ("threads" in settings) {
      fileThreads = parseThreads(settings.threads, `${values.config}: `);
      delete settings.threads;
    }
    layers.push({ settings, source: values.config });
  }
  layers.push({ settings: flags });
  const config = resolveConfig(...layers);
  const threads = values.threads === undefined ? fileThreads : parseThreads(values.threads);
  const saveData = parseSaveData(values["save-data"] ?? "all");
  const out = typeof values.out === "string"
    ? values.out
    : `runs/${new Date().toISOString().replace(/[:.]/g, "-")}`;
  dir = out;
  const result = await runToFolder(config, {
    out,
    force: values.force === true,
    saveData,
    onEvaluation: progress,
    threads,
    onCheckpoint,
    onFolderCreated: () => created = true,
  });
  if (showProgress) Deno.stderr.writeSync(enc.encode("\n"));
  console.log(formatSummary(config, result, out));
}

/**
 * On an interrupt: removes the half-written files of atomic writes ({@linkcode TEMP_FILE}) from
 * the run folder and says whether the run can be resumed there (its config.json is written). A
 * new run's folder without config.json holds only this run's files (`ours`: created empty by it),
 * which are removed, so the same command can run again.
 */
function cleanUpInterrupted(dir: string, ours: boolean): boolean {
  const remove = (name: string) => {
    try {
      Deno.removeSync(`${dir}/${name}`, { recursive: true });
    } catch { /* gone already (a rename in flight) */ }
  };
  try {
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    for (const n of names) if (TEMP_FILE.test(n)) remove(n);
    if (names.includes("config.json")) return true;
    if (ours) { for (const n of names) remove(n); }
  } catch { /* no folder yet */ }
  return false;
}

/** SPECIALIZE_DEBUG=1 shows stack traces, if env access was granted (never prompts). */
function debugEnabled(): boolean {
  const env = { name: "env", variable: "SPECIALIZE_DEBUG" } as const;
  return Deno.permissions.querySync(env).state === "granted" && !!Deno.env.get("SPECIALIZE_DEBUG");
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === "train") await train(rest);
    else if (command === "sweep") return await sweepCommand(rest);
    else if (command === "report") return await reportCommand(rest);
    else if (command === "--help" || command === "-h" || command === "help") console.log(USAGE);
    else if (command === "--version" || command === "version") console.log(`specialize ${VERSION}`);
    else if (command === undefined) {
      console.error(USAGE);
      return 2;
    } else {
      const near = closest(command.replace(/^-+/, ""), [
        "train",
        "sweep",
        "report",
        "help",
        "version",
      ]);
      throw new ConfigError(
        `Unknown command ${JSON.stringify(command)}${near ? `; did you mean ${near}?` : ""} ` +
          `(expected train, sweep or report; see --help)`,
      );
    }
    return 0;
  } catch (e) {
    if (debugEnabled()) console.error(e);
    const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    // A permission the run lacks (e.g. `deno task train --out /tmp/x`): say which way works.
    const denied = e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied;
    const hint = denied
      ? ` (the deno tasks read the project and write only under runs/ or sweeps/; for other ` +
        `folders: deno run --allow-read --allow-write cli.ts ${command} …)`
      : "";
    console.error(`error: ${msg}${hint}`);
    return e instanceof ConfigError || denied ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
