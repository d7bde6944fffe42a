/**
 * Sweeps: a grid over config keys × seeds, one run folder per job, run in parallel workers,
 * resumable, shardable across processes and machines that share the sweep folder.
 *
 * Sweep folder layout:
 * - `sweep.json`: the manifest (preset, base settings, grid, seeds, and every job's hash, seed and
 *   grid point), written before any job runs; a rerun must describe the same jobs;
 * - `runs/<hash>/`: one run folder per job, named by the first 12 hex digits of the sha256 of the
 *   job's resolved configuration as canonical JSON (sorted keys); `result.json` marks a finished
 *   job, `error.json` a failed one (with the error and the configuration);
 * - `sweep.csv`: one row per finished or failed job (status `completed`, `diverged`, `failed`, or
 *   `unreadable` when its result.json cannot be read, the reason in `error`): hash, status, grid
 *   keys, seed, the numeric
 *   fields of `result.final` (snake_case, arrays as `name_i`) and of the final per-layer summaries
 *   in `result.layers` if any (`layer<l>_<field>`), seconds, error; rebuilt from what
 *   is on disk each time a job ends, so any shard or rerun leaves it complete;
 * - `data/<hash>/`: the distinct data sets of the jobs, one copy each (`saveData: "once"`, the
 *   default), named by a content hash and referenced from each job's `config.json`;
 * - `log.jsonl`: one line per job start, end or failure (hash, shard, pid, time), appended.
 *
 * Job i (in manifest order: grid points in the order given, the first axis slowest, seeds
 * innermost) belongs to shard i mod N.
 * @module
 */

import {
  ConfigError,
  flagOf,
  formatValue,
  keyOfFlag,
  OPTIONS,
  type RawSettings,
  resolveConfig,
  type RunConfig,
} from "./config.ts";
import { csvRow } from "./csv.ts";
import { lockJob } from "./job_lock.ts";
import { type RunResult, writeFileAtomic } from "./run.ts";
import { parseSaveData, type SaveData } from "./data_store.ts";
import { canonicalJson, configHash, sha256Prefix } from "./version.ts";
import { requireDeno } from "./platform.ts";

/** The sweep's content-addressed data store, `<sweep>/data/` (see `data_store.ts`). */
export const DATA_DIR = "data";

/** One axis of a grid: a config key and the raw values it takes. */
export interface GridAxis {
  /** The config key (as in `config.json`). */
  key: keyof RunConfig;
  /** Raw values (strings from flags, or JSON values), each validated by `resolveConfig`. */
  values: unknown[];
}

/** One job of a sweep: a grid point and a seed, resolved. */
export interface SweepJob {
  /** Position in the sweep's job list (decides the shard). */
  index: number;
  /** First 12 hex digits of the sha256 of the canonical JSON of `config`. */
  hash: string;
  /** The grid point's values, formatted (`formatValue`), by config key. */
  point: Record<string, string>;
  /** The seed. */
  seed: number;
  /** The resolved configuration. */
  config: RunConfig;
}

/** A sweep before it runs: what it is made of and every job. */
export interface SweepPlan {
  /** Preset name, if any. */
  preset?: string;
  /** Base settings (preset settings overridden by the user's). */
  base: RawSettings;
  /** The grid axes. */
  grid: GridAxis[];
  /** The seeds, in order. */
  seeds: number[];
  /** Every job, in order. */
  jobs: SweepJob[];
  /** First 12 hex digits of the sha256 of the job hashes: names the default sweep folder. */
  id: string;
}

