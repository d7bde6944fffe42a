/**
 * Data sets: Gaussian inputs x ~ N(0, std² I_d) in WASM memory, labelled once by the teacher.
 *
 * A fixed data set stores inputs (n × d) and teacher outputs (n × c) row-major; the teacher's
 * outputs are computed once, in chunks, and never again.
 * @module
 */

import type { Kernels, Mat } from "./kernels.ts";
import type { Network } from "./network.ts";
import type { Rng } from "./rng.ts";

/** Rows per chunk when a whole data set goes through a network. */
export const CHUNK_ROWS = 1000;

/** Inputs and their teacher outputs. */
export interface DataSet {
  /** Number of samples. */
  readonly n: number;
  /** Inputs, n × d. */
  readonly x: Mat;
  /** Teacher outputs, n × c. */
  readonly y: Mat;
}

/** Calls `fn(start, rows)` for consecutive chunks of at most `chunk` rows covering n rows. */
export function forEachChunk(
  n: number,
  fn: (start: number, rows: number) => void,
  chunk: number = CHUNK_ROWS,
): void {
  for (let start = 0; start < n; start += chunk) fn(start, Math.min(chunk, n - start));
}

/** Writes teacher(x) into y, chunk by chunk (x: n × d, y: n × c). */
export function label(teacher: Network, x: Mat, y: Mat): void {
  const k = teacher.kernels;
  const c = teacher.sizes[teacher.depth];
  if (y.cols !== c) throw new RangeError(`Label buffer has ${y.cols} columns, teacher has ${c}`);
  forEachChunk(x.rows, (start, rows) => {
    const out = teacher.forward(k.rowsOf(x, start, rows), teacher.workspace(rows));
    k.view(k.rowsOf(y, start, rows)).set(k.view(out));
  });
}

/** Draws n Gaussian inputs with the given std and labels them with the teacher. */
export function makeDataSet(teacher: Network, n: number, std: number, rng: Rng): DataSet {
  const k: Kernels = teacher.kernels;
  const x = k.alloc(n, teacher.sizes[0]);
  rng.fillNormal(k.view(x), std);
  const y = k.alloc(n, teacher.sizes[teacher.depth]);
  label(teacher, x, y);
  return { n, x, y };
}
