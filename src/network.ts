/**
 * Fully connected (leaky-)ReLU networks whose weights and activations live in WASM memory.
 *
 * Layout: `sizes = [d, h_1, ..., h_L, c]`. Layer l maps `sizes[l]` to `sizes[l+1]` with an
 * augmented weight matrix W_l of shape (sizes[l] + 1) × sizes[l+1], row-major, the bias as the last
 * row: z = [h, 1] · W_l. Hidden layers apply the (leaky) ReLU; the output layer is linear.
 * Activations are row-major batch × width.
 * @module
 */

import type { FloatArray, Kernels, Mat } from "./kernels.ts";

/** Buffers for one batch size: pre-activations, activations, gates and back-propagated deltas. */
export interface Workspace {
  /** Rows (samples) of every buffer. */
  readonly rows: number;
  /** acts[0] is the input of the last forward pass; acts[l] (l ≥ 1) the post-ReLU of hidden layer l. */
  readonly acts: Mat[];
  /** pre[l]: pre-activation of layer l's outputs (rows × sizes[l+1]); the last one is the output. */
  readonly pre: Mat[];
  /** gates[l]: ReLU derivative of hidden layer l+1 (rows × sizes[l+1]), l < depth - 1. */
  readonly gates: Mat[];
  /** deltas[l]: d loss / d pre[l] (rows × sizes[l+1]). */
  readonly deltas: Mat[];
}

/** Buffers shaped like a network's weights (gradients, momentum), with their bias-free parts. */
export interface LayerBuffers {
  /** Full augmented matrices, (sizes[l] + 1) × sizes[l+1]. */
  readonly full: readonly Mat[];
  /** The first sizes[l] rows of each (no bias row). */
  readonly main: readonly Mat[];
  /** Pointer to the bias row of each. */
  readonly bias: readonly number[];
}

/**
 * A ReLU network in WASM memory.
 *
 * @example
 * ```ts
 * import { Kernels, Network } from "@specialize/specialize";
 * const k = new Kernels("f64");
 * const net = new Network(k, [2, 2, 1]); // 2 inputs, 2 hidden ReLU nodes, 1 output
 * net.setWeights(0, [1, -1, 1, 1, 0, -1]); // h = ReLU([x1 + x2, −x1 + x2 − 1]) (bias row last)
 * net.setWeights(1, [1, 2, 0.5]); // y = h1 + 2·h2 + 0.5
 * const x = k.alloc(2, 2);
 * k.view(x).set([2, 1, -3, 1]); // two samples, one per row
 * const y = net.forward(x, net.workspace(2));
 * console.log(k.view(y)); // [3.5, 6.5]
 * ```
 */
export class Network {
  /** The kernels (and memory) this network lives in. */
  readonly kernels: Kernels;
  /** Layer widths [d, h_1, ..., h_L, c]. */
  readonly sizes: readonly number[];
  /** Augmented weights, (sizes[l] + 1) × sizes[l+1], bias last row. */
  readonly weights: readonly Mat[];
  /** Leaky-ReLU slope (0 = ReLU). */
  readonly slope: number;
  /** The weights with their bias-free parts (shared shapes with gradient buffers). */
  readonly params: LayerBuffers;
  readonly #workspaces = new Map<number, Workspace>();

