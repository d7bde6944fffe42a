/**
 * Shared timing for the benches: warm-up then timed batches with performance.now() (the fastest
 * batch counts), the SIMD peak measured in the same process, and a plain table printer. Ratios,
 * not absolute times, are what to compare: the machines are noisy.
 * @module
 */

import { Kernels, type Precision } from "../src/kernels.ts";
import type { Trainer } from "../src/train.ts";

/**
 * Seconds per call of fn: warm up for ~warmMs, then for ~runMs time batches of calls (each batch
 * at least ~1 ms) and return the fastest batch's time per call. On a shared machine the fastest
 * batch is the least disturbed one; a mean would measure the neighbours' load as much as fn.
 */
export function timeCall(fn: () => void, warmMs = 60, runMs = 150): number {
  let t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < warmMs) {
    fn();
    calls++;
  }
  const batch = Math.max(1, Math.ceil(calls / Math.max(1, performance.now() - t0))); // ≈ 1 ms
  let best = Infinity;
  t0 = performance.now();
  while (performance.now() - t0 < runMs) {
    const b0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    best = Math.min(best, (performance.now() - b0) / batch);
  }
  return best / 1e3;
}

/** SGD steps of `trainer` without a break for about `ms` milliseconds (one at a time, at least
 * one): how many, and the milliseconds per step. */
export function stepFor(trainer: Trainer, ms: number): { steps: number; msPerStep: number } {
  const t0 = performance.now();
  let steps = 0, now = t0;
  for (; now - t0 < ms; now = performance.now()) (trainer.steps(1, 1e-4), steps++);
  return { steps, msPerStep: (now - t0) / steps };
}

/** Iterations of the peak probe per call. */
export const PEAK_ITERS = 200_000;

/** The WASM SIMD peak in GFLOP/s for a precision (independent multiply and add chains). */
export function peakGflops(precision: Precision, k: Kernels = new Kernels(precision)): number {
  const s = timeCall(() => k.peak(PEAK_ITERS), 100, 300);
  return (k.peakFlopsPerIter * PEAK_ITERS) / s / 1e9;
}

/** Prints rows as an aligned table (first `textCols` columns left-aligned, the rest right). */
export function printTable(rows: string[][], textCols = 1): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    rows.map((r) =>
      r.map((x, c) => (c < textCols ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ")
    ).join("\n"),
  );
}
