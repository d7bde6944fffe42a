/**
 * Where a run's training and eval data go on disk (`--save-data`):
 * - `all`: `train_x.npy`, `train_y.npy`, `eval_x.npy`, `eval_y.npy` in the run folder itself;
 * - `once`: in a content-addressed store shared by many runs: each file as
 *   `<store>/<hash>/<name>.npy`, `<hash>` the first 12 hex digits of the sha256 of its name and
 *   bytes. Runs with the same seed and data settings share their inputs whatever the teacher
 *   (p, widths) and the student; runs with the same teacher too share the labels. A sweep's store
 *   is `<sweep>/data/`; a single run's is `data/` beside its folder;
 * - `none`: no data files (they can be regenerated from `config.json`: same seed, same bits).
 *
 * The run's `config.json` records the choice under `meta.data`: `{ save, files? }`, `files` giving
 * each data file's path relative to the run folder (`../../data/<hash>/train_x.npy` in a sweep),
 * so a sweep folder can be moved or copied as a whole. {@linkcode runDataFiles} resolves it.
 * @module
 */

import { ConfigError, type RunConfig } from "./config.ts";
import { requireDeno } from "./platform.ts";
import { writeThroughTemp } from "./_files.ts";

/** How a run stores its data sets: its own copy, one shared copy per distinct data set, or none. */
export type SaveData = "all" | "once" | "none";

/** The accepted values of `--save-data`. */
export const SAVE_DATA_MODES: readonly SaveData[] = ["all", "once", "none"];

/** The data files of a run, in the order they are hashed. */
export const DATA_FILES: readonly string[] = ["train_x", "train_y", "eval_x", "eval_y"];

/** What `config.json` records about a run's data (`meta.data`). */
export interface DataRef {
  /** The `--save-data` mode. */
  save: SaveData;
  /** `once`: each data file's path relative to the run folder (or absolute), by name. */
  files?: Record<string, string>;
}

/**
 * Checks a `--save-data` value; throws a one-line {@linkcode ConfigError} naming it otherwise.
 *
 * @example
 * ```ts
 * import { parseSaveData } from "@specialize/specialize";
 * console.log(parseSaveData("once")); // "once"
 * ```
 */
export function parseSaveData(value: unknown, flag = "--save-data"): SaveData {
  if (SAVE_DATA_MODES.includes(value as SaveData)) return value as SaveData;
  throw new ConfigError(
    `Invalid ${flag} ${JSON.stringify(value)}: expected ${SAVE_DATA_MODES.join(", ")} ` +
      `(all: a copy in every run folder, once: one shared copy per distinct data set, none: no data files)`,
  );
}

/** A path with `.` and `a/..` segments removed (leading `..` kept). */
export function normalizePath(path: string): string {
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const s of path.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === ".." && out.length && out.at(-1) !== "..") out.pop();
    else if (!(s === ".." && abs)) out.push(s);
  }
  return (abs ? "/" : "") + out.join("/") || (abs ? "/" : ".");
}

/** `target` relative to the folder `from` when both are relative or both absolute, else `target`. */
export function relativePath(from: string, target: string): string {
  if (from.startsWith("/") !== target.startsWith("/")) return target;
  const a = normalizePath(from).split("/").filter((s) => s && s !== ".");
  const b = normalizePath(target).split("/").filter((s) => s && s !== ".");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  // Leading ".." of `from` that are not shared cannot be climbed back without the working folder.
  if (a.slice(i).includes("..")) return target;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/") || ".";
}

/** The folder `rel` names relative to the folder `base` (`rel` itself when absolute). */
export function resolvePath(base: string, rel: string): string {
  return rel.startsWith("/") ? normalizePath(rel) : normalizePath(`${base}/${rel}`);
}

/** The default store of a run folder that is not part of a sweep: `data/` beside it. */
export function defaultStore(out: string): string {
  return resolvePath(out, "../data");
}