/** The share of a sweep one process runs: jobs whose index mod `count` is `index`. */
export interface Shard {
  /** 0-based shard index, below `count`. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** A preset: one of the paper's experiments as a sweep. */
export interface Preset {
  /** Name given to `--preset`. */
  name: string;
  /** One line on what it reproduces. */
  description: string;
  /** Base settings for a run of `epochs` epochs (undefined: the preset's own). */
  base(epochs?: number): RawSettings;
  /** Grid axes. */
  grid: GridAxis[];
  /** Default seeds. */
  seeds: number[];
}

const range = (a: number, b: number): number[] =>
  Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** Keeps the learning-rate schedule and saved epochs inside a run of `epochs` epochs. */
function fitEpochs(s: RawSettings, epochs?: number): RawSettings {
  if (epochs === undefined) return s;
  const out = { ...s };
  if (Array.isArray(out.lr)) {
    out.lr = (out.lr as [number, number][]).filter(([e]) => e < epochs);
  }
  if (Array.isArray(out.saveCorrAt)) {
    out.saveCorrAt = (out.saveCorrAt as number[]).filter((e) => e <= epochs);
  }
  return out;
}

/** The paper's experiments. `--epochs` and `--seeds` make quicker, smaller versions. */
export const PRESETS: readonly Preset[] = [
  {
    name: "two-layer",
    description: "the paper's two-layer sweep: d 100, m ∈ {10, 20}, multi ∈ {1, 2, 5, 10}, " +
      "p ∈ {0, 0.5, …, 2.5}, 32 seeds, 100 epochs",
    base: (epochs) => fitEpochs({ d: 100, outputs: 50, nTrain: 10000, nEval: 10000 }, epochs),
    grid: [
      { key: "widths", values: [[10], [20]] },
      { key: "multi", values: [1, 2, 5, 10] },
      { key: "p", values: [0, 0.5, 1, 1.5, 2, 2.5] },
    ],
    seeds: range(1, 32),
  },
  {
    name: "trajectory",
    description: "the small case whose per-teacher trajectories are plotted: d 100, m 5, " +
      "multi ∈ {1, 2, 5, 10}, p 1, correlations saved after every epoch, 8 seeds",
    base: (epochs) =>
      fitEpochs(
        // correlation matrices after every epoch: the per-teacher trajectories of the report
        { d: 100, widths: [5], outputs: 50, p: 1, saveCorrAt: range(1, 100) },
        epochs,
      ),
    grid: [{ key: "multi", values: [1, 2, 5, 10] }],
    seeds: range(1, 8),
  },
  {
    name: "sample-complexity",
    description: "eval loss vs training set size N_train ∈ {30, …, 1000}, teacher-aware vs " +
      "Gaussian training data: d 100, m 10, multi 10, 8 seeds",
    base: (epochs) =>
      fitEpochs({ d: 100, widths: [10], outputs: 50, multi: 10, p: 1, nEval: 10000 }, epochs),
    grid: [
      { key: "data", values: ["gaussian", "teacher-aware"] },
      { key: "nTrain", values: [30, 60, 100, 200, 300, 500, 1000] },
    ],
    seeds: range(1, 8),
  },
  {
    name: "multi-layer",
    description: "a reduced multi-layer run: d 20, std 10, teacher 10-15-20-25, student 10×, " +
      "100 outputs, batch 64, lr 0.2 then 0.1 from epoch 20, 200k samples (gradient " +
      "measurements on 5 000 of the 10 000 measured), 4 seeds",
    base: (epochs) =>
      fitEpochs({
        d: 20,
        dataStd: 10,
        widths: [10, 15, 20, 25],
        multi: 10,
        outputs: 100,
        batch: 64,
        lr: [[0, 0.2], [20, 0.1]],
        nTrain: 200000,
        nEval: 10000,
        // the backward pass of the gradient measurements on half the training subsample: the
        // evaluation then stays under a fifth of the run's time
        nGradEval: 5000,
      }, epochs),
    grid: [],
    seeds: range(1, 4),
  },
  {
    name: "multi-layer-sample-complexity",
    description: "per-layer specialization and losses vs training set size N ∈ {5 000, …, " +
      "200 000}, MSE and cross-entropy, students 2× and 5×: d 20, std 10, teacher 10-15-20-25, " +
      "100 outputs, batch 64, lr 0.2 then 0.1 from epoch 20, 30 epochs, " +
      "3 seeds (the paper: --widths 50,75,100,125 --epochs 200 --seeds 1-10, N up to 2 000 000)",
    base: (epochs) =>
      fitEpochs({
        d: 20,
        dataStd: 10,
        widths: [10, 15, 20, 25],
        outputs: 100,
        batch: 64,
        lr: [[0, 0.2], [20, 0.1]],
        nEval: 10000,
        epochs: 30,
      }, epochs),
    grid: [
      { key: "loss", values: ["mse", "cross-entropy"] },
      { key: "multi", values: [2, 5] },
      { key: "nTrain", values: [5000, 10000, 20000, 50000, 100000, 200000] },
    ],
    seeds: range(1, 3),
  },
];

/** The preset of a name; a {@linkcode ConfigError} listing the presets otherwise. */
export function presetOf(name: string): Preset {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) {
    throw new ConfigError(
      `Unknown --preset ${JSON.stringify(name)}: expected one of ${
        PRESETS.map((x) => x.name).join(", ")
      }`,
    );
  }
  return p;
}

/** Keys whose single value is itself a list: their grid values are separated by ";". */
const LIST_KEYS = new Set(
  OPTIONS.filter((o) => o.kind === "intList" || o.kind === "schedule").map((o) => o.key as string),
);

/** The config key named by a config key or a flag name; a ConfigError otherwise. */
function keyOf(name: string, arg: string): keyof RunConfig {
  const key = OPTIONS.some((o) => o.key === name) ? name as keyof RunConfig : keyOfFlag(name);
  if (!key) {
    throw new ConfigError(
      `Invalid --grid ${JSON.stringify(arg)}: unknown option "${name}" (accepted: ${
        OPTIONS.map((o) => o.flag).join(", ")
      })`,
    );
  }
  if (key === "seed") {
    throw new ConfigError(`Invalid --grid ${JSON.stringify(arg)}: give seeds with --seeds`);
  }
  return key;
}

