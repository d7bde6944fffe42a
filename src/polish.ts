/**
 * Polishing a trained student to a critical point of its finite training loss: L-BFGS (Nocedal,
 * "Updating quasi-Newton matrices with limited storage", Math. Comp. 35, 1980; the two-loop
 * recursion of Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.4) with a backtracking
 * Armijo line search, on f(θ) = (1/N) Σ_i ½‖y_s(x_i) − y_i‖² over the whole training set, until
 * the largest per-sample gradient norm max_i ‖∇_θ ½‖y_s(x_i) − y_i‖²‖ is at most a tolerance, or
 * a step limit. The paper's theorem speaks of such points: there every per-sample gradient is
 * (nearly) zero, and every teacher node of the lowest layer should be specialized.
 *
 * Everything is f64 in TypeScript except the forward and backward passes (the run's kernels and
 * precision): an f32 run evaluates at its f32-rounded weights, which limits how far it can go.
 * @module
 */

import { forEachChunk } from "./data.ts";
import { PerSampleGradients } from "./gradients.ts";
import type { Trainer } from "./train.ts";

/** What {@linkcode polishTrainer} did. */
export interface PolishResult {
  /** The tolerance on the largest per-sample gradient norm. */
  tol: number;
  /** L-BFGS iterations taken. */
  steps: number;
  /** Whether the largest per-sample gradient norm reached `tol`. */
  reached: boolean;
  /** Why it stopped: "tolerance", "step limit" or "line search" (no decrease found). */
  stop: "tolerance" | "step limit" | "line search";
  /** Largest per-sample gradient norm over the training set before and after. */
  gradSampleMaxBefore: number;
  /** After polishing. */
  gradSampleMaxAfter: number;
  /** The largest per-sample gradient norm at the iterate before the last (NaN if no step). */
  gradSampleMaxPrevious: number;
  /** Training-set MSE (over samples and outputs) before and after. */
  trainMseBefore: number;
  /** After polishing. */
  trainMseAfter: number;
  /** Objective evaluations (forward and backward passes over the training set). */
  evaluations: number;
}

/** Pairs kept by L-BFGS. */
export const LBFGS_MEMORY = 10;

/**
 * Minimizes the trainer's finite training loss from its student's current weights with L-BFGS
 * (see the module documentation) until the largest per-sample gradient norm is ≤ `tol` or `steps`
 * iterations; leaves the student at the result. Throws a RangeError for a trainer without a fixed
 * training set.
 *
 * @example
 * ```ts
 * import { polishTrainer, resolveConfig, Trainer } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({
 *   settings: { d: 6, widths: [2], multi: 2, outputs: 2, nTrain: 40, lr: 0.05, epochs: 2 },
 * }));
 * t.trainEpoch();
 * const r = polishTrainer(t, 1e-6, 300);
 * console.log(r.gradSampleMaxBefore, "→", r.gradSampleMaxAfter, r.stop);
 * ```
 */
export function polishTrainer(trainer: Trainer, tol: number, steps: number): PolishResult {
  const data = trainer.train;
  if (!data) throw new RangeError("Polishing needs a fixed training set (--n-train > 0)");
  const k = trainer.kernels, net = trainer.student;
  const grads = net.allocLike();
  const psg = new PerSampleGradients(net, Math.min(1024, data.n));
  const sizes = net.weights.map((m) => m.rows * m.cols);
  const n = sizes.reduce((a, b) => a + b, 0);
  let evaluations = 0;

  /** Loads x into the student, then f, ∇f (into g) and the largest per-sample gradient norm. */
  const evaluate = (x: Float64Array, g: Float64Array) => {
    setWeights(x);
    psg.reset();
    let sse = 0, first = true;
    forEachChunk(data.n, (start, rows) => {
      const ws = net.workspace(rows);
      const out = net.forward(k.rowsOf(data.x, start, rows), ws);
      const err = ws.deltas[net.depth - 1];
      k.sub(out, k.rowsOf(data.y, start, rows), err);
      sse += k.sumsq(err);
      net.backward(ws, err, grads, !first);
      psg.add(ws);
      first = false;
    });
    evaluations++;
    let off = 0;
    for (const m of grads.full) {
      const v = k.view(m);
      for (let i = 0; i < v.length; i++) g[off + i] = v[i] / data.n;
      off += v.length;
    }
    const norms = psg.norms();
    let max = 0;
    for (let i = 0; i < norms.length; i++) if (!(norms[i] <= max)) max = norms[i];
    return { f: sse / (2 * data.n), mse: sse / (data.n * trainer.config.outputs), max };
  };
  const setWeights = (x: Float64Array) => {
    let off = 0;
    for (const m of net.weights) {
      const v = k.view(m);
      for (let i = 0; i < v.length; i++) v[i] = x[off + i];
      off += v.length;
    }
  };

  const x = new Float64Array(n);
  {
    let off = 0;
    for (const m of net.weights) {
      x.set(k.view(m), off);
      off += m.rows * m.cols;
    }
  }
  const g = new Float64Array(n), xNew = new Float64Array(n), gNew = new Float64Array(n);
  const d = new Float64Array(n);
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  const alpha = new Float64Array(LBFGS_MEMORY);
  let cur = evaluate(x, g);
  const before = cur;
  let previous = NaN, it = 0;
  let stop: PolishResult["stop"] = "step limit";
  while (true) {
    if (cur.max <= tol) {
      stop = "tolerance";
      break;
    }
    if (it >= steps) break;
    // d = −H g by the two-loop recursion, H₀ = (sᵀy / yᵀy) I.
    d.set(g);
    for (let j = S.length - 1; j >= 0; j--) {
      alpha[j] = rho[j] * dot(S[j], d);
      axpy(-alpha[j], Y[j], d);
    }
    if (S.length > 0) {
      const last = S.length - 1, gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = 0; j < S.length; j++) axpy(alpha[j] - rho[j] * dot(Y[j], d), S[j], d);
    for (let i = 0; i < n; i++) d[i] = -d[i];
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction: restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = dot(g, d);
    }
    let step = S.length === 0 ? Math.min(1, 1 / Math.sqrt(dot(g, g))) : 1;
    let next = null;
    for (let tries = 0; tries < 40; tries++, step /= 2) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      const e = evaluate(xNew, gNew);
      if (e.f <= cur.f + 1e-4 * step * slope) {
        next = e;
        break;
      }
    }
    if (!next) {
      stop = "line search";
      setWeights(x);
      break;
    }
    const s = new Float64Array(n), y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-300) {
      if (S.length === LBFGS_MEMORY) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    x.set(xNew);
    g.set(gNew);
    previous = cur.max;
    cur = next;
    it++;
  }
  setWeights(x);
  return {
    tol,
    steps: it,
    reached: cur.max <= tol,
    stop,
    gradSampleMaxBefore: before.max,
    gradSampleMaxAfter: cur.max,
    gradSampleMaxPrevious: previous,
    trainMseBefore: before.mse,
    trainMseAfter: cur.mse,
    evaluations,
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
}
