/**
 * The SGD loop of a teacher–student run.
 *
 * One {@linkcode Trainer} owns one WASM instance: teacher, student, data sets, minibatch buffers,
 * gradients and momentum all live in its memory, allocated once. A step gathers the minibatch rows
 * inside WASM, runs forward, error, backward and the update through the kernels, and allocates
 * nothing. Objective per sample: 0.5 Σ_outputs (y − t)², averaged over the batch; reported losses
 * are the mean squared error over samples and outputs.
 * @module
 */

import { ConfigError, lrAt, type RunConfig } from "./config.ts";
import {
  type DataSet,
  forEachChunk,
  makeDataSet,
  makeTeacherAwareDataSet,
  subsample,
} from "./data.ts";
import { type AdamParams, Kernels, type Mat } from "./kernels.ts";
import { type LayerBuffers, Network, type Workspace } from "./network.ts";
import { Population, populationMse } from "./population.ts";
import { Rng, type RngState, STREAM } from "./rng.ts";
import { buildTeacher, initStudent, layerSizes } from "./teacher.ts";

/**
 * Norms of the minibatch gradients of the SGD steps of one epoch: per weight layer, the mean and
 * the largest L2 norm of the gradient of the batch-mean objective (weight decay not included), as
 * the steps computed them.
 */
export interface BatchGradNorms {
  /** Steps they were accumulated over. */
  steps: number;
  /** Per weight layer, the mean over the steps of the minibatch gradient norm. */
  mean: number[];
  /** Per weight layer, the largest minibatch gradient norm. */
  max: number[];
}

/** Losses and gradient norms of one evaluation. */
export interface EpochMetrics {
  /** Epochs completed when measured (0 = before training). */
  epoch: number;
  /** Learning rate used in the epoch just completed (that of epoch 0 before training). */
  lr: number;
  /** MSE over the training subsample {@linkcode Trainer.trainEval} (fresh-sample runs: mean
   * minibatch MSE of the last epoch). */
  trainMse: number;
  /** MSE over the evaluation set. */
  evalMse: number;
  /** L2 norm of the full-batch gradient of each weight layer (training subsample; eval set if
   * fresh). */
  gradNorm: number[];
  /** Minibatch gradient norms of the epoch just trained (null before training). */
  batchGradNorm: BatchGradNorms | null;
  /** Cross-entropy runs: mean cross-entropy over the training set (fresh: last epoch's batches). */
  trainCe?: number;
  /** Cross-entropy runs: mean cross-entropy over the evaluation set. */
  evalCe?: number;
  /** Cross-entropy runs: accuracy against the teacher's arg-max class, training set. */
  trainAcc?: number;
  /** Cross-entropy runs: accuracy against the teacher's arg-max class, evaluation set. */
  evalAcc?: number;
  /**
   * The exact population MSE (inputs N(0, σ²I), no sampling) of the student, on the scale of the
   * other MSEs (2L/c); null when the network is not a two-layer ReLU net.
   */
  populationMse: number | null;
}

/** The losses of a student on a data set: MSE and, for cross-entropy runs, CE and accuracy. */
export interface DataLosses {
  /** Mean squared error over samples and outputs. */
  mse: number;
  /** Mean softmax cross-entropy against the teacher's arg-max class (NaN for MSE runs). */
  ce: number;
  /** Fraction of samples whose arg-max output is the teacher's (NaN for MSE runs). */
  acc: number;
}

/** The random streams a trainer draws from during training (for checkpoints). */
export interface TrainerRngState {
  /** Minibatch indices (fixed set). */
  batches: RngState;
  /** Fresh inputs (n-train 0). */
  fresh: RngState;
}

/**
 * Everything a trainer changes while training, for checkpoints: the JSON-able part in `state`,
 * the student's weights and the momentum as raw bytes (the run's precision, row-major).
 */