/**
 * Parses one `--grid KEY=V1,V2,...` argument. KEY is a config key or its flag name. Values are
 * separated by commas, or by semicolons for list-valued options (`widths=10;20`,
 * `lr=0.01;0:0.2,20:0.1`). Values are checked later, when jobs are resolved.
 *
 * @example
 * ```ts
 * import { parseGrid } from "@specialize/specialize";
 * parseGrid("multi=1,2,5,10"); // { key: "multi", values: ["1", "2", "5", "10"] }
 * ```
 */
export function parseGrid(arg: string): GridAxis {
  const m = arg.match(/^\s*([A-Za-z][\w-]*)\s*=(.*)$/s);
  if (!m) {
    throw new ConfigError(
      `Invalid --grid ${JSON.stringify(arg)}: expected KEY=V1,V2,... like multi=1,2,5,10`,
    );
  }
  const key = keyOf(m[1], arg);
  const sep = LIST_KEYS.has(key) ? ";" : ",";
  if (sep === ";" && !m[2].includes(";") && m[2].includes(",")) {
    // "widths=10,20" would be ONE job with a 10-20 teacher: an axis lists values with ";".
    const parts = m[2].split(",").map((v) => v.trim());
    throw new ConfigError(
      `Invalid --grid ${JSON.stringify(arg)}: values of ${m[1]} are separated by ";" ` +
        `(--grid "${m[1]}=${parts.join(";")}" for ${parts.length} values); one value ` +
        `${m[2].trim()} is a run option (--${flagOf(key)} ${m[2].trim()}), not an axis`,
    );
  }
  const values = m[2].split(sep).map((v) => v.trim());
  if (values.some((v) => v === "")) {
    throw new ConfigError(
      `Invalid --grid ${JSON.stringify(arg)}: empty value (values are separated by "${sep}")`,
    );
  }
  return { key, values };
}

const U32 = 4294967295;

/**
 * Parses seeds: `1-8`, `1,2,5`, or a mix like `1-4,9`. Duplicates and empty ranges are errors.
 *
 * @example
 * ```ts
 * import { parseSeeds } from "@specialize/specialize";
 * parseSeeds("1-3,7"); // [1, 2, 3, 7]
 * ```
 */
export function parseSeeds(arg: string): number[] {
  const bad = (why: string): never => {
    throw new ConfigError(`Invalid --seeds ${JSON.stringify(arg)}: ${why}`);
  };
  const seeds: number[] = [];
  for (const part of arg.split(",")) {
    const m = part.trim().match(/^(\d+)(?:\s*-\s*(\d+))?$/);
    if (!m) bad(`expected integers or ranges like 1-8 or 1,2,5`);
    const a = Number(m![1]), b = m![2] === undefined ? a : Number(m![2]);
    if (a > U32 || b > U32) bad(`seeds must be ≤ ${U32}`);
    if (b < a) bad(`the range ${a}-${b} is empty`);
    if (b - a >= 1e6) bad(`the range ${a}-${b} is too large`);
    for (let s = a; s <= b; s++) seeds.push(s);
  }
  if (new Set(seeds).size !== seeds.length) bad("a seed is repeated");
  return seeds;
}

/**
 * Parses `--shard i/N`: 0-based index i below N.
 *
 * @example
 * ```ts
 * import { parseShard } from "@specialize/specialize";
 * parseShard("2/4"); // { index: 2, count: 4 }
 * ```
 */
export function parseShard(arg: string, what = "--shard"): Shard {
  const m = arg.trim().match(/^(\d+)\/(\d+)$/);
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) {
    throw new ConfigError(
      `Invalid ${what} ${JSON.stringify(arg)}: expected i/N with N ≥ 1 and 0 ≤ i < N (0-based)`,
    );
  }
  return { index, count };
}

export { canonicalJson, configHash };

/** What a sweep is made of: a preset and/or base settings, grid axes and seeds. */
export interface SweepSpec {
  /** A preset name (see {@linkcode PRESETS}). */
  preset?: string;
  /** Base settings; over a preset's, under the grid's. */
  base?: RawSettings;
  /** Grid axes; an axis replaces the preset's axis of the same key. */
  grid?: GridAxis[];
  /** Seeds (default: the preset's, else the base seed, else 1). */
  seeds?: number[];
}

/**
 * Resolves every job of a sweep, validating each configuration. Throws a {@linkcode ConfigError}
 * naming the option on any bad value, repeated key, or repeated configuration.
 */