/** The first 12 hex digits of the sha256 of a data file's name, a NUL and its bytes. */
export async function dataHash(name: string, bytes: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`${name}\0`);
  const all = new Uint8Array(head.length + bytes.length);
  all.set(head);
  all.set(bytes, head.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Writes a file unless it exists, through a temporary name unique to this writer (workers of one
 * process and processes sharing a folder may write the same data set at once: same bytes, so
 * whichever rename lands last is fine).
 */
async function writeOnce(path: string, bytes: Uint8Array): Promise<void> {
  if (await exists(path)) return;
  // a random tag as well: sweep workers of one process share the pid
  const tag = crypto.getRandomValues(new Uint32Array(1))[0];
  await writeThroughTemp(path, `${path}.tmp-${Deno.pid}${tag}`, bytes);
}

/**
 * Stores a run's data files as `mode` says (see the module doc) and returns what `config.json`
 * records. `write(name, bytes)` writes a file into the run folder (mode `all`).
 */
export async function storeData(
  files: readonly { name: string; bytes: Uint8Array }[],
  mode: SaveData,
  out: string,
  store: string,
  write: (name: string, bytes: Uint8Array) => Promise<void>,
): Promise<DataRef> {
  if (mode === "none") return { save: "none" };
  if (mode === "all") {
    for (const f of files) await write(`${f.name}.npy`, f.bytes);
    return { save: "all" };
  }
  const paths: Record<string, string> = {};
  for (const f of files) {
    const dir = `${normalizePath(store)}/${await dataHash(f.name, f.bytes)}`;
    await Deno.mkdir(dir, { recursive: true });
    await writeOnce(`${dir}/${f.name}.npy`, f.bytes);
    paths[f.name] = relativePath(out, `${dir}/${f.name}.npy`);
  }
  return { save: "once", files: paths };
}

/** Paths of a run's data files (null where not saved), and how they were stored. */
export interface RunDataFiles {
  /** The `--save-data` mode of the run (`all` for runs written before it existed). */
  save: SaveData;
  /** Path of each data file (`train_x` … `eval_y`), or null if not saved. */
  files: Record<string, string | null>;
}

/**
 * The data files of a run folder, wherever `--save-data` put them: in the folder, in a shared
 * content-addressed store (resolved from `config.json` `meta.data.files`), or nowhere. Needs read
 * access to the run folder and the store. Deno only: in a browser it throws a `NeedsDenoError`.
 *
 * @example
 * ```ts
 * import { resolveConfig, runDataFiles, runToFolder } from "@specialize/specialize";
 * const dir = await Deno.makeTempDir();
 * const settings = { d: 5, widths: [3], outputs: 2, nTrain: 100, nEval: 50, iters: 10, epochs: 1 };
 * await runToFolder(resolveConfig({ settings }), { out: `${dir}/a`, saveData: "once" });
 * const data = await runDataFiles(`${dir}/a`);
 * console.log(data.save, data.files.eval_x); // "once", "<dir>/data/<hash>/eval_x.npy"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runDataFiles(dir: string): Promise<RunDataFiles> {
  requireDeno("runDataFiles");
  let meta: { data?: DataRef } | undefined;
  try {
    meta = JSON.parse(await Deno.readTextFile(`${dir}/config.json`)).meta;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`${JSON.stringify(dir)} is not a run folder (no config.json)`);
    }
    throw e;
  }
  const ref: DataRef = meta?.data ?? { save: "all" };
  const files: Record<string, string | null> = {};
  for (const name of DATA_FILES) {
    const rel = ref.save === "once" ? ref.files?.[name] : `${name}.npy`;
    const path = rel === undefined ? null : resolvePath(dir, rel);
    files[name] = ref.save !== "none" && path !== null && (await exists(path)) ? path : null;
  }
  return { save: ref.save, files };
}

/**
 * Config keys that change only the student, its training or the measurements, never the teacher
 * or the data sets
 * (those come from their own random streams of the seed). Every other key, including options
 * added later, is assumed to change the data: estimates then count too many data sets, never too
 * few.
 */
export const STUDENT_ONLY_KEYS: readonly (keyof RunConfig)[] = [
  "multi",
  "batch",
  "lr",
  "epochs",
  "iters",
  "sampling",
  "init",
  "initStd",
  "momentum",
  "weightDecay",
  "evalEvery",
  "saveCorrAt",
  "nTrainEval",
  "nGradEval",
  "loss",
  "optimizer",
  "adamBeta1",
  "adamBeta2",
  "adamEps",
  "perturbStd",
  "freezeTop",
];

/**
 * Config keys that change the teacher or the labels (label noise) but not the inputs (Gaussian inputs come from their own
 * random stream; teacher-aware inputs depend on the teacher, see {@linkcode dataKeys}).
 */
export const TEACHER_ONLY_KEYS: readonly (keyof RunConfig)[] = [
  "widths",
  "outputs",
  "p",
  "teacherBias",
  "biasTuning",
  "standardize",
  "slope",
  "teacherSlope",
  "labelNoise",
];

function keyWithout(config: RunConfig, drop: readonly (keyof RunConfig)[]): string {
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(config).sort()) {
    if (k !== "meta" && !drop.includes(k as keyof RunConfig)) {
      rest[k] = (config as unknown as Record<string, unknown>)[k];
    }
  }
  return JSON.stringify(rest);
}

/**
 * The settings that decide a run's data files, as canonical text: equal keys ⇒ the same inputs
 * (`x`: `train_x`, `eval_x`) or the same labels (`y`: `train_y`, `eval_y`).
 */
