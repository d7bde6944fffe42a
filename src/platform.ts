/**
 * The one check behind the library's file-system functions: they need Deno's APIs, and in a
 * browser (or any runtime without `Deno`) they throw one clear error instead of a
 * `ReferenceError` deep inside. Everything in memory (`Trainer`, `Analyzer`, the kernels, the
 * data sets) works in a browser.
 * @module
 */

/** The error thrown by a file-system function where Deno's APIs are missing. */
export class NeedsDenoError extends Error {
  /** An error naming the function that needs Deno. */
  constructor(what: string) {
    super(
      `${what} reads or writes files and needs Deno (Deno.* file-system APIs); in a browser use ` +
        `the in-memory API (Trainer, evaluateTrainer, Analyzer, encodeNpy) instead`,
    );
    this.name = "NeedsDenoError";
  }
}

/**
 * Throws a {@linkcode NeedsDenoError} naming `what` when Deno's file-system APIs are missing.
 *
 * @example
 * ```ts
 * import { requireDeno } from "@specialize/specialize";
 * requireDeno("runToFolder"); // nothing happens in Deno; throws in a browser
 * ```
 */
export function requireDeno(what: string): void {
  const d = (globalThis as { Deno?: { stat?: unknown } }).Deno;
  if (typeof d?.stat !== "function") throw new NeedsDenoError(what);
}