export async function planSweep(spec: SweepSpec): Promise<SweepPlan> {
  const preset = spec.preset === undefined ? undefined : presetOf(spec.preset);
  const user = spec.base ?? {};
  const epochs = user.epochs === undefined ? undefined : Number(user.epochs);
  const base: RawSettings = {
    ...(preset ? preset.base(Number.isFinite(epochs) ? epochs : undefined) : {}),
    ...user,
  };
  const grid: GridAxis[] = [];
  const seen = new Set<string>();
  for (const axis of spec.grid ?? []) {
    if (seen.has(axis.key)) {
      throw new ConfigError(`Invalid --grid: "${axis.key}" is given twice`);
    }
    seen.add(axis.key);
    grid.push(axis);
  }
  for (const axis of preset?.grid ?? []) if (!seen.has(axis.key)) grid.push(axis);
  for (const axis of grid) if (user[axis.key] !== undefined) delete base[axis.key];
  let seeds = spec.seeds;
  if (seeds === undefined) {
    // --seed alone means that one seed, also over a preset's seeds
    if (user.seed !== undefined) seeds = [resolveConfig({ settings: { seed: user.seed } }).seed];
    else seeds = preset?.seeds ?? [1];
  }
  if (seeds.length === 0) throw new ConfigError("Invalid --seeds: no seeds");
  delete base.seed;
  resolveConfig({ settings: base }); // base problems are reported as such, before grid ones
  const points: Record<string, unknown>[] = [{}];
  for (const axis of grid) {
    const next: Record<string, unknown>[] = [];
    for (const p of points) for (const v of axis.values) next.push({ ...p, [axis.key]: v });
    points.splice(0, points.length, ...next);
  }
  const jobs: SweepJob[] = [];
  const byHash = new Map<string, SweepJob>();
  for (const p of points) {
    for (const seed of seeds) {
      const config = resolveConfig(
        { settings: base },
        { settings: p, source: "--grid" },
        { settings: { seed } },
      );
      const hash = await configHash(config);
      const point: Record<string, string> = {};
      for (const axis of grid) point[axis.key] = formatValue(config[axis.key]);
      const prev = byHash.get(hash);
      if (prev) {
        const show = (q: Record<string, string>) =>
          Object.entries(q).map(([k, v]) => `${k}=${v}`).join(" ");
        throw new ConfigError(
          `Invalid --grid: two grid points give the same configuration (${show(prev.point)} and ${
            show(point)
          })`,
        );
      }
      const job = { index: jobs.length, hash, point, seed, config };
      byHash.set(hash, job);
      jobs.push(job);
    }
  }
  const id = await sha256Prefix(jobs.map((j) => j.hash).join(","));
  return { preset: preset?.name, base, grid, seeds, jobs, id };
}

/** The jobs of one shard: those whose index mod `count` is `index`. */
export function shardJobs(jobs: readonly SweepJob[], shard: Shard): SweepJob[] {
  return jobs.filter((j) => j.index % shard.count === shard.index);
}

/** The manifest written as `sweep.json`. */
export interface SweepManifest {
  /** Always "specialize-sweep". */
  kind: "specialize-sweep";
  /** Manifest format version. */
  format: 1;
  /** Preset name or null. */
  preset: string | null;
  /** Base settings. */
  base: RawSettings;
  /** Grid keys and their formatted values. */
  grid: { key: string; values: string[] }[];
  /** Seeds. */
  seeds: number[];
  /** Every job: hash, seed and grid point. */
  jobs: { hash: string; seed: number; point: Record<string, string> }[];
}

