/**
 * The teacher network of Tian (arXiv 1909.13458), as `docs/science.md` describes it, and the
 * student's initialization.
 *
 * Teacher, per layer (a "row" in the paper's words is one node's incoming weights, i.e. one
 * column of our augmented matrix):
 * - every node's fan-in weights are drawn from the grid {-1, -0.75, ..., 0.75, 1}, distinct across
 *   the layer's nodes and non-zero;
 * - hidden layers: each node's weights are scaled to unit L2 norm; the bias is `teacherBias` or,
 *   with bias tuning, minus the node's median pre-activation over a tuning set drawn from the
 *   teacher's own random stream (layer by layer, bottom to top), so each node is active on half the
 *   inputs;
 * - every layer above the first: the fan-out row of node i of the layer below (0-based) is divided
 *   by (i+1)^p, so node 0 is the strongest;
 * - the output layer keeps its grid weights (no normalization), bias `teacherBias`; with
 *   `standardize`, each output is then shifted and scaled to zero mean and unit std on the tuning set.
 * @module
 */

import type { RunConfig } from "./config.ts";
import { pow } from "./detmath.ts";
import type { Kernels } from "./kernels.ts";
import { Network } from "./network.ts";
import type { Rng } from "./rng.ts";

/** Samples drawn for bias tuning and output standardization. */
export const TUNING_SAMPLES = 10000;

/** The teacher's and student's layer widths for a config. */
export function layerSizes(cfg: RunConfig): { teacher: number[]; student: number[] } {
  return {
    teacher: [cfg.d, ...cfg.widths, cfg.outputs],
    student: [cfg.d, ...cfg.widths.map((w) => w * cfg.multi), cfg.outputs],
  };
}

/** `count` distinct non-zero grid vectors of length `n` (row-major count × n). */
export function gridRows(rng: Rng, count: number, n: number): Float64Array {
  const out = new Float64Array(count * n);
  const seen = new Set<string>();
  const idx = new Uint8Array(n);
  for (let r = 0; r < count;) {
    let nonzero = false;
    for (let i = 0; i < n; i++) {
      idx[i] = rng.int(9);
      if (idx[i] !== 4) nonzero = true;
    }
    const key = idx.join(",");
    if (!nonzero || seen.has(key)) continue;
    seen.add(key);
    for (let i = 0; i < n; i++) out[r * n + i] = -1 + 0.25 * idx[i];
    r++;
  }
  return out;
}

/**
 * Builds the teacher for a config in the given kernels' memory, from the config's seed.
 */
export function buildTeacher(k: Kernels, cfg: RunConfig, rng: Rng): Network {
  const sizes = layerSizes(cfg).teacher;
  const net = new Network(k, sizes, cfg.teacherSlope);
  const L = net.depth;
  for (let l = 0; l < L; l++) {
    const fanIn = sizes[l], fanOut = sizes[l + 1];
    const rows = gridRows(rng, fanOut, fanIn); // one grid vector per node (fanOut × fanIn)
    const w = new Float64Array((fanIn + 1) * fanOut);
    const top = l === L - 1;
    for (let j = 0; j < fanOut; j++) {
      let norm = 0;
      for (let i = 0; i < fanIn; i++) norm += rows[j * fanIn + i] * rows[j * fanIn + i];
      const scale = top ? 1 : 1 / Math.sqrt(norm);
      for (let i = 0; i < fanIn; i++) w[i * fanOut + j] = rows[j * fanIn + i] * scale;
      w[fanIn * fanOut + j] = cfg.teacherBias;
    }
    if (l > 0 && cfg.p !== 0) {
      for (let i = 0; i < fanIn; i++) {
        const f = pow(i + 1, -cfg.p);
        for (let j = 0; j < fanOut; j++) w[i * fanOut + j] *= f;
      }
    }
    net.setWeights(l, w);
  }
  if (cfg.biasTuning || cfg.standardize) tune(net, cfg, rng);
  return net;
}

