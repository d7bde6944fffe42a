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

/** A data set's fixed subsample: its rows at `indices`, or the data set itself (`indices` null). */
export interface Subsample {
  /** The subsample (the data set itself when it was not larger than asked). */
  readonly data: DataSet;
  /** The rows taken, ascending, or null when the subsample is the whole data set. */
  readonly indices: Int32Array | null;
}

/**
 * A fixed subsample of n distinct rows of a data set, drawn from `rng` by a partial Fisher–Yates
 * shuffle and kept in ascending row order; the rows are copied into new WASM buffers. When n ≥
 * data.n the data set itself is returned and nothing is drawn or copied.
 *
 * @example
 * ```ts
 * import { Kernels, makeDataSet, Network, Rng, subsample } from "@specialize/specialize";
 * const k = new Kernels("f64");
 * const net = new Network(k, [4, 3, 2]);
 * const data = makeDataSet(net, 100, 1, new Rng(1, 2));
 * const sub = subsample(k, data, 10, new Rng(1, 6));
 * console.log(sub.data.n, sub.indices); // 10, Int32Array of 10 ascending rows
 * ```
 */
export function subsample(k: Kernels, data: DataSet, n: number, rng: Rng): Subsample {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Subsample size must be a positive integer, got ${n}`);
  }
  if (n >= data.n) return { data, indices: null };
  const perm = new Int32Array(data.n);
  for (let i = 0; i < data.n; i++) perm[i] = i;
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(data.n - i), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const indices = perm.slice(0, n).sort();
  const x = k.alloc(n, data.x.cols), y = k.alloc(n, data.y.cols);
  const mark = k.mark();
  const idxPtr = k.allocI32(n);
  k.viewI32(idxPtr, n).set(indices);
  k.gatherRows(data.x, idxPtr, x);
  k.gatherRows(data.y, idxPtr, y);
  k.release(mark);
  return { data: { n, x, y }, indices };
}

/**
 * The teacher-aware training set (docs/science.md, "Data"; the sample-complexity experiment): for each first-layer
 * teacher node j in turn, draw a Gaussian point, project it onto the node's boundary hyperplane
 * w_j·x + b_j = 0, and keep the two copies shifted by ±a·std·w_j/|w_j| (a uniform in
 * [shift, shift + spread]), so that node j is active on one and inactive on the other; every point
 * is then rescaled to norm std·sqrt(d), the typical norm of a Gaussian input. Labelled by the
 * teacher like {@linkcode makeDataSet}.
 *
 * The first layer's weights are (d+1) × m row-major, bias in the last row.
 */
export function makeTeacherAwareDataSet(
  teacher: Network,
  n: number,
  std: number,
  rng: Rng,
  opts: { shift: number; spread: number },
): DataSet {
  const k: Kernels = teacher.kernels;
  const d = teacher.sizes[0], m = teacher.sizes[1];
  const x = k.alloc(n, d);
  // views after the allocation: growing WASM memory detaches earlier views
  const w = k.view(teacher.weights[0]);
  const xv = k.view(x);
  const point = new Float64Array(d), dir = new Float64Array(d);
  const radius = std * Math.sqrt(d);
  for (let r = 0; r < n; r += 2) {
    const j = (r / 2) % m;
    let norm2 = 0;
    for (let i = 0; i < d; i++) norm2 += w[i * m + j] * w[i * m + j];
    const norm = Math.sqrt(norm2) || 1;
    for (let i = 0; i < d; i++) dir[i] = w[i * m + j] / norm;
    rng.fillNormal(point, std);
    let pre = w[d * m + j];
    for (let i = 0; i < d; i++) pre += w[i * m + j] * point[i];
    for (let i = 0; i < d; i++) point[i] -= (pre / norm) * dir[i];
    const a = (opts.shift + opts.spread * rng.uniform()) * std;
    for (let copy = 0; copy < 2 && r + copy < n; copy++) {
      const sign = copy === 0 ? 1 : -1;
      let len2 = 0;
      for (let i = 0; i < d; i++) {
        const v = point[i] + sign * a * dir[i];
        len2 += v * v;
      }
      const scale = len2 > 0 ? radius / Math.sqrt(len2) : 1;
      const row = (r + copy) * d;
      for (let i = 0; i < d; i++) xv[row + i] = (point[i] + sign * a * dir[i]) * scale;
    }
  }
  const y = k.alloc(n, teacher.sizes[teacher.depth]);
  label(teacher, x, y);
  return { n, x, y };
}