  /** Allocates a network with zero weights. */
  constructor(kernels: Kernels, sizes: readonly number[], slope = 0) {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new RangeError(`Network sizes ${JSON.stringify(sizes)}: need ≥ 2 positive integers`);
    }
    this.kernels = kernels;
    this.sizes = [...sizes];
    this.slope = slope;
    const w: Mat[] = [];
    for (let l = 0; l + 1 < sizes.length; l++) w.push(kernels.alloc(sizes[l] + 1, sizes[l + 1]));
    this.weights = w;
    this.params = this.#split(w);
  }

  /** Number of weight layers (hidden layers + 1). */
  get depth(): number {
    return this.sizes.length - 1;
  }

  /** Widths of the hidden layers. */
  get hidden(): number[] {
    return this.sizes.slice(1, -1);
  }

  /** A live view of layer l's augmented weights (valid until memory grows). */
  weightView(l: number): FloatArray {
    return this.kernels.view(this.weights[l]);
  }

  /** Copies layer l's augmented weights out, as f64. */
  getWeights(l: number): Float64Array {
    return Float64Array.from(this.weightView(l));
  }

  /** Sets layer l's augmented weights from row-major values. */
  setWeights(l: number, values: ArrayLike<number>): void {
    const v = this.weightView(l);
    if (values.length !== v.length) {
      throw new RangeError(`Layer ${l} has ${v.length} weights, got ${values.length}`);
    }
    for (let i = 0; i < v.length; i++) v[i] = values[i];
  }

  /** The workspace for a batch of `rows` samples (allocated once per size, then reused). */
  workspace(rows: number): Workspace {
    let ws = this.#workspaces.get(rows);
    if (ws) return ws;
    const k = this.kernels, s = this.sizes, L = this.depth;
    const acts: Mat[] = [k.alloc(rows, s[0])];
    const pre: Mat[] = [], gates: Mat[] = [], deltas: Mat[] = [];
    for (let l = 0; l < L; l++) {
      pre.push(k.alloc(rows, s[l + 1]));
      deltas.push(k.alloc(rows, s[l + 1]));
      if (l < L - 1) {
        acts.push(k.alloc(rows, s[l + 1]));
        gates.push(k.alloc(rows, s[l + 1]));
      }
    }
    ws = { rows, acts, pre, gates, deltas };
    this.#workspaces.set(rows, ws);
    return ws;
  }

  /** Drops the cached workspace of `rows` rows (after its memory was released with `mark`). */
  forgetWorkspace(rows: number): void {
    this.#workspaces.delete(rows);
  }

  /**
   * Forward pass of x (rows × d) through the network; returns the output (ws.pre[depth-1]).
   * The input is referenced (not copied) as ws.acts[0] for the backward pass.
   */
  forward(x: Mat, ws: Workspace): Mat {
    const k = this.kernels, L = this.depth;
    ws.acts[0] = x;
    for (let l = 0; l < L; l++) {
      const relu = l < L - 1
        ? { y: ws.acts[l + 1], gate: ws.gates[l], slope: this.slope }
        : undefined;
      k.linear(ws.acts[l], this.params.main[l], this.params.bias[l], ws.pre[l], relu);
    }
    return ws.pre[L - 1];
  }

  /**
   * Backward pass after {@linkcode Network.forward} with the same workspace: given
   * dy = d loss / d output (rows × c, it may be ws.deltas[depth-1] itself), writes (or with
   * `accumulate` adds) the weight gradients into `grads` (from {@linkcode Network.allocLike}).
   * Leaves d loss / d pre-activation of every layer in ws.deltas (the top one is dy).
   */
  backward(ws: Workspace, dy: Mat, grads: LayerBuffers, accumulate = false): void {
    const k = this.kernels, L = this.depth;
    let d = dy;
    for (let l = L - 1; l >= 0; l--) {
      const dl = d, prev = l > 0 ? ws.deltas[l - 1] : null;
      // The layer's gradient and the delta below both read dl only: one hand-off to the threads,
      // the bias gradient on the caller meanwhile.
      k.together(() => {
        k.matmulTN(ws.acts[l], dl, grads.main[l], accumulate);
        if (prev) k.matmulNTGated(dl, this.params.main[l], ws.gates[l - 1], prev);
      }, () => k.colSums(dl, grads.bias[l], accumulate));
      if (prev) d = prev;
    }
  }

  /** Allocates gradient (or momentum) buffers shaped like the weights, zero-filled. */
  allocLike(): LayerBuffers {
    return this.#split(this.weights.map((w) => this.kernels.alloc(w.rows, w.cols)));
  }

  #split(full: Mat[]): LayerBuffers {
    const k = this.kernels;
    return {
      full,
      main: full.map((m, l) => k.rowsOf(m, 0, this.sizes[l])),
      bias: full.map((m, l) => k.rowsOf(m, this.sizes[l], 1).ptr),
    };
  }
}