/** The manifest of a plan (deterministic: every shard writes the same bytes). */
export function manifestOf(plan: SweepPlan): SweepManifest {
  return {
    kind: "specialize-sweep",
    format: 1,
    preset: plan.preset ?? null,
    base: plan.base,
    grid: plan.grid.map((a) => ({
      key: a.key,
      values: [...new Set(plan.jobs.map((j) => j.point[a.key]))],
    })),
    seeds: plan.seeds,
    jobs: plan.jobs.map((j) => ({ hash: j.hash, seed: j.seed, point: j.point })),
  };
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Reads `<out>/sweep.json`; null if the folder has none. Throws ConfigError if it is unreadable.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function readManifest(out: string): Promise<SweepManifest | null> {
  requireDeno("readManifest");
  let text: string;
  try {
    text = await Deno.readTextFile(`${out}/sweep.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const m = JSON.parse(text);
    if (m?.kind === "specialize-sweep" && Array.isArray(m.jobs)) return m as SweepManifest;
  } catch { /* reported below */ }
  throw new ConfigError(`Folder ${JSON.stringify(out)} has a sweep.json that is not a sweep's`);
}

/**
 * Checks that `out` can hold this sweep, touching nothing: it does not exist, is empty, or holds
 * the same sweep (same jobs). Throws a {@linkcode ConfigError} otherwise.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function checkSweepFolder(out: string, plan: SweepPlan): Promise<void> {
  requireDeno("checkSweepFolder");
  const info = await statOrNull(out);
  if (!info) return;
  if (!info.isDirectory) {
    throw new ConfigError(`Invalid --out ${JSON.stringify(out)}: it is a file, expected a folder`);
  }
  let existing = await readManifest(out);
  if (!existing) {
    let other = false;
    for await (const e of Deno.readDir(out)) {
      // another shard may be writing the manifest this very moment
      if (!e.name.startsWith("sweep.json.tmp-")) other = true;
    }
    if (!other) return;
    // ... or have written it since we looked (then the folder holds sweep.json, runs/, ...)
    existing = await readManifest(out);
    if (!existing) {
      throw new ConfigError(
        `Folder ${JSON.stringify(out)} is not a sweep (no sweep.json) and not empty: ` +
          `choose another --out`,
      );
    }
  }
  const want = plan.jobs.map((j) => j.hash).join(",");
  const have = existing.jobs.map((j) => j.hash).join(",");
  if (want !== have) {
    throw new ConfigError(
      `Folder ${JSON.stringify(out)} holds a different sweep (${existing.jobs.length} jobs, grid ` +
        `${existing.grid.map((a) => a.key).join(" × ") || "none"} × ${existing.seeds.length} ` +
        `seeds): rerun it with the same settings or choose another --out`,
    );
  }
}

/** The state of one job on disk. */
export type JobState = "completed" | "failed" | "incomplete" | "pending";

/**
 * The state of a job's folder: result.json, error.json, something else, or nothing.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function jobState(out: string, hash: string): Promise<JobState> {
  requireDeno("jobState");
  const dir = `${out}/runs/${hash}`;
  if (await statOrNull(`${dir}/result.json`)) return "completed";
  if (await statOrNull(`${dir}/error.json`)) return "failed";
  return (await statOrNull(dir)) ? "incomplete" : "pending";
}

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

/**
 * Flattens the numeric (and boolean, as 0/1) fields of a value: camelCase → snake_case, nested
 * objects → `outer_inner`, arrays → `name_i`: `{ evalMse: 0.5, gradNorm: [1, 2] }` becomes
 * `{ eval_mse: 0.5, grad_norm_0: 1, grad_norm_1: 2 }`.
 */
export function flattenNumbers(value: unknown, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (v: unknown, name: string) => {
    if (typeof v === "number") out[name] = v;
    else if (typeof v === "boolean") out[name] = v ? 1 : 0;
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, name ? `${name}_${i}` : String(i)));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, name ? `${name}_${snake(k)}` : snake(k));
    }
  };
  walk(value, prefix);
  return out;
}

