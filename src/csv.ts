/**
 * CSV cells every reader reads back exactly: numbers in their shortest round-trip form, with an
 * exponent below 1e-3 and from 1e15 in magnitude (JavaScript's own `String(x)` writes
 * `0.0000014073483420928453` for 1.4e-6, which pandas' default parser reads back wrong in the
 * last digits), texts quoted when they hold a comma, a quote or a line break.
 * @module
 */

/**
 * A number as a CSV cell: the shortest text that parses back to exactly `x`, in fixed notation
 * for 1e-3 ≤ |x| < 1e15 and zero, else with an exponent (`1.4073483420928453e-6`); NaN, null and
 * undefined are empty cells, infinities `inf` and `-inf`.
 */
export function csvNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const a = Math.abs(x);
  if (a === 0 || (a >= 1e-3 && a < 1e15)) return String(x);
  return x.toExponential(); // as many digits as needed to be unique: the shortest round trip
}

/** Any value as a CSV cell: numbers by {@linkcode csvNumber}, booleans as 1/0, texts quoted. */
export function csvCell(v: unknown): string {
  if (typeof v === "number" || v === null || v === undefined) return csvNumber(v as number);
  if (typeof v === "boolean") return v ? "1" : "0";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line (with its newline) of the given cells. */
export function csvRow(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(",") + "\n";
}
