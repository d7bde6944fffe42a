/**
 * Command-line flag parsing behind one small function, so the parser (node:util's parseArgs now,
 * `@std/cli` later) is one edit away. Not part of the library (`mod.ts` does not import it).
 * @module
 */

import { parseArgs } from "node:util";
import {
  ConfigError,
  formatValue,
  OPTIONS,
  placeholder,
  type RawSettings,
  type RunConfig,
} from "./config.ts";

/** A flag the command accepts: string-valued or a bare boolean switch (with a --no- form). */
export interface FlagSpec {
  /** Flag name without dashes. */
  name: string;
  /** "string" takes a value; "boolean" is a switch. */
  type: "string" | "boolean";
  /** May be given several times (values collected in order). */
  multiple?: boolean;
  /** A file or folder path: an empty value or the filesystem root is refused. */
  path?: boolean;
}

/** Whether a path names the filesystem root (`/`, `//`, `/..`, `.` run from `/`, `C:\`…). */
function isRoot(path: string): boolean {
  let full = path.replaceAll("\\", "/");
  if (/^[A-Za-z]:/.test(full)) full = full.slice(2);
  else if (!full.startsWith("/")) {
    let cwd: string;
    try {
      cwd = Deno.cwd().replaceAll("\\", "/").replace(/^[A-Za-z]:/, "");
    } catch {
      return false; // no read access: the path is used relative to an unknown folder
    }
    full = `${cwd}/${full}`;
  }
  const parts: string[] = [];
  for (const seg of full.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return parts.length === 0;
}

/**
 * Checks a path given for `what` (a flag like "--out" or an argument like "DIR"): an empty value
 * and the filesystem root are refused with a one-line {@linkcode ConfigError}.
 */
export function checkPath(what: string, value: string): string {
  if (value.trim() === "") {
    throw new ConfigError(`Invalid ${what} ${JSON.stringify(value)}: expected a path, got nothing`);
  }
  if (isRoot(value)) {
    throw new ConfigError(
      `Invalid ${what} ${JSON.stringify(value)}: the filesystem root is never used; give a folder`,
    );
  }
  return value;
}

/** Parsed flags (by flag name) and positionals. */
export interface ParsedArgs {
  /** Values by flag name: string, string[] (multiple), or boolean. */
  values: Record<string, string | string[] | boolean | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours) of two strings. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The known name (flag or command) nearest to a misspelt one (a few edits away, or a prefix of
 * it), or null.
 */
export function closest(name: string, known: readonly string[]): string | null {
  let best: string | null = null, bestD = Infinity;
  for (const k of known) {
    const d = k.startsWith(name) && name.length >= 3 ? 0.5 : distance(name, k);
    if (d < bestD) best = k, bestD = d;
  }
  return bestD <= (name.length >= 4 ? 2 : name.length === 3 ? 1 : 0.5) ? best : null;
}

/** Parses argv strictly; any problem becomes a one-line {@linkcode ConfigError}. */
export function parseFlags(argv: string[], flags: FlagSpec[]): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const f of flags) options[f.name] = { type: f.type, multiple: f.multiple ?? false };
  // "--teacher-bias -0.2": a negative number is the value of a string flag, not another flag.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") {
      args.push(...argv.slice(i));
      break;
    }
    if (/^-[^-\d.]/.test(argv[i])) {
      // Short options: -h is --help; there are no others (node's parser would quote them oddly).
      if (argv[i] === "-h" && options.help) {
        args.push("--help");
        continue;
      }
      throw new ConfigError(`Unknown option ${argv[i]}: options are long, e.g. --help`);
    }
    const name = argv[i].startsWith("--") ? argv[i].slice(2) : "";
    const next = argv[i + 1];
    if (options[name]?.type === "string" && (next === undefined || next.startsWith("--"))) {
      throw new ConfigError(`Missing value for --${name} (see --help)`);
    }
    if (options[name]?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      args.push(`${argv[i]}=${next}`);
      i++;
    } else args.push(argv[i]);
  }
  for (const a of argv) {
    if (a === "--") break;
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0];
    const known = options[name] ??
      (name.startsWith("no-") && options[name.slice(3)]?.type === "boolean" ? {} : undefined);
    if (!known) {
      const booleans = Object.keys(options).filter((k) => options[k].type === "boolean");
      const near = name.startsWith("no-")
        ? closest(name.slice(3), booleans)?.replace(/^/, "no-")
        : closest(name, Object.keys(options));
      throw new ConfigError(
        `Unknown option --${name}${near ? `; did you mean --${near}?` : ""} (see --help)`,
      );
    }
  }
  let parsed: ParsedArgs;
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    parsed = { values: { ...values } as ParsedArgs["values"], positionals };
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0];
    throw new ConfigError(`${msg} (see --help)`);
  }
  for (const f of flags) {
    const v = parsed.values[f.name];
    if (f.path && typeof v === "string") checkPath(`--${f.name}`, v);
  }
  return parsed;
}

/** One flag per run option (booleans as switches), shared by `train` and `sweep`. */
export const RUN_OPTION_FLAGS: readonly FlagSpec[] = OPTIONS.map((o) => ({
  name: o.flag,
  type: o.kind === "bool" ? "boolean" : "string",
}));

/** The run settings given as flags (config keys → raw values). */
export function runSettings(values: ParsedArgs["values"]): RawSettings {
  const settings: RawSettings = {};
  for (const o of OPTIONS) if (values[o.flag] !== undefined) settings[o.key] = values[o.flag];
  return settings;
}

/** Help rows (`--flag VALUE`, `help [default: …]`) of the run options, less `skip`. */
export function runOptionHelpRows(skip: (keyof RunConfig)[] = []): [string, string][] {
  return OPTIONS.filter((o) => !skip.includes(o.key)).map((o) => {
    const arg = o.kind === "bool" ? "" : ` ${placeholder(o)}`;
    const range = (o.kind === "int" || o.kind === "intList") && o.max !== undefined
      ? `${o.min} to ${o.max}; `
      : "";
    return [`--${o.flag}${arg}`, `${o.help} [${range}default: ${formatValue(o.default)}]`];
  });
}

/** Help rows as aligned text lines. */
export function formatHelpRows(rows: [string, string][]): string {
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => `  ${a.padEnd(w)}${b}`).join("\n");
}

/** Reads a `--config` JSON file of settings; a one-line {@linkcode ConfigError} if unusable. */
export async function readConfigFile(path: string): Promise<RawSettings> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : (e as Error).message.split("\n")[0];
    throw new ConfigError(`Invalid --config ${JSON.stringify(path)}: cannot read it (${why})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(
      `Invalid --config ${JSON.stringify(path)}: not valid JSON (${(e as Error).message})`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      `Invalid --config ${JSON.stringify(path)}: expected a JSON object of settings`,
    );
  }
  return value as RawSettings;
}
