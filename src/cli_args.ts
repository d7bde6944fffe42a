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
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    return { values: { ...values } as ParsedArgs["values"], positionals };
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0];
    throw new ConfigError(`${msg} (see --help)`);
  }
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
    return [`--${o.flag}${arg}`, `${o.help} [default: ${formatValue(o.default)}]`];
  });
}

/** Help rows as aligned text lines. */
export function formatHelpRows(rows: [string, string][]): string {
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([a, b]) => `  ${a.padEnd(w)}${b}`).join("\n");
}
