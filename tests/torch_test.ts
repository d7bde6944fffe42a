/**
 * The trainer against PyTorch: the same student weights and the same batches (the whole training
 * set every step, shuffled order), both losses × both optimizers × both precisions; the losses at
 * every step and the final weights must agree within the precision's tolerance. PyTorch comes from
 * Debian's python3-torch (`.ci/run` installs it); where it is missing the test is ignored with a
 * message saying so, not passed.
 */
import { resolveConfig } from "../src/config.ts";
import { decodeNpy, encodeNpy } from "../src/npy.ts";
import { Trainer } from "../src/train.ts";
import { assertOk } from "./assert.ts";

const PYTHON = "/usr/bin/python3";

function torchAvailable(): boolean {
  try {
    const r = new Deno.Command(PYTHON, { args: ["-c", "import torch, numpy"], stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

const HAVE_TORCH = torchAvailable();
if (!HAVE_TORCH) {
  console.warn(
    `torch_test: PyTorch not found (${PYTHON} -c "import torch, numpy" failed): ` +
      "the PyTorch comparison is IGNORED; install python3-torch and python3-numpy to run it",
  );
}

const STEPS = 6;

/** The Python side: reads case folders, trains with torch.optim, writes losses and weights. */
const SCRIPT = String.raw`
import json, sys
import numpy as np
import torch
import torch.nn.functional as F
torch.set_num_threads(1)
for case in sys.argv[1:]:
    spec = json.load(open(case + "/spec.json"))
    dt = torch.float32 if spec["precision"] == "f32" else torch.float64
    ld = lambda n: torch.from_numpy(np.load(case + "/" + n + ".npy")).to(dt)
    x, y = ld("x"), ld("y")
    ws = [ld("w%d" % l).clone().requires_grad_(True) for l in range(spec["layers"])]
    if spec["optimizer"] == "adam":
        opt = torch.optim.Adam(ws, lr=spec["lr"], betas=(spec["beta1"], spec["beta2"]),
                               eps=spec["eps"], weight_decay=spec["weightDecay"])
    else:
        opt = torch.optim.SGD(ws, lr=spec["lr"], momentum=spec["momentum"],
                              weight_decay=spec["weightDecay"])
    ones = torch.ones(x.shape[0], 1, dtype=dt)
    losses = []
    def loss_fn():
        h = x
        for l, w in enumerate(ws):
            z = torch.cat([h, ones], 1) @ w
            h = torch.relu(z) if l < len(ws) - 1 else z
        if spec["loss"] == "cross-entropy":
            return F.cross_entropy(h, y.argmax(1))
        return 0.5 * ((h - y) ** 2).sum(1).mean()
    for s in range(spec["steps"] + 1):
        opt.zero_grad()
        loss = loss_fn()
        losses.append(loss.item())
        if s < spec["steps"]:
            loss.backward()
            opt.step()
    json.dump(losses, open(case + "/losses.json", "w"))
    for l, w in enumerate(ws):
        np.save(case + "/out_w%d.npy" % l, w.detach().numpy())
`;

interface Case {
  loss: "mse" | "cross-entropy";
  optimizer: "sgd" | "adam";
  precision: "f32" | "f64";
}

const CASES: Case[] = [];
for (const loss of ["mse", "cross-entropy"] as const) {
  for (const optimizer of ["sgd", "adam"] as const) {
    for (const precision of ["f32", "f64"] as const) CASES.push({ loss, optimizer, precision });
  }
}

/** Our objective per step, for the whole training set (the batch). */
function objective(t: Trainer): number {
  const l = t.losses(t.train!);
  return t.config.loss === "cross-entropy" ? l.ce : 0.5 * l.mse * t.config.outputs;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff / (scale || 1);
}

Deno.test({
  name: "training matches PyTorch (mse and cross-entropy × sgd and adam × f32 and f64)",
  ignore: !HAVE_TORCH,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const trainers: Trainer[] = [];
      const folders: string[] = [];
      for (const [i, c] of CASES.entries()) {
        const adam = c.optimizer === "adam";
        const config = resolveConfig({
          settings: {
            d: 6,
            widths: [4, 5],
            outputs: 3,
            multi: 2,
            nTrain: 32,
            batch: 32,
            nEval: 10,
            sampling: "shuffle",
            standardize: true,
            precision: c.precision,
            loss: c.loss,
            optimizer: c.optimizer,
            lr: adam ? 0.01 : 0.05,
            momentum: adam ? 0 : 0.9,
            weightDecay: 1e-3,
            adamBeta2: 0.99,
            seed: 3 + i,
          },
        });
        const t = new Trainer(config);
        const folder = `${dir}/case${i}`;
        await Deno.mkdir(folder);
        const save = (name: string, data: Float32Array | Float64Array, shape: number[]) =>
          Deno.writeFile(`${folder}/${name}.npy`, encodeNpy({ data: data.slice(), shape }));
        const k = t.kernels;
        await save("x", k.view(t.train!.x), [32, 6]);
        await save("y", k.view(t.train!.y), [32, 3]);
        for (let l = 0; l < t.student.depth; l++) {
          const w = t.student.weights[l];
          await save(`w${l}`, k.view(w), [w.rows, w.cols]);
        }
        await Deno.writeTextFile(
          `${folder}/spec.json`,
          JSON.stringify({
            precision: c.precision,
            layers: t.student.depth,
            loss: c.loss,
            optimizer: c.optimizer,
            lr: config.lr[0][1],
            momentum: config.momentum,
            weightDecay: config.weightDecay,
            beta1: config.adamBeta1,
            beta2: config.adamBeta2,
            eps: config.adamEps,
            steps: STEPS,
          }),
        );
        trainers.push(t);
        folders.push(folder);
      }
      await Deno.writeTextFile(`${dir}/run.py`, SCRIPT);
      const r = await new Deno.Command(PYTHON, { args: [`${dir}/run.py`, ...folders] }).output();
      assertOk(r.success, `python failed: ${new TextDecoder().decode(r.stderr)}`);
      const failures: string[] = [];
      for (const [i, c] of CASES.entries()) {
        const t = trainers[i], tol = c.precision === "f32" ? 2e-5 : 1e-11;
        const ours = [objective(t)];
        for (let s = 0; s < STEPS; s++) {
          t.steps(1, t.config.lr[0][1]);
          ours.push(objective(t));
        }
        const theirs = JSON.parse(await Deno.readTextFile(`${folders[i]}/losses.json`));
        const lossDiff = maxRel(ours, theirs);
        let wDiff = 0;
        for (let l = 0; l < t.student.depth; l++) {
          const w = decodeNpy(await Deno.readFile(`${folders[i]}/out_w${l}.npy`));
          wDiff = Math.max(wDiff, maxRel(t.student.getWeights(l), w.data));
        }
        // the weights moved: the comparison is not of two untouched copies
        const moved = ours[0] - ours[STEPS];
        const what = `${c.loss} ${c.optimizer} ${c.precision}`;
        if (!(lossDiff <= tol && wDiff <= 10 * tol && moved > 0)) {
          failures.push(
            `${what}: loss rel diff ${lossDiff.toExponential(2)}, weight rel diff ` +
              `${wDiff.toExponential(2)} (tol ${tol}), loss ${ours[0]} → ${ours[STEPS]}`,
          );
        }
      }
      assertOk(failures.length === 0, failures.join("\n"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
