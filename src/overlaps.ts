/**
 * Order parameters of statistical physics for teacher–student networks: per hidden layer the
 * overlaps of the nodes' normalised incoming weight vectors (bias excluded), Q = Ŵ_s Ŵ_sᵀ
 * (student × student), T = Ŵ_t Ŵ_tᵀ (teacher × teacher) and, where student and teacher nodes
 * read the same inputs, R = Ŵ_s Ŵ_tᵀ (student × teacher). Rows of Ŵ are the nodes' incoming weights
 * divided by their L2 norm (a zero vector stays zero), so every entry is a cosine in [−1, 1].
 *
 * Only the first hidden layer reads the same inputs (x) in teacher and student; above it a student
 * node's inputs are student nodes and a teacher node's are teacher nodes, so R is not defined in
 * weight space there (the activation correlations of `alignment.ts` are the per-layer measure).
 * @module
 */

import type { Network } from "./network.ts";
import { csvRow } from "./csv.ts";

/** The overlaps of one hidden layer. */
export interface LayerOverlaps {
  /** Hidden layer, 0 = lowest. */
  layer: number;
  /** Student nodes n. */
  students: number;
  /** Teacher nodes m. */
  teachers: number;
  /** Q, n × n row-major. */
  q: Float64Array;
  /** T, m × m row-major. */
  t: Float64Array;
  /** R, n × m row-major (student k, teacher j); null above the first hidden layer. */
  r: Float64Array | null;
}

/** Rows = nodes: the incoming weights of every node of layer l, each scaled to unit norm. */
function normalisedRows(net: Network, l: number): Float64Array {
  const w = net.weightView(l), fanIn = net.sizes[l], n = net.sizes[l + 1];
  const out = new Float64Array(n * fanIn);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i < fanIn; i++) s += w[i * n + k] * w[i * n + k];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < fanIn; i++) out[k * fanIn + i] = w[i * n + k] * inv;
  }
  return out;
}

/** a (p × f) · bᵀ (q × f) → p × q, summed in index order. */
function gram(a: Float64Array, p: number, b: Float64Array, q: number, f: number): Float64Array {
  const out = new Float64Array(p * q);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < q; j++) {
      let s = 0;
      for (let k = 0; k < f; k++) s += a[i * f + k] * b[j * f + k];
      out[i * q + j] = s;
    }
  }
  return out;
}

/**
 * Q, R and T of every hidden layer of a student and a teacher of the same depth and input
 * dimension (see the module documentation). Throws a RangeError if they do not match.
 *
 * @example
 * ```ts
 * import { layerOverlaps, resolveConfig, Trainer } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 6, widths: [3], outputs: 2, multi: 2 } }));
 * const [o] = layerOverlaps(t.student, t.teacher);
 * console.log(o.students, o.teachers, o.r!.length); // 6 3 18
 * ```
 */
export function layerOverlaps(student: Network, teacher: Network): LayerOverlaps[] {
  if (student.depth !== teacher.depth || student.sizes[0] !== teacher.sizes[0]) {
    throw new RangeError(
      `Student ${student.sizes.join("-")} and teacher ${teacher.sizes.join("-")} need the same ` +
        `depth and input dimension`,
    );
  }
  const out: LayerOverlaps[] = [];
  for (let l = 0; l + 1 < student.depth; l++) {
    const n = student.sizes[l + 1], m = teacher.sizes[l + 1];
    const fs = student.sizes[l], ft = teacher.sizes[l];
    const ws = normalisedRows(student, l), wt = normalisedRows(teacher, l);
    out.push({
      layer: l,
      students: n,
      teachers: m,
      q: gram(ws, n, ws, n, fs),
      t: gram(wt, m, wt, m, ft),
      r: l === 0 ? gram(ws, n, wt, m, fs) : null,
    });
  }
  return out;
}

/** Header of `overlaps.csv`. */
export const OVERLAPS_CSV_HEADER =
  "epoch,layer,r_best_mean,r_best_min,q_offdiag_mean_abs,t_offdiag_mean_abs\n";

/**
 * Rows of `overlaps.csv` for one evaluation, one per hidden layer: the mean and the minimum over
 * teacher nodes of the best |R| (max over student nodes; empty above the first hidden layer) and
 * the mean |Q| and |T| off the diagonal.
 *
 * @example
 * ```ts
 * import { layerOverlaps, overlapsCsvRows, resolveConfig, Trainer } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 6, widths: [3], outputs: 2, multi: 2 } }));
 * console.log(overlapsCsvRows(0, layerOverlaps(t.student, t.teacher)).split(",").length); // 6
 * ```
 */
export function overlapsCsvRows(epoch: number, layers: LayerOverlaps[]): string {
  const offDiag = (a: Float64Array, n: number) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) if (i !== j) s += Math.abs(a[i * n + j]);
    }
    return n > 1 ? s / (n * (n - 1)) : NaN;
  };
  return layers.map((o) => {
    let mean = NaN, min = NaN;
    if (o.r) {
      const best = Array.from({ length: o.teachers }, (_, j) => {
        let b = 0;
        for (let k = 0; k < o.students; k++) b = Math.max(b, Math.abs(o.r![k * o.teachers + j]));
        return b;
      });
      mean = best.reduce((a, b) => a + b, 0) / best.length;
      min = Math.min(...best);
    }
    return csvRow([
      epoch,
      o.layer,
      mean,
      min,
      offDiag(o.q, o.students),
      offDiag(o.t, o.teachers),
    ]);
  }).join("");
}