function tune(net: Network, cfg: RunConfig, rng: Rng): void {
  const k = net.kernels;
  const mark = k.mark();
  const n = TUNING_SAMPLES, d = cfg.d;
  const x = k.alloc(n, d);
  rng.fillNormal(k.view(x), cfg.dataStd);
  const ws = net.workspace(n);
  const L = net.depth;
  const layers = cfg.biasTuning ? L - 1 : 0;
  for (let l = 0; l < layers; l++) {
    net.forward(x, ws);
    const z = k.view(ws.pre[l]), m = net.sizes[l + 1];
    const w = net.weightView(l), biasAt = net.sizes[l] * m;
    const col = new Float64Array(n);
    for (let j = 0; j < m; j++) {
      for (let r = 0; r < n; r++) col[r] = z[r * m + j];
      w[biasAt + j] -= median(col);
    }
  }
  if (cfg.standardize) {
    net.forward(x, ws);
    const y = k.view(ws.pre[L - 1]), c = net.sizes[L];
    const w = net.weightView(L - 1), fanIn = net.sizes[L - 1];
    for (let o = 0; o < c; o++) {
      let s = 0, s2 = 0;
      for (let r = 0; r < n; r++) s += y[r * c + o];
      const mean = s / n;
      for (let r = 0; r < n; r++) s2 += (y[r * c + o] - mean) * (y[r * c + o] - mean);
      const std = Math.sqrt(s2 / n) || 1;
      for (let i = 0; i < fanIn; i++) w[i * c + o] /= std;
      w[fanIn * c + o] = (w[fanIn * c + o] - mean) / std;
    }
  }
  // The tuning buffers are temporaries; the workspace stays cached only if allocated before mark.
  net.forgetWorkspace(n);
  k.release(mark);
}

/** The median of a sample (sorts it in place). */
export function median(values: Float64Array): number {
  values.sort();
  const n = values.length, h = n >> 1;
  return n % 2 ? values[h] : 0.5 * (values[h - 1] + values[h]);
}

/**
 * Initializes a student: N(0, initStd²) weights and zero biases ("gaussian"), or weights and
 * biases uniform in ±1/sqrt(fan_in) ("uniform", PyTorch's default for linear layers). Relative to
 * a teacher of the same depth (required then): "perturb" first draws the usual init (gaussian for
 * two layers, uniform deeper), then sets the teacher-sized part of every layer (student nodes
 * j < teacher width, inputs i < teacher width below, and the bias) to the teacher's weight plus
 * N(0, perturbStd²); "same-sign" draws the usual init and gives each weight of that part the sign
 * of the teacher's (a zero teacher weight leaves it as drawn). The remaining ("extra") student
 * nodes keep the usual init. All draws come from `rng`, in that order.
 */
export function initStudent(net: Network, cfg: RunConfig, rng: Rng, teacher?: Network): void {
  const relative = cfg.init === "perturb" || cfg.init === "same-sign";
  if (relative && (!teacher || teacher.depth !== net.depth)) {
    throw new RangeError(`--init ${cfg.init} needs a teacher of the student's depth`);
  }
  const kind = relative ? (net.depth > 2 ? "uniform" : "gaussian") : cfg.init;
  for (let l = 0; l < net.depth; l++) {
    const fanIn = net.sizes[l], fanOut = net.sizes[l + 1];
    const w = new Float64Array((fanIn + 1) * fanOut);
    if (kind === "gaussian") {
      for (let i = 0; i < fanIn * fanOut; i++) w[i] = rng.normal() * cfg.initStd;
    } else {
      const b = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < w.length; i++) w[i] = (2 * rng.uniform() - 1) * b;
    }
    if (relative) {
      const tw = teacher!.getWeights(l), tIn = teacher!.sizes[l], tOut = teacher!.sizes[l + 1];
      for (let i = 0; i <= tIn; i++) {
        const row = i < tIn ? i : fanIn; // the bias row is last in both
        for (let j = 0; j < tOut; j++) {
          const t = tw[i * tOut + j], at = row * fanOut + j;
          if (cfg.init === "perturb") w[at] = t + rng.normal() * cfg.perturbStd;
          else if (t !== 0) w[at] = t > 0 ? Math.abs(w[at]) : -Math.abs(w[at]);
        }
      }
    }
    net.setWeights(l, w);
  }
}
