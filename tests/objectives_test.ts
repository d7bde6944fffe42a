/**
 * Losses and optimizers: the cross-entropy gradient through the network against finite
 * differences (f64) and against f64 (f32), on awkward shapes; Adam over several steps against the
 * plain-TS reference; Adam and cross-entropy state through snapshots. (Each option's effect is in
 * option_effects_test.ts.)
 */
import { resolveConfig } from "../src/config.ts";
import { Kernels, type Precision } from "../src/kernels.ts";
import { Network } from "../src/network.ts";
import { Rng } from "../src/rng.ts";
import { Trainer } from "../src/train.ts";
import { assertOk } from "./assert.ts";
import { refAdamUpdate } from "./reference.ts";

const SHAPES: { sizes: number[]; rows: number }[] = [
  { sizes: [1, 1, 2], rows: 1 },
  { sizes: [3, 5, 4], rows: 3 },
  { sizes: [5, 17, 3], rows: 17 },
  { sizes: [7, 9, 13, 6, 5], rows: 33 },
];

/** A network with random weights, inputs and teacher outputs; CE loss and its gradient. */
function setup(precision: Precision, sizes: number[], rows: number, seed: number) {
  const k = new Kernels(precision);
  const net = new Network(k, sizes, 0);
  const rng = new Rng(seed, 1);
  for (let l = 0; l < net.depth; l++) {
    const w = new Float64Array((sizes[l] + 1) * sizes[l + 1]);
    rng.fillNormal(w, 1 / Math.sqrt(sizes[l]));
    net.setWeights(l, w);
  }
  const c = sizes[sizes.length - 1];
  const x = k.alloc(rows, sizes[0]), y = k.alloc(rows, c), delta = k.alloc(rows, c);
  rng.fillNormal(k.view(x));
  rng.fillNormal(k.view(y));
  const ws = net.workspace(rows), grads = net.allocLike();
  const loss = () => k.crossEntropy(net.forward(x, ws), y, delta) / rows;
  const gradient = () => {
    loss();
    k.scale(delta, 1 / rows);
    net.backward(ws, delta, grads);
    return grads.full.map((g) => Float64Array.from(k.view(g)));
  };
  return { net, loss, gradient };
}

Deno.test("cross-entropy gradient through the network matches finite differences (f64)", () => {
  const failures: string[] = [];
  for (const [i, { sizes, rows }] of SHAPES.entries()) {
    const { net, loss, gradient } = setup("f64", sizes, rows, 11 + i);
    const g = gradient();
    const h = 1e-6;
    for (let l = 0; l < net.depth; l++) {
      const w = net.getWeights(l);
      let worst = 0;
      for (let j = 0; j < w.length; j++) {
        const orig = w[j];
        w[j] = orig + h;
        net.setWeights(l, w);
        const up = loss();
        w[j] = orig - h;
        net.setWeights(l, w);
        const down = loss();
        w[j] = orig;
        net.setWeights(l, w);
        const fd = (up - down) / (2 * h);
        worst = Math.max(worst, Math.abs(fd - g[l][j]) / (Math.abs(fd) + 1e-4));
      }
      if (!(worst < 1e-5)) failures.push(`${sizes.join("-")} layer ${l}: rel err ${worst}`);
    }
  }
  assertOk(failures.length === 0, failures.join("\n"));
});

Deno.test("cross-entropy loss and gradient in f32 match f64", () => {
  for (const [i, { sizes, rows }] of SHAPES.entries()) {
    const a = setup("f32", sizes, rows, 11 + i), b = setup("f64", sizes, rows, 11 + i);
    // the same (f32-rounded) weights in both
    for (let l = 0; l < a.net.depth; l++) b.net.setWeights(l, a.net.getWeights(l));
    const la = a.loss(), lb = b.loss();
    assertOk(Math.abs(la - lb) <= 1e-5 * Math.abs(lb) + 1e-6, `${sizes}: loss ${la} vs ${lb}`);
    const ga = a.gradient(), gb = b.gradient();
    for (let l = 0; l < ga.length; l++) {
      let scale = 1e-6, diff = 0;
      for (let j = 0; j < ga[l].length; j++) {
        scale = Math.max(scale, Math.abs(gb[l][j]));
        diff = Math.max(diff, Math.abs(ga[l][j] - gb[l][j]));
      }
      assertOk(diff / scale < 1e-4, `${sizes} layer ${l}: gradient rel diff ${diff / scale}`);
    }
  }
});