export interface TrainerSnapshot {
  /** Epochs completed, random streams, shuffle position, last batch MSE. */
  state: {
    epoch: number;
    rng: TrainerRngState;
    orderPos: number;
    lastEpochBatchMse: number | null;
    /** Minibatch gradient norms accumulated so far in the current epoch. */
    batchGrad?: { steps: number; sum: number[]; max: number[] };
    /** Adam steps taken (absent before Adam existed: 0). */
    adamStep?: number;
    /** Cross-entropy fresh-sample runs: last epoch's mean batch cross-entropy and accuracy. */
    lastEpochBatchCe?: number | null;
    lastEpochBatchAcc?: number | null;
  };
  /** Student weights per layer, then momentum per layer (if any), Adam's first and second
   * moments per layer (if Adam), then the shuffle order. */
  blobs: Uint8Array[];
}

/**
 * A teacher–student run in memory.
 *
 * @example
 * ```ts
 * import { resolveConfig, Trainer } from "@specialize/specialize";
 * const t = new Trainer(resolveConfig({ settings: { d: 10, widths: [4], outputs: 3, epochs: 2 } }));
 * t.trainEpoch();
 * console.log(t.evaluate().evalMse);
 * ```
 */
export class Trainer {
  /** The resolved configuration. */
  readonly config: RunConfig;
  /** The kernels and memory everything lives in. */
  readonly kernels: Kernels;
  /** The fixed teacher. */
  readonly teacher: Network;
  /** The student being trained. */
  readonly student: Network;
  /** The fixed training set, or null when every step draws fresh samples. */
  readonly train: DataSet | null;
  /** The evaluation set. */
  readonly eval: DataSet;
  /** The fixed subsample of the training set that training-set measurements use: `nTrainEval`
   * rows drawn once from their own random stream, or the training set itself when it is not
   * larger (null when every step draws fresh samples). */
  readonly trainEval: DataSet | null;
  /** Rows of the training set in {@linkcode Trainer.trainEval}, ascending, or null when it is the
   * whole training set. */
  readonly trainEvalIndices: Int32Array | null;
  /**
   * The exact population loss of this teacher (two-layer ReLU networks; null otherwise): the
   * objective of `population` runs and the `population_mse` of every evaluation.
   */
  readonly population: Population | null;
  /** Gradient evaluations of the flow integrator in the last epoch (`flow` runs), else 0. */
  flowEvaluations: number = 0;
  /** Epochs completed. */
  epoch: number = 0;
  /** Mean minibatch MSE of the last epoch (tracked only for fresh-sample runs). */
  lastEpochBatchMse: number = NaN;
  /** Mean minibatch cross-entropy of the last epoch (fresh-sample cross-entropy runs). */
  lastEpochBatchCe: number = NaN;
  /** Minibatch accuracy of the last epoch (fresh-sample cross-entropy runs). */
  lastEpochBatchAcc: number = NaN;

  readonly #batchRng: Rng;
  readonly #freshRng: Rng;
  readonly #grads: LayerBuffers;
  readonly #velocity: LayerBuffers | null;
  readonly #adamM: LayerBuffers | null;
  readonly #adamV: LayerBuffers | null;
  #adamStep = 0;
  readonly #adamParams: AdamParams;
  readonly #ws: Workspace;
  readonly #bx: Mat;
  readonly #by: Mat;
  readonly #idxPtr: number;
  #idx: Int32Array;
  readonly #order: Int32Array;
  #orderPos = 0;
  readonly #gradSum: Float64Array;
  readonly #gradMax: Float64Array;
  #gradSteps = 0;

