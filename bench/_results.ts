/**
 * Bench results as files: every bench writes what it measured, with the machine it ran on, to
 * `bench/results/<name>.json`, so each performance figure in the README can cite a committed file.
 *
 * A results file is `{ bench, environment, results }`: `environment` names the CPU (from
 * /proc/cpuinfo on Linux, "unknown" elsewhere), the logical cores, OS and architecture, the Deno
 * and V8 versions, the tool's version, the sha256 of the WASM kernels and the date (ISO 8601, UTC);
 * `results` is whatever the bench measured (tables become arrays of records, see
 * {@linkcode tableRecords}).
 * @module
 */

import { VERSION } from "../src/version.ts";
import { WASM_SHA256 } from "../wasm/kernels_wasm.ts";

/** Where a bench ran. */
export interface BenchEnvironment {
  /** CPU model name, e.g. "AMD EPYC 9R45" ("unknown" if it cannot be read). */
  cpu: string;
  /** Logical cores (navigator.hardwareConcurrency). */
  cores: number;
  /** Deno.build.os. */
  os: string;
  /** Deno.build.arch. */
  arch: string;
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** The tool's version. */
  version: string;
  /** sha256 of the WASM kernels module. */
  wasmSha256: string;
  /** When the results were written, ISO 8601 UTC. */
  date: string;
  /** The 1, 5 and 15 minute load averages when written (/proc/loadavg), or null: a shared machine's. */
  loadAverage: number[] | null;
}

/** One results file. */
export interface BenchResults {
  /** The bench's name (the file is `<bench>.json`). */
  bench: string;
  /** Where and when it ran. */
  environment: BenchEnvironment;
  /** What it measured. */
  results: unknown;
}

/** The default folder of results files: `bench/results/`. */
export const RESULTS_DIR: URL = new URL("./results/", import.meta.url);

/**
 * The CPU's model name from a /proc/cpuinfo text, with its family and model numbers when given
 * (virtual machines often show only "AMD EPYC"), or "unknown".
 */
export function cpuModel(cpuinfo: string): string {
  const field = (name: string) =>
    cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.+)$`, "m"))?.[1].trim().replace(/\s+/g, " ");
  const name = field("model name") ?? field("Hardware") ?? field("Processor");
  if (!name) return "unknown";
  const family = field("cpu family"), model = field("model");
  return family && model ? `${name} (family ${family}, model ${model})` : name;
}

/** The environment of this process (reads /proc/cpuinfo where it exists). */
export function benchEnvironment(date: Date = new Date()): BenchEnvironment {
  const read = (path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return ""; // not Linux, or no read permission: "unknown" / null
    }
  };
  const cpuinfo = read("/proc/cpuinfo");
  const load = read("/proc/loadavg").trim().split(/\s+/).slice(0, 3).map(Number);
  return {
    cpu: cpuModel(cpuinfo),
    cores: navigator.hardwareConcurrency,
    os: Deno.build.os,
    arch: Deno.build.arch,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    version: VERSION,
    wasmSha256: WASM_SHA256,
    date: date.toISOString(),
    loadAverage: load.length === 3 && load.every(Number.isFinite) ? load : null,
  };
}

/**
 * A printed table (header row first) as records, header → value; cells that are numbers become
 * numbers, empty cells null.
 */
export function tableRecords(rows: readonly string[][]): Record<string, string | number | null>[] {
  const [head, ...body] = rows;
  return body.map((r) =>
    Object.fromEntries(head.map((h, c) => {
      const cell = r[c] ?? "";
      const x = cell.trim() === "" ? NaN : Number(cell);
      return [h, cell.trim() === "" ? null : Number.isFinite(x) ? x : cell];
    }))
  );
}

/**
 * Writes `<dir>/<bench>.json` (default dir {@linkcode RESULTS_DIR}) with the environment and the
 * results, replacing an earlier file of that bench, and returns its path. Needs write access to
 * the folder and read access to /proc/cpuinfo (for the CPU's name).
 */
export async function writeBenchResults(
  bench: string,
  results: unknown,
  dir: string | URL = RESULTS_DIR,
): Promise<string> {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(bench)) {
    throw new RangeError(`Bench name "${bench}": use lower-case letters, digits, - and _`);
  }
  const folder = typeof dir === "string" ? dir : dir.pathname;
  await Deno.mkdir(folder, { recursive: true });
  const path = `${folder.replace(/\/$/, "")}/${bench}.json`;
  const file: BenchResults = { bench, environment: benchEnvironment(), results };
  await Deno.writeTextFile(path, JSON.stringify(file, null, 2) + "\n");
  console.log(`results: ${path}`);
  return path;
}