/**
 * Rebuilds `<out>/sweep.csv` from the manifest and what is on disk: one row per completed or
 * failed job, in manifest order. Returns the number of rows.
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function writeSweepCsv(out: string): Promise<number> {
  requireDeno("writeSweepCsv");
  const manifest = await readManifest(out);
  if (!manifest) throw new ConfigError(`Folder ${JSON.stringify(out)} is not a sweep`);
  const gridKeys = manifest.grid.map((a) => a.key);
  // A final metric named like a grid key or a fixed column (lr, when lr is an axis) gets the
  // prefix final_, so no column name repeats and the grid value stays as given.
  const fixed = new Set(["hash", "status", ...gridKeys, "seed", "seconds", "error"]);
  const metricName = (k: string) => fixed.has(k) ? `final_${k}` : k;
  const rows: Record<string, unknown>[] = [];
  const metricCols: string[] = [];
  const seenCols = new Set<string>();
  for (const job of manifest.jobs) {
    const dir = `${out}/runs/${job.hash}`;
    const row: Record<string, unknown> = { hash: job.hash, ...job.point, seed: job.seed };
    const read = await readJsonOrError(`${dir}/result.json`);
    const result = read.value as RunResult | null;
    if (read.error) {
      row.status = "unreadable";
      row.error = read.error;
    } else if (result) {
      row.status = result.status ?? "completed";
      const metrics = flattenNumbers(result.final);
      // final per-layer summaries (alignment), when the run wrote them: layer<l>_<field>
      const layers = (result as { layers?: unknown }).layers;
      if (Array.isArray(layers)) {
        for (const [i, l] of layers.entries()) {
          const { layer, ...fields } = l as { layer?: number };
          Object.assign(metrics, flattenNumbers(fields, `layer${layer ?? i}`));
        }
      }
      for (const [name, v] of Object.entries(metrics)) {
        const k = metricName(name);
        if (!seenCols.has(k)) seenCols.add(k), metricCols.push(k);
        row[k] = v;
      }
      row.seconds = (result.timing?.trainSeconds ?? 0) + (result.timing?.evalSeconds ?? 0);
      const d = result.divergence;
      if (d) row.error = `diverged after epoch ${d.epoch}: ${d.quantity} = ${d.value}`;
    } else {
      const read = await readJsonOrError(`${dir}/error.json`);
      const err = read.value as { error?: string; seconds?: number } | null;
      if (!err && !read.error) continue;
      row.status = "failed";
      row.seconds = err?.seconds;
      row.error = read.error ?? err?.error ?? "unknown error";
    }
    rows.push(row);
  }
  const cols = ["hash", "status", ...gridKeys, "seed", ...metricCols, "seconds", "error"];
  const text = [cols, ...rows.map((r) => cols.map((c) => r[c]))].map((r) => csvRow(r)).join("");
  await writeFileAtomic(`${out}/sweep.csv`, text);
  return rows.length;
}

/** A JSON file's value, or null if the file does not exist; any other failure throws. */
async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message})`);
  }
}

/** readJson, with a failure as an `error` instead of a throw (for one row of sweep.csv). */
async function readJsonOrError(path: string): Promise<{ value: unknown; error?: string }> {
  try {
    return { value: await readJson(path) };
  } catch (e) {
    return { value: null, error: (e instanceof Error ? e.message : String(e)).split("\n")[0] };
  }
}

/** Progress of a running sweep, reported after every job event. */
export interface SweepProgress {
  /** Jobs of this shard. */
  total: number;
  /** Finished earlier, skipped. */
  skipped: number;
  /** Run by another process (locked by it, or finished by it meanwhile), skipped. */
  elsewhere: number;
  /** Completed in this process. */
  completed: number;
  /** Failed in this process. */
  failed: number;
  /** Running now. */
  running: number;
  /** Seconds since the start. */
  elapsed: number;
  /** Estimated seconds left, or NaN before the first job ends. */
  eta: number;
}

/**
 * How one job is run; the default runs it in a Deno Worker with `runToFolder`. `force`: the job's
 * folder exists (replace it); `resume`: it was left incomplete (continue from its checkpoint if it
 * has one; a checkpoint that cannot be resumed is an error, never silently dropped).
 */
export type JobRunner = (
  job: SweepJob,
  dir: string,
  force: boolean,
  resume: boolean,
) => Promise<RunResult>;

/** Options of {@linkcode runSweep}. */
export interface SweepOptions {
  /** The sweep folder. */
  out: string;
  /** Parallel jobs (default: `navigator.hardwareConcurrency`). */
  jobs?: number;
  /** The share of the jobs to run (default: all). */
  shard?: Shard;
  /** Called after every job event. */
  onProgress?: (p: SweepProgress) => void;
  /** Runs one job (tests); default: a pool of Deno Workers running `runToFolder`. */
  runJob?: JobRunner;
  /**
   * Where the jobs' data sets go [default: "once": one copy per distinct data set in
   * `<out>/data/<hash>/`, referenced from each job's `config.json`; see `data_store.ts`].
   */
  saveData?: SaveData;
}

/** What a sweep did in this process. */
export interface SweepSummary {
  /** Jobs of this shard. */
  total: number;
  /** Finished before, skipped. */
  skipped: number;
  /** Run by another process (locked by it, or finished by it meanwhile), skipped. */
  elsewhere: number;
  /** Completed now. */
  completed: number;
  /** Failed now: hash and error message. */
  failures: { hash: string; error: string }[];
  /** Wall seconds. */
  seconds: number;
  /** Rows now in sweep.csv (all shards). */
  csvRows: number;
}

interface WorkerReply {
  ok: boolean;
  crashed?: boolean;
  result?: RunResult;
  error?: string;
}

/** A pool of module workers, each running one job at a time. */
class WorkerPool {
  #idle: Worker[] = [];
  #all = new Set<Worker>();
  #waiting: ((w: Worker) => void)[] = [];

  constructor(readonly size: number, readonly data: { saveData: SaveData; dataStore: string }) {}

  #spawn(): Worker {
    const w = new Worker(new URL("./sweep_worker.ts", import.meta.url), { type: "module" });
    this.#all.add(w);
    return w;
  }

  async #take(): Promise<Worker> {
    const w = this.#idle.pop();
    if (w) return w;
    if (this.#all.size < this.size) return this.#spawn();
    return await new Promise((resolve) => this.#waiting.push(resolve));
  }

  #give(w: Worker): void {
    const next = this.#waiting.shift();
    if (next) next(w);
    else this.#idle.push(w);
  }

  #replace(w: Worker): void {
    w.terminate();
    this.#all.delete(w);
    const next = this.#waiting.shift();
    if (next) next(this.#spawn());
  }

  run: JobRunner = async (job, dir, force, resume) => {
    const w = await this.#take();
    const reply = await new Promise<WorkerReply>((resolve) => {
      w.onmessage = (e: MessageEvent<WorkerReply>) => resolve(e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        resolve({ ok: false, crashed: true, error: `worker crashed: ${e.message}` });
      };
      w.postMessage({ config: job.config, hash: job.hash, out: dir, force, resume, ...this.data });
    });
    if (reply.crashed) this.#replace(w);
    else this.#give(w);
    if (!reply.ok) throw new Error(reply.error);
    return reply.result!;
  };

  close(): void {
    for (const w of this.#all) w.terminate();
    this.#all.clear();
    this.#idle = [];
  }
}

/**
 * Runs a sweep (or one shard of it) into `opts.out`: writes the manifest, skips finished jobs,
 * continues incomplete ones from their checkpoints (from scratch without one), redoes failed ones
 * from scratch, records failures (a checkpoint that cannot be resumed included) in `error.json`
 * and goes on, and rewrites `sweep.csv` as jobs end. Call {@linkcode checkSweepFolder} first to get usage
 * errors before anything is written (this function calls it too).
 * Deno only: in a browser it throws a `NeedsDenoError`.
 */
export async function runSweep(plan: SweepPlan, opts: SweepOptions): Promise<SweepSummary> {
  requireDeno("runSweep");
  const { out } = opts;
  const shard = opts.shard ?? { index: 0, count: 1 };
  await checkSweepFolder(out, plan);
  const t0 = performance.now();
  // The manifest first, then runs/: a folder with anything else in it is always a sweep's.
  // Shards starting together into one folder write the same bytes, so whichever rename wins is fine.
  await Deno.mkdir(out, { recursive: true });
  if ((await readJson(`${out}/sweep.json`)) === null) {
    await writeFileAtomic(`${out}/sweep.json`, JSON.stringify(manifestOf(plan), null, 2) + "\n");
  }
  await Deno.mkdir(`${out}/runs`, { recursive: true });
  const mine = shardJobs(plan.jobs, shard);
  const todo: { job: SweepJob; scanned: JobState }[] = [];
  let skipped = 0;
  for (const job of mine) {
    const state = await jobState(out, job.hash);
    if (state === "completed") skipped++;
    else todo.push({ job, scanned: state });
  }
  const log = async (event: string, job: SweepJob, extra: Record<string, unknown> = {}) => {
    const line = JSON.stringify({
      event,
      hash: job.hash,
      shard: `${shard.index}/${shard.count}`,
      pid: Deno.pid,
      time: new Date().toISOString(),
      ...extra,
    });
    await Deno.writeTextFile(`${out}/log.jsonl`, line + "\n", { append: true });
  };

  // sweep.csv: one rewrite at a time; a request during a rewrite triggers one more after it.
  let csvRows = 0, csvBusy: Promise<void> | null = null, csvAgain = false;
  const refreshCsv = (): Promise<void> => {
    if (csvBusy) {
      csvAgain = true;
      return csvBusy;
    }
    csvBusy = (async () => {
      do {
        csvAgain = false;
        csvRows = await writeSweepCsv(out);
      } while (csvAgain);
      csvBusy = null;
    })();
    return csvBusy;
  };

  const concurrency = Math.max(
    1,
    Math.min(opts.jobs ?? navigator.hardwareConcurrency ?? 1, todo.length || 1),
  );
  const saveData = parseSaveData(opts.saveData ?? "once", "saveData");
  const pool = opts.runJob
    ? null
    : new WorkerPool(concurrency, { saveData, dataStore: `${out}/${DATA_DIR}` });
  const runJob = opts.runJob ?? pool!.run;
  let completed = 0, running = 0, elsewhere = 0;
  const failures: { hash: string; error: string }[] = [];
  const progress = () => {
    const elapsed = (performance.now() - t0) / 1000;
    const done = completed + failures.length + elsewhere;
    const left = todo.length - done;
    opts.onProgress?.({
      total: mine.length,
      skipped,
      elsewhere,
      completed,
      failed: failures.length,
      running,
      elapsed,
      eta: done ? (elapsed / done) * left : NaN,
    });
  };
  progress();
  let next = 0;
  const lane = async () => {
    while (next < todo.length) {
      const { job, scanned } = todo[next++];
      const dir = `${out}/runs/${job.hash}`;
      const got = await lockJob(out, job.hash);
      if (!("lock" in got)) {
        elsewhere++;
        await log("elsewhere", job, { heldBy: got.heldBy });
        progress();
        continue;
      }
      const release = got.lock.release;
      // Another process may have finished (or failed) it between the scan and the lock; one that
      // was killed left it incomplete, to resume.
      const state = await jobState(out, job.hash);
      if (state === "completed" || (state === "failed" && scanned !== "failed")) {
        await release();
        elsewhere++;
        progress();
        continue;
      }
      running++;
      progress();
      await log("start", job);
      const j0 = performance.now();
      try {
        await runJob(job, dir, state !== "pending", state === "incomplete");
        completed++;
        await log("completed", job, { seconds: (performance.now() - j0) / 1000 });
      } catch (e) {
        const error = (e instanceof Error ? e.message : String(e)).split("\n")[0];
        const seconds = (performance.now() - j0) / 1000;
        failures.push({ hash: job.hash, error });
        await Deno.mkdir(dir, { recursive: true });
        await writeFileAtomic(
          `${dir}/error.json`,
          JSON.stringify(
            { status: "failed", hash: job.hash, error, seconds, config: job.config },
            null,
            2,
          ) + "\n",
        );
        await log("failed", job, { seconds, error });
      } finally {
        await release();
      }
      running--;
      await refreshCsv();
      progress();
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    pool?.close();
  }
  await refreshCsv();
  return {
    total: mine.length,
    skipped,
    elsewhere,
    completed,
    failures,
    seconds: (performance.now() - t0) / 1000,
    csvRows,
  };
}

/** Environment variables a sweep reads for its shard (Slurm job arrays, Kubernetes Indexed Jobs). */
export const SHARD_ENV = [
  "SLURM_ARRAY_TASK_ID",
  "SLURM_ARRAY_TASK_COUNT",
  "SLURM_ARRAY_TASK_MIN",
  "SLURM_ARRAY_TASK_STEP",
  "JOB_COMPLETION_INDEX",
] as const;

const SLURM_ENV = SHARD_ENV.filter((v) => v.startsWith("SLURM_"));

/**
 * The shard of a Slurm array task: index (ID − MIN) / STEP of COUNT (`--array=1-7:2` → ids 1, 3, 5,
 * 7 → shards 0, 1, 2, 3 of 4), or null outside an array. A partial or malformed environment (a
 * variable unset, unreadable, empty or not an integer; an id off the array's steps) is refused.
 */
function slurmShard(env: (name: string) => string | undefined): Shard | null {
  const v = Object.fromEntries(SLURM_ENV.map((n) => [n, env(n)]));
  const set = SLURM_ENV.filter((n) => v[n] !== undefined);
  if (set.length === 0) return null;
  const missing = SLURM_ENV.filter((n) => v[n] === undefined);
  if (missing.length) {
    throw new ConfigError(
      `Slurm array environment is partial: ${missing.join(", ")} not set or not readable ` +
        `(grant --allow-env=${SLURM_ENV.join(",")}, or pass --shard i/N)`,
    );
  }
  const num: Record<string, number> = {};
  for (const n of SLURM_ENV) {
    const text = v[n]!.trim();
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new ConfigError(`Invalid ${n} ${JSON.stringify(v[n])}: expected an integer ≥ 0`);
    }
    num[n] = Number(text);
  }
  const id = num.SLURM_ARRAY_TASK_ID, min = num.SLURM_ARRAY_TASK_MIN;
  const step = num.SLURM_ARRAY_TASK_STEP, count = num.SLURM_ARRAY_TASK_COUNT;
  const what = `SLURM_ARRAY_TASK_ID ${id}, _MIN ${min}, _STEP ${step}, _COUNT ${count}`;
  if (step < 1 || count < 1 || id < min || (id - min) % step !== 0 || (id - min) / step >= count) {
    throw new ConfigError(
      `Invalid Slurm array environment (${what}): the id is not one of min + k·step for ` +
        `k < count; use --array=A-B or A-B:S, or --shard i/N`,
    );
  }
  return { index: (id - min) / step, count };
}

/**
 * Decides the shard: `--shard i/N` if given; else Slurm's (SLURM_ARRAY_TASK_ID −
 * SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP of SLURM_ARRAY_TASK_COUNT (all four required, see
 * the Slurm rules above); else Kubernetes' JOB_COMPLETION_INDEX of
 * `--shard-count`; else the whole sweep. `env` returns a variable's value or undefined.
 */
export function resolveShard(
  opts: { shard?: string; shardCount?: string },
  env: (name: string) => string | undefined,
): Shard {
  if (opts.shard !== undefined) {
    if (opts.shardCount !== undefined) {
      throw new ConfigError("Invalid --shard-count: give either --shard i/N or --shard-count N");
    }
    return parseShard(opts.shard);
  }
  let count: number | undefined;
  if (opts.shardCount !== undefined) {
    count = /^\d+$/.test(opts.shardCount.trim()) ? Number(opts.shardCount) : NaN;
    if (!(count >= 1)) {
      throw new ConfigError(
        `Invalid --shard-count ${JSON.stringify(opts.shardCount)}: expected an integer ≥ 1`,
      );
    }
  }
  if (count === undefined) {
    const slurm = slurmShard(env);
    if (slurm) return slurm;
  }
  const k8s = env("JOB_COMPLETION_INDEX");
  if (count !== undefined) {
    if (k8s === undefined) {
      throw new ConfigError(
        "Invalid --shard-count: it needs JOB_COMPLETION_INDEX in the environment, readable " +
          "(--allow-env=JOB_COMPLETION_INDEX), or use --shard i/N",
      );
    }
    return parseShard(`${k8s}/${count}`, "shard from JOB_COMPLETION_INDEX/--shard-count");
  }
  if (k8s !== undefined) {
    throw new ConfigError(
      `JOB_COMPLETION_INDEX is ${k8s} but the shard count is unknown: pass --shard-count N`,
    );
  }
  return { index: 0, count: 1 };
}