  /**
   * Builds teacher, data sets and student from the config's seed. `threads` > 1 splits the large
   * kernels over that many threads (the same bits as one thread); then call
   * {@linkcode Trainer.close} (or declare the trainer with `using`) when done.
   */
  constructor(config: RunConfig, options: { threads?: number } = {}) {
    this.config = config;
    if (config.fma && (options.threads ?? 1) > 1) {
      throw new ConfigError(`Invalid --threads ${options.threads}: --fma runs on one thread`);
    }
    const k = this.kernels = new Kernels(config.precision, {
      threads: options.threads ?? 1,
      fma: config.fma,
    });
    const seed = config.seed;
    this.teacher = buildTeacher(k, config, new Rng(seed, STREAM.teacher));
    const trainRng = new Rng(seed, STREAM.trainData);
    this.train = config.nTrain === 0
      ? null
      : config.data === "teacher-aware"
      ? makeTeacherAwareDataSet(this.teacher, config.nTrain, config.dataStd, trainRng, {
        shift: config.awareShift,
        spread: config.awareSpread,
      })
      : makeDataSet(this.teacher, config.nTrain, config.dataStd, trainRng);
    this.eval = makeDataSet(
      this.teacher,
      config.nEval,
      config.dataStd,
      new Rng(seed, STREAM.evalData),
    );
    if (this.train && config.labelNoise > 0) {
      // noisy labels of the training set only, from their own stream (teacher and inputs unchanged)
      const noise = new Float64Array(this.train.n * config.outputs);
      new Rng(seed, STREAM.labelNoise).fillNormal(noise, config.labelNoise);
      const y = k.view(this.train.y);
      for (let i = 0; i < noise.length; i++) y[i] += noise[i];
    }
    const sub = this.train
      ? subsample(k, this.train, config.nTrainEval, new Rng(seed, STREAM.trainEval))
      : null;
    this.trainEval = sub?.data ?? null;
    this.trainEvalIndices = sub?.indices ?? null;
    this.student = new Network(k, layerSizes(config).student, config.slope);
    initStudent(this.student, config, new Rng(seed, STREAM.student), this.teacher);
    this.#batchRng = new Rng(seed, STREAM.batches);
    this.#freshRng = new Rng(seed, STREAM.trainData);
    this.#grads = this.student.allocLike();
    this.#velocity = config.momentum > 0 ? this.student.allocLike() : null;
    const adam = config.optimizer === "adam";
    this.#adamM = adam ? this.student.allocLike() : null;
    this.#adamV = adam ? this.student.allocLike() : null;
    this.#adamParams = {
      lr: 0,
      beta1: config.adamBeta1,
      beta2: config.adamBeta2,
      eps: config.adamEps,
      weightDecay: config.weightDecay,
      step: 0,
    };
    const b = config.batch;
    this.#ws = this.student.workspace(b);
    this.#bx = k.alloc(b, config.d);
    this.#by = k.alloc(b, config.outputs);
    this.#idxPtr = k.allocI32(b);
    this.#idx = k.viewI32(this.#idxPtr, b);
    this.#order = new Int32Array(config.sampling === "shuffle" ? config.nTrain : 0);
    this.#orderPos = this.#order.length;
    this.#gradSum = new Float64Array(this.student.depth);
    this.#gradMax = new Float64Array(this.student.depth);
    this.population = config.widths.length === 1 && config.slope === 0
      ? new Population({
        d: config.d,
        outputs: config.outputs,
        dataStd: config.dataStd,
        teacherW0: this.teacher.getWeights(0),
        teacherW1: this.teacher.getWeights(1),
      })
      : null;
  }

  /**
   * The exact population loss L = ½E‖y_s − y_t‖² of the student now (two-layer ReLU only, else
   * a RangeError); with `corr` (teachers × students), the exact correlation matrix of the hidden
   * activations; with `grads`, ∂L/∂weights into those buffers.
   */
  populationLoss(corr?: Float64Array | null, grads?: LayerBuffers | null): number {
    const pop = this.population;
    if (!pop) throw new RangeError("The population loss needs a two-layer ReLU network");
    const k = this.kernels, w = this.student.weights;
    const g = grads ? { w0: k.view(grads.full[0]), w1: k.view(grads.full[1]) } : null;
    return pop.evaluate(k.view(w[0]), k.view(w[1]), g, corr);
  }

  /** The exact population MSE (2L/c) now, or null when the network is not two-layer ReLU. */
  populationMse(): number | null {
    return this.population ? populationMse(this.populationLoss(), this.config.outputs) : null;
  }

  /** Stops the kernels' worker threads, if any ({@linkcode Kernels.close}). Idempotent. */
  close(): void {
    this.kernels.close();
  }

  /** {@linkcode Trainer.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Runs n optimizer steps at learning rate lr. Each step's minibatch gradient norms are added to the
   * epoch's {@linkcode Trainer.batchGradNorms}.
   */
  steps(n: number, lr: number): void {
    if (this.config.population) return this.#populationSteps(n, lr);
    const k = this.kernels, cfg = this.config;
    const student = this.student, ws = this.#ws, grads = this.#grads;
    const err = ws.deltas[student.depth - 1];
    const fresh = this.train === null;
    const ce = cfg.loss === "cross-entropy";
    const invBatch = 1 / cfg.batch;
    let sse = 0, ceSum = 0, agree = 0;
    for (let s = 0; s < n; s++) {
      let target: Mat;
      if (fresh) {
        this.#freshRng.fillNormal(k.view(this.#bx), cfg.dataStd);
        target = this.teacher.forward(this.#bx, this.teacher.workspace(cfg.batch));
      } else {
        this.#drawBatch();
        k.gatherRows(this.train!.x, this.#idxPtr, this.#bx);
        k.gatherRows(this.train!.y, this.#idxPtr, this.#by);
        target = this.#by;
      }
      const out = student.forward(this.#bx, ws);
      if (fresh || !ce) {
        k.sub(out, target, err);
        if (fresh) sse += k.sumsq(err);
      }
      if (ce) {
        ceSum += k.crossEntropy(out, target, err);
        if (fresh) agree += k.argmaxAgree(out, target);
      }
      k.scale(err, invBatch);
      student.backward(ws, err, grads);
      // The update reads the gradients and writes the weights; the norms read the gradients only:
      // with threads, the caller computes the norms while the workers start on the update.
      k.together(() => this.#update(lr), () => this.#addGradNorms());
    }
    this.#gradSteps += n;
    if (fresh && n > 0) {
      this.lastEpochBatchMse = sse / (n * cfg.batch * cfg.outputs);
      if (ce) {
        this.lastEpochBatchCe = ceSum / (n * cfg.batch);
        this.lastEpochBatchAcc = agree / (n * cfg.batch);
      }
    }
  }

  /** Adds the norms of the gradients in #grads to the epoch's minibatch gradient norms. */
  #addGradNorms(): void {
    const k = this.kernels, grads = this.#grads, gSum = this.#gradSum, gMax = this.#gradMax;
    for (let l = 0; l < this.student.depth; l++) {
      const norm = Math.sqrt(k.sumsq(grads.full[l]));
      gSum[l] += norm;
      if (!(norm <= gMax[l])) gMax[l] = norm; // NaN propagates
    }
  }

  /** One update of every trained layer from the gradients in #grads. */
  #update(lr: number): void {
    const k = this.kernels, cfg = this.config, student = this.student, grads = this.#grads;
    // with freezeTop the output layer keeps its initial weights (its gradient is still computed)
    const trained = cfg.freezeTop ? student.depth - 1 : student.depth;
    if (this.#adamM) {
      const params = this.#adamParams;
      params.lr = lr;
      params.step = ++this.#adamStep;
      for (let l = 0; l < trained; l++) {
        k.adamUpdate(
          student.weights[l],
          grads.full[l],
          this.#adamM.full[l],
          this.#adamV!.full[l],
          params,
        );
      }
      return;
    }
    for (let l = 0; l < trained; l++) {
      k.sgdUpdate(
        student.weights[l],
        grads.full[l],
        this.#velocity ? this.#velocity.full[l] : null,
        lr,
        cfg.momentum,
        cfg.weightDecay,
      );
    }
  }

  /**
   * n steps of gradient descent on the exact population loss: the same update as training
   * (SGD with momentum and weight decay, or Adam) with the exact gradient in place of the
   * minibatch one. `lastEpochBatchMse` is
   * the mean population MSE before each step.
   */
  #populationSteps(n: number, lr: number): void {
    const cfg = this.config, grads = this.#grads;
    let mse = 0;
    for (let s = 0; s < n; s++) {
      mse += populationMse(this.populationLoss(null, grads), cfg.outputs);
      this.#addGradNorms();
      this.#update(lr);
    }
    this.#gradSteps += n;
    if (n > 0) this.lastEpochBatchMse = mse / n;
  }

  /**
   * Integrates the gradient flow θ' = −(∇L(θ) + λθ) of the exact population loss from the
   * student's weights over time `t` (Dormand–Prince 5(4) with FSAL and standard step-size control,
   * relative tolerance {@linkcode FLOW_RTOL}), in f64, and stores the result in the student. The
   * integration starts afresh from the stored weights (first step t/8), so a resumed run gives the
   * same bits. Returns the number of gradient evaluations.
   */
  #flow(t: number): number {
    const cfg = this.config, k = this.kernels, w = this.student.weights;
    const v0 = k.view(w[0]), v1 = k.view(w[1]);
    const n0 = v0.length, n = n0 + v1.length;
    const y = new Float64Array(n);
    y.set(v0);
    y.set(v1, n0);
    const pop = this.population!, wd = cfg.weightDecay;
    const f = (yy: Float64Array, out: Float64Array) => {
      pop.evaluate(yy.subarray(0, n0), yy.subarray(n0), {
        w0: out.subarray(0, n0),
        w1: out.subarray(n0),
      });
      for (let i = 0; i < n; i++) out[i] = -(out[i] + wd * yy[i]);
    };
    const evals = dormandPrince(f, y, t, FLOW_RTOL, FLOW_ATOL);
    for (let i = 0; i < n0; i++) v0[i] = y[i];
    for (let i = n0; i < n; i++) v1[i - n0] = y[i];
    this.lastEpochBatchMse = populationMse(this.populationLoss(), cfg.outputs);
    return evals;
  }

  /** Minibatch gradient norms of the steps since the current (or last) epoch began; null if none. */
  batchGradNorms(): BatchGradNorms | null {
    const n = this.#gradSteps;
    if (n === 0) return null;
    return {
      steps: n,
      mean: Array.from(this.#gradSum, (v) => v / n),
      max: Array.from(this.#gradMax),
    };
  }

  #drawBatch(): void {
    const b = this.config.batch, n = this.config.nTrain, rng = this.#batchRng;
    let idx = this.#idx;
    if (idx.buffer !== this.kernels.memory.buffer) {
      idx = this.#idx = this.kernels.viewI32(this.#idxPtr, b);
    }
    if (this.#order.length === 0) {
      for (let r = 0; r < b; r++) idx[r] = rng.int(n);
      return;
    }
    const order = this.#order;
    for (let r = 0; r < b; r++) {
      if (this.#orderPos >= n) {
        for (let i = 0; i < n; i++) order[i] = i;
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1), t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
        this.#orderPos = 0;
      }
      idx[r] = order[this.#orderPos++];
    }
  }

  /** The learning rate of the next epoch to train. */
  get lr(): number {
    return lrAt(this.config.lr, this.epoch);
  }

  /** Trains one epoch (config.iters steps) at the scheduled learning rate. */
  trainEpoch(): void {
    this.beginEpoch();
    if (this.config.flow) this.flowEvaluations = this.#flow(this.lr * this.config.iters);
    else this.steps(this.config.iters, this.lr);
    this.endEpoch();
  }

  /** Starts an epoch trained in pieces ({@linkcode Trainer.steps} calls that add up to
   * config.iters): resets the epoch's minibatch gradient norms. */
  beginEpoch(): void {
    this.#gradSum.fill(0);
    this.#gradMax.fill(0);
    this.#gradSteps = 0;
  }

  /** Ends an epoch trained in pieces: counts it. */
  endEpoch(): void {
    this.epoch++;
  }

  /** Mean squared error of the student on a data set (over samples and outputs). */
  mse(data: DataSet): number {
    return this.#pass(data, null).mse;
  }

  /** The student's losses on a data set: MSE, and for cross-entropy runs CE and accuracy. */
  losses(data: DataSet): DataLosses {
    return this.#pass(data, null);
  }

  /**
   * Full-batch gradient of the objective over a data set, accumulated chunk by chunk into
   * `grads` (defaults to the trainer's gradient buffers). Returns the MSE on the way.
   */
  fullGradient(data: DataSet, grads: LayerBuffers = this.#grads): number {
    return this.#pass(data, grads).mse;
  }

  /** One pass over a data set: losses, and with `grads` the full-batch gradient of the objective
   * over its first `gradRows` samples (all by default). */
  #pass(data: DataSet, grads: LayerBuffers | null, gradRows = data.n): DataLosses {
    const k = this.kernels, student = this.student;
    const ce = this.config.loss === "cross-entropy";
    let sse = 0, ceSum = 0, agree = 0, first = true;
    const gradN = grads ? Math.min(gradRows, data.n) : 0;
    const chunk = (start: number, rows: number) => {
      const ws = student.workspace(rows);
      const out = student.forward(k.rowsOf(data.x, start, rows), ws);
      const err = ws.deltas[student.depth - 1];
      const y = k.rowsOf(data.y, start, rows);
      k.sub(out, y, err);
      sse += k.sumsq(err);
      if (ce) {
        ceSum += k.crossEntropy(out, y, err);
        agree += k.argmaxAgree(out, y);
      }
      if (grads && start < gradN) {
        k.scale(err, 1 / gradN);
        student.backward(ws, err, grads, !first);
        first = false;
      }
    };
    // Chunks end where the gradient samples do.
    forEachChunk(gradN, chunk);
    forEachChunk(data.n - gradN, (start, rows) => chunk(gradN + start, rows));
    return {
      mse: sse / (data.n * this.config.outputs),
      ce: ce ? ceSum / data.n : NaN,
      acc: ce ? agree / data.n : NaN,
    };
  }

  /**
   * Losses and full-batch gradient norms now (on the training subsample
   * {@linkcode Trainer.trainEval}, the gradients on its first `nGradEval` samples when set), with
   * the minibatch gradient norms of the epoch just trained.
   */
  evaluate(): EpochMetrics {
    const k = this.kernels;
    const trainData = this.trainEval;
    const n = this.config.nGradEval;
    const g = this.#pass(trainData ?? this.eval, this.#grads, n > 0 ? n : Infinity);
    const gradNorm = this.#grads.full.map((m) => Math.sqrt(k.sumsq(m)));
    const ev = trainData ? this.losses(this.eval) : g;
    const { epoch, lr, batchGradNorm } = this.metricsBase();
    const m: EpochMetrics = {
      epoch,
      lr,
      trainMse: trainData ? g.mse : this.lastEpochBatchMse,
      evalMse: ev.mse,
      gradNorm,
      batchGradNorm,
      populationMse: this.populationMse(),
    };
    if (this.config.loss === "cross-entropy") {
      m.trainCe = trainData ? g.ce : this.lastEpochBatchCe;
      m.evalCe = ev.ce;
      m.trainAcc = trainData ? g.acc : this.lastEpochBatchAcc;
      m.evalAcc = ev.acc;
    }
    return m;
  }

  /** The parts of {@linkcode EpochMetrics} that need no data pass: epoch, lr, minibatch norms. */
  metricsBase(): Pick<EpochMetrics, "epoch" | "lr" | "batchGradNorm"> {
    const lr = lrAt(this.config.lr, Math.max(0, this.epoch - 1));
    return { epoch: this.epoch, lr, batchGradNorm: this.batchGradNorms() };
  }

  /** A copy of everything training changes (see {@linkcode TrainerSnapshot}). */
  snapshot(): TrainerSnapshot {
    const k = this.kernels;
    const bytes = (m: Mat) => new Uint8Array(k.view(m).slice().buffer);
    const blobs = this.student.weights.map(bytes);
    if (this.#velocity) blobs.push(...this.#velocity.full.map(bytes));
    if (this.#adamM) blobs.push(...this.#adamM.full.map(bytes), ...this.#adamV!.full.map(bytes));
    blobs.push(new Uint8Array(this.#order.slice().buffer));
    const num = (x: number) => Number.isNaN(x) ? null : x;
    return {
      state: {
        epoch: this.epoch,
        rng: this.getRngState(),
        orderPos: this.#orderPos,
        lastEpochBatchMse: num(this.lastEpochBatchMse),
        ...(this.#adamM ? { adamStep: this.#adamStep } : {}),
        ...(this.config.loss === "cross-entropy"
          ? {
            lastEpochBatchCe: num(this.lastEpochBatchCe),
            lastEpochBatchAcc: num(this.lastEpochBatchAcc),
          }
          : {}),
        batchGrad: {
          steps: this.#gradSteps,
          sum: Array.from(this.#gradSum),
          max: Array.from(this.#gradMax),
        },
      },
      blobs,
    };
  }

  /**
   * Restores a {@linkcode TrainerSnapshot} taken from a trainer of the same config: training then
   * continues bit for bit as if it had never stopped. Throws if the shapes do not match.
   */
  restore(snap: TrainerSnapshot): void {
    const k = this.kernels;
    const targets: { view: Float32Array | Float64Array | Int32Array; what: string }[] = [
      ...this.student.weights.map((m, l) => ({ view: k.view(m), what: `weights of layer ${l}` })),
      ...(this.#velocity?.full ?? []).map((m, l) => ({
        view: k.view(m),
        what: `momentum of layer ${l}`,
      })),
      ...[this.#adamM, this.#adamV].flatMap((buf, i) =>
        (buf?.full ?? []).map((m, l) => ({
          view: k.view(m),
          what: `Adam ${i === 0 ? "first" : "second"} moment of layer ${l}`,
        }))
      ),
      { view: this.#order, what: "shuffle order" },
    ];
    if (snap.blobs.length !== targets.length) {
      throw new RangeError(
        `Snapshot has ${snap.blobs.length} arrays, this run needs ${targets.length}`,
      );
    }
    targets.forEach(({ view, what }, i) => {
      const b = snap.blobs[i];
      if (b.byteLength !== view.byteLength) {
        throw new RangeError(
          `Snapshot ${what}: ${b.byteLength} bytes, expected ${view.byteLength}`,
        );
      }
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(b);
    });
    const st = snap.state;
    this.epoch = st.epoch;
    this.setRngState(st.rng);
    this.#orderPos = st.orderPos;
    this.lastEpochBatchMse = st.lastEpochBatchMse ?? NaN;
    const bg = st.batchGrad;
    const ok = bg && bg.sum.length === this.#gradSum.length && bg.max.length === bg.sum.length;
    this.#gradSteps = ok ? bg.steps : 0;
    this.#gradSum.set(ok ? bg.sum : new Array(this.#gradSum.length).fill(0));
    this.#gradMax.set(ok ? bg.max : new Array(this.#gradMax.length).fill(0));
    this.#adamStep = st.adamStep ?? 0;
    this.lastEpochBatchCe = st.lastEpochBatchCe ?? NaN;
    this.lastEpochBatchAcc = st.lastEpochBatchAcc ?? NaN;
  }

  /** Whether every student weight is finite (a diverged run has NaN or ±Inf somewhere). */
  weightsFinite(): boolean {
    return this.student.weights.every((w) => Number.isFinite(this.kernels.sumsq(w)));
  }

  /** The random streams' states (for checkpoints). */
  getRngState(): TrainerRngState {
    return { batches: this.#batchRng.getState(), fresh: this.#freshRng.getState() };
  }

  /** Restores random streams saved with {@linkcode Trainer.getRngState}. */
  setRngState(s: TrainerRngState): void {
    this.#batchRng.setState(s.batches);
    this.#freshRng.setState(s.fresh);
  }
}

/** Relative tolerance of the `flow` integrator (per weight, RMS over weights). */
export const FLOW_RTOL = 1e-6;
/** Absolute tolerance of the `flow` integrator (per weight). */
export const FLOW_ATOL = 1e-9;

// Dormand & Prince, "A family of embedded Runge–Kutta formulae", J. Comp. Appl. Math. 6 (1980):
// the 5th-order weights B (also the last stage, FSAL) and the error weights E = B − B*.
const DP_C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const DP_A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
const DP_E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/**
 * Integrates y' = f(y) from 0 to `t` in place with the Dormand–Prince 5(4) pair (FSAL), accepting
 * a step when the RMS over components of err_i / (atol + rtol·max(|y_i|, |y_new,i|)) is ≤ 1, with
 * the step-size factor 0.9·err^(−1/5) clamped to [0.2, 5]. The first step is t/8. Returns the
 * number of evaluations of f. Throws a RangeError if the step size underflows (a NaN or a blow-up).
 *
 * @example
 * ```ts
 * import { dormandPrince } from "@specialize/specialize";
 * const y = new Float64Array([1]);
 * dormandPrince((v, out) => { out[0] = -v[0]; }, y, 1, 1e-10, 1e-12);
 * console.log(y[0], Math.exp(-1)); // 0.36787944117…, both
 * ```
 */
export function dormandPrince(
  f: (y: Float64Array, out: Float64Array) => void,
  y: Float64Array,
  t: number,
  rtol: number,
  atol: number,
): number {
  const n = y.length;
  const ks = DP_C.map(() => new Float64Array(n));
  const tmp = new Float64Array(n), yNew = new Float64Array(n);
  f(y, ks[0]);
  let evals = 1, done = 0, h = t / 8;
  while (done < t) {
    if (done + h > t) h = t - done;
    if (!(h > t * 1e-14)) throw new RangeError(`Gradient flow: step size ${h} underflows`);
    for (let s = 1; s < 7; s++) {
      const a = DP_A[s];
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j < s; j++) acc += a[j] * ks[j][i];
        tmp[i] = y[i] + h * acc;
      }
      if (s === 6) yNew.set(tmp);
      f(tmp, ks[s]);
      evals++;
    }
    let err = 0;
    for (let i = 0; i < n; i++) {
      let e = 0;
      for (let j = 0; j < 7; j++) e += DP_E[j] * ks[j][i];
      const yi = Math.abs(y[i]), yn = Math.abs(yNew[i]);
      const sc = atol + rtol * (yi > yn ? yi : yn);
      err += (h * e / sc) ** 2;
    }
    err = Math.sqrt(err / n);
    if (err !== err) {
      y.fill(NaN); // a non-finite gradient: the run's divergence check reports it
      return evals;
    }
    if (err <= 1) {
      done += h;
      y.set(yNew);
      ks[0].set(ks[6]);
    }
    // 0.9·err^(−1/5) by Newton-free means: only +, −, ×, ÷ and sqrt (deterministic bits).
    const fac = err === 0 ? 5 : 0.9 / fifthRoot(err);
    h *= fac > 5 ? 5 : fac < 0.2 ? 0.2 : fac;
  }
  return evals;
}

/** x^(1/5) for x > 0 by Newton's iteration from a bracketing start (basic operations only). */
function fifthRoot(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return x === Infinity ? Infinity : NaN;
  let r = Math.sqrt(Math.sqrt(x));
  for (let i = 0; i < 60; i++) {
    const next = r - (r - x / (r * r * r * r)) / 5;
    if (next === r) break;
    r = next;
  }
  return r;
}