export function dataKeys(config: RunConfig): { x: string; y: string } {
  const y = keyWithout(config, STUDENT_ONLY_KEYS);
  const aware = config.data === "teacher-aware";
  const x = aware ? y : keyWithout(config, [...STUDENT_ONLY_KEYS, ...TEACHER_ONLY_KEYS]);
  return { x, y };
}

/** Bytes of an `.npy` file of a rows × cols matrix (the header is padded to 128 bytes). */
const npyBytes = (rows: number, cols: number, bpe: number) => 128 + rows * cols * bpe;

/** Estimated disk of one run: its folder without the data sets, and one copy of its data sets. */
export interface DiskEstimate {
  /** The run folder without data files (CSVs, weights, correlation matrices, JSON). */
  runBytes: number;
  /** One copy of its training and eval data (inputs and teacher outputs). */
  dataBytes: number;
  /** Of `dataBytes`: the inputs (`train_x`, `eval_x`). */
  xBytes: number;
}

/**
 * Estimates the disk a finished run folder takes. Text sizes are averages measured on two-layer
 * and four-layer runs (a CSV number takes about 19 characters); within about 15 %.
 */
export function estimateRunDisk(c: RunConfig): DiskEstimate {
  const bpe = c.precision === "f32" ? 4 : 8;
  const teacher = [c.d, ...c.widths, c.outputs];
  const student = [c.d, ...c.widths.map((w) => w * c.multi), c.outputs];
  const layers = teacher.length - 1, hidden = c.widths.length;
  let weights = 0;
  for (let l = 0; l < layers; l++) {
    weights += npyBytes(teacher[l] + 1, teacher[l + 1], bpe) +
      2 * npyBytes(student[l] + 1, student[l + 1], bpe);
  }
  const saveAt = new Set(c.saveCorrAt.filter((e) => e >= 0 && e <= c.epochs));
  const evaluated = new Set([0, c.epochs, ...saveAt]);
  for (let e = 0; e <= c.epochs; e += c.evalEvery) evaluated.add(e);
  const matrices = new Set([0, c.epochs, ...saveAt]).size;
  const splits = c.nTrain > 0 ? 2 : 1;
  let corr = 0, teachers = 0, students = 0;
  for (let h = 0; h < hidden; h++) {
    const m = c.widths[h], n = c.widths[h] * c.multi;
    corr += matrices * (splits + 1) * npyBytes(m, n, 8);
    // order parameters: Q (students²) and R (students × teachers) per saved epoch, T once
    corr += matrices * (npyBytes(n, n, 8) + npyBytes(n, m, 8)) + npyBytes(m, m, 8);
    teachers += m;
    students += n;
  }
  const evals = evaluated.size;
  const metrics = evals * (4 + 4 * layers + 5) * 19;
  const alignment = evals * splits * teachers * (20 + 2 * 19 + 6 * 3);
  const studentsCsv = evals * splits * students * (22 + 4 * 19);
  const timeline = splits * teachers * 6 * 18 + evaluated.size * hidden * 110;
  const json = 2000 + 600 * hidden;
  const subsample = c.nTrain > c.nTrainEval ? 128 + 4 * c.nTrainEval : 0;
  const runBytes = weights + corr + metrics + alignment + studentsCsv + timeline + json + subsample;
  const rows = [c.nEval, ...(c.nTrain > 0 ? [c.nTrain] : [])];
  const xBytes = rows.reduce((a, r) => a + npyBytes(r, c.d, bpe), 0);
  const dataBytes = xBytes + rows.reduce((a, r) => a + npyBytes(r, c.outputs, bpe), 0);
  return { runBytes, dataBytes, xBytes };
}

/** Estimated disk of many runs stored with `mode`: per-run folders plus the data sets kept. */
export function estimateDisk(
  configs: readonly RunConfig[],
  mode: SaveData,
): { bytes: number; dataSets: number; dataBytes: number } {
  let bytes = 0, dataBytes = 0;
  const xs = new Set<string>(), ys = new Set<string>();
  for (const c of configs) {
    const e = estimateRunDisk(c);
    bytes += e.runBytes;
    if (mode === "all") dataBytes += e.dataBytes;
    if (mode !== "once") continue;
    const { x, y } = dataKeys(c);
    if (!xs.has(x)) dataBytes += e.xBytes;
    if (!ys.has(y)) dataBytes += e.dataBytes - e.xBytes;
    xs.add(x);
    ys.add(y);
  }
  const dataSets = mode === "none" ? 0 : mode === "all" ? configs.length : ys.size;
  return { bytes: bytes + dataBytes, dataSets, dataBytes };
}

/** A byte count for people: "87 MB", "7.9 GB" (decimal units). */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${n >= 100 || u === 0 ? Math.round(n) : n.toPrecision(2)} ${units[u]}`;
}
