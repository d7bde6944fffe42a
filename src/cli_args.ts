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

/** Parses argv strictly; any problem becomes a one-line {@linkcode ConfigError}. */
export function parseFlags(argv: string[], flags: FlagSpec[]): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const f of flags) options[f.name] = { type: f.type, multiple: f.multiple ?? false };
  // "--teacher-bias -0.2": a negative number is the value of a string flag, not another flag.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith("--") ? argv[i].slice(2) : "";
    const next = argv[i + 1];
    if (options[name]?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      args.push(`${argv[i]}=${next}`);
      i++;
    } else args.push(argv[i]);
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
