/**
 * The `report` command: a run or sweep folder → `<folder>/report/` (figures as SVG, summary tables
 * as CSV, index.html). Not part of the library.
 * @module
 */

import { ConfigError } from "./config.ts";
import { checkPath, type FlagSpec, parseFlags } from "./cli_args.ts";
import { writeReport } from "./report.ts";

const REPORT_FLAGS: FlagSpec[] = [
  { name: "out", type: "string", path: true },
  { name: "help", type: "boolean" },
];

const HELP = `Usage: deno run --allow-read --allow-write cli.ts report DIR [--out REPORT_DIR]

Writes the report of a run folder (from train) or a sweep folder (from sweep): the paper's figures
as SVG (L-shape, success rate per teacher node, eval loss, per-teacher trajectories, best
correlation per teacher node, multi-layer L-shape, sample complexity; those whose data the folder
lacks are skipped with a note), summary tables as CSV, and an index.html showing them with the
configuration. A previous report is replaced; a failure leaves nothing half-written.

Options:
  --out REPORT_DIR  the report folder [default: DIR/report]
  --help            this help`;

/** Runs `report` with its arguments; returns the exit code. */
export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, REPORT_FLAGS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new ConfigError(
      positionals.length === 0
        ? "Missing DIR: expected a run or sweep folder (see --help)"
        : `Unexpected argument ${JSON.stringify(positionals[1])}: expected one folder (see --help)`,
    );
  }
  checkPath("DIR", positionals[0]);
  const out = typeof values.out === "string" ? values.out : undefined;
  const t0 = performance.now();
  const s = await writeReport(positionals[0], { out });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const what = s.kind === "sweep"
    ? `sweep of ${s.runs} finished run${s.runs === 1 ? "" : "s"}`
    : "single run";
  console.log(`specialize report  ${what}`);
  console.log(`  ${s.figures.length} figures: ${s.figures.map((f) => f.file).join(", ")}`);
  for (const k of s.skipped) console.log(`  not drawn: ${k.title}: ${k.reason}`);
  console.log(`\n${s.summary.title}:`);
  const table = [s.summary.columns, ...s.summary.rows];
  const widths = s.summary.columns.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  for (const r of table) console.log("  " + r.map((x, c) => x.padStart(widths[c])).join("  "));
  console.log();
  console.log(`  wrote ${s.out}/ (index.html, ${s.tables.join(", ")}) in ${secs} s`);
  return 0;
}