Deno.test("Adam over several steps follows the reference update (f64, bias correction)", () => {
  const k = new Kernels("f64");
  const n = 37, w = k.alloc(1, n), g = k.alloc(1, n), m = k.alloc(1, n), v = k.alloc(1, n);
  const rng = new Rng(5, 2);
  rng.fillNormal(k.view(w));
  let rw = Float64Array.from(k.view(w)), rm = new Float64Array(n), rv = new Float64Array(n);
  for (let step = 1; step <= 5; step++) {
    rng.fillNormal(k.view(g));
    const rg = Float64Array.from(k.view(g));
    const p = { lr: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.01, step };
    k.adamUpdate(w, g, m, v, p);
    const e = refAdamUpdate(rw, rg, rm, rv, p).values;
    [rw, rm, rv] = [e.slice(0, n), e.slice(n, 2 * n), e.slice(2 * n)];
  }
  const got = k.view(w);
  for (let i = 0; i < n; i++) {
    assertOk(Math.abs(got[i] - rw[i]) <= 1e-13 * (1 + Math.abs(rw[i])), `w[${i}]`);
  }
});

Deno.test("Adam and cross-entropy runs continue bit for bit from a snapshot", () => {
  for (const nTrain of [200, 0]) {
    const config = resolveConfig({
      settings: {
        d: 6,
        widths: [4, 5],
        outputs: 4,
        nTrain,
        nEval: 50,
        epochs: 3,
        iters: 15,
        loss: "cross-entropy",
        optimizer: "adam",
        lr: 0.01,
      },
    });
    const a = new Trainer(config);
    a.trainEpoch();
    const snap = a.snapshot();
    a.trainEpoch();
    const b = new Trainer(config);
    b.restore(snap);
    b.trainEpoch();
    for (let l = 0; l < a.student.depth; l++) {
      assertOk(
        a.student.getWeights(l).every((x, i) => Object.is(x, b.student.getWeights(l)[i])),
        `n-train ${nTrain}: layer ${l} differs after restore`,
      );
    }
    const ma = a.evaluate(), mb = b.evaluate();
    assertOk(ma.trainCe === mb.trainCe && ma.trainAcc === mb.trainAcc, `n-train ${nTrain}`);
    assertOk(Number.isFinite(ma.trainCe) && Number.isFinite(ma.evalAcc), `n-train ${nTrain}`);
  }
});

Deno.test("--eval-at cuts training into pieces without changing a bit of the weights", async () => {
  const { runToFolder } = await import("../src/run.ts");
  const dir = await Deno.makeTempDir({ prefix: "eval-at-" });
  try {
    const settings = {
      d: 6,
      widths: [3, 4],
      outputs: 3,
      nTrain: 80,
      nEval: 40,
      epochs: 3,
      iters: 7,
    };
    for (const [name, extra] of [["plain", {}], ["log", { evalAt: "log:6" }]] as const) {
      await runToFolder(resolveConfig({ settings: { ...settings, ...extra } }), {
        out: `${dir}/${name}`,
      });
    }
    for (let l = 0; l < 3; l++) {
      const a = await Deno.readFile(`${dir}/plain/student_final_w${l}.npy`);
      const b = await Deno.readFile(`${dir}/log/student_final_w${l}.npy`);
      assertOk(a.length === b.length && a.every((x, i) => x === b[i]), `layer ${l} differs`);
    }
    const epochs = (await Deno.readTextFile(`${dir}/log/metrics.csv`)).trim().split("\n").slice(1)
      .map((l) => Number(l.split(",")[0]));
    assertOk(epochs.some((e) => !Number.isInteger(e)), "evaluations inside epochs");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
