/**
 * A plain-TypeScript f64 reference of a ReLU network's forward and backward pass, written as
 * directly as possible (one loop nest per formula) to check the WASM path against.
 * Weights: per layer, (fanIn + 1) × fanOut row-major, bias last row.
 * @module
 */

/** Forward pass: returns every layer's pre-activations and activations (acts[0] = x). */
export function refForward(
  sizes: number[],
  weights: Float64Array[],
  x: Float64Array,
  rows: number,
  slope = 0,
): { acts: Float64Array[]; pre: Float64Array[] } {
  const acts = [x], pre: Float64Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fi = sizes[l], fo = sizes[l + 1], w = weights[l], h = acts[l];
    const z = new Float64Array(rows * fo);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < fo; j++) {
        let s = w[fi * fo + j];
        for (let i = 0; i < fi; i++) s += h[r * fi + i] * w[i * fo + j];
        z[r * fo + j] = s;
      }
    }
    pre.push(z);
    if (l + 2 < sizes.length) acts.push(z.map((v) => (v > 0 ? v : slope * v)));
  }
  return { acts, pre };
}

/** Objective 0.5 Σ (y − t)² averaged over rows. */
export function refLoss(
  sizes: number[],
  weights: Float64Array[],
  x: Float64Array,
  t: Float64Array,
  rows: number,
  slope = 0,
): number {
  const { pre } = refForward(sizes, weights, x, rows, slope);
  const y = pre[pre.length - 1];
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] - t[i]) ** 2;
  return 0.5 * s / rows;
}

/** Gradients of {@linkcode refLoss} with respect to every layer's augmented weights. */
export function refGradients(
  sizes: number[],
  weights: Float64Array[],
  x: Float64Array,
  t: Float64Array,
  rows: number,
  slope = 0,
): Float64Array[] {
  const { acts, pre } = refForward(sizes, weights, x, rows, slope);
  const L = sizes.length - 1;
  const grads: Float64Array[] = [];
  let delta = pre[L - 1].map((y, i) => (y - t[i]) / rows);
  for (let l = L - 1; l >= 0; l--) {
    const fi = sizes[l], fo = sizes[l + 1], h = acts[l];
    const g = new Float64Array((fi + 1) * fo);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < fo; j++) {
        const d = delta[r * fo + j];
        for (let i = 0; i < fi; i++) g[i * fo + j] += h[r * fi + i] * d;
        g[fi * fo + j] += d;
      }
    }
    grads[l] = g;
    if (l > 0) {
      const prev = new Float64Array(rows * fi), w = weights[l], z = pre[l - 1];
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < fi; i++) {
          let s = 0;
          for (let j = 0; j < fo; j++) s += delta[r * fo + j] * w[i * fo + j];
          prev[r * fi + i] = s * (z[r * fi + i] > 0 ? 1 : slope);
        }
      }
      delta = prev;
    }
  }
  return grads;
}
