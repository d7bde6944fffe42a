import { Kernels, type Precision } from "../src/kernels.ts";
import { Network } from "../src/network.ts";
import { Rng } from "../src/rng.ts";
import { assertAlmostEquals, assertOk } from "./assert.ts";
import { refForward, refGradients, refLoss } from "./reference_net.ts";

const SHAPES: { sizes: number[]; rows: number }[] = [
  { sizes: [1, 1, 1], rows: 1 },
  { sizes: [3, 5, 1], rows: 3 },
  { sizes: [5, 17, 3], rows: 17 },
  { sizes: [17, 3, 5, 2], rows: 5 },
  { sizes: [7, 9, 13, 6, 5], rows: 33 },
  { sizes: [100, 200, 50], rows: 16 },
];

function randomNet(sizes: number[], rng: Rng): Float64Array[] {
  const w: Float64Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const a = new Float64Array((sizes[l] + 1) * sizes[l + 1]);
    rng.fillNormal(a, 1 / Math.sqrt(sizes[l]));
    w.push(a);
  }
  return w;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-12, diff = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  return diff / scale;
}

for (const precision of ["f32", "f64"] as Precision[]) {
  for (const slope of [0, 0.1]) {
    Deno.test(`WASM network forward and backward match the TS reference (${precision}, slope ${slope})`, () => {
      const tol = precision === "f32" ? 2e-5 : 1e-12;
      for (const { sizes, rows } of SHAPES) {
        const rng = new Rng(7, sizes.length * 100 + rows);
        const k = new Kernels(precision);
        const net = new Network(k, sizes, slope);
        const w = randomNet(sizes, rng);
        w.forEach((wl, l) => net.setWeights(l, wl));
        // the reference sees the weights as stored (rounded to f32 in f32 runs)
        const ws64 = w.map((_, l) => net.getWeights(l));
        const x = k.alloc(rows, sizes[0]);
        rng.fillNormal(k.view(x));
        const x64 = Float64Array.from(k.view(x));
        const t64 = new Float64Array(rows * sizes[sizes.length - 1]);
        rng.fillNormal(t64);
        const t = k.alloc(rows, t64.length / rows);
        k.view(t).set(t64);

        const ws = net.workspace(rows);
        const y = net.forward(x, ws);
        const ref = refForward(sizes, ws64, x64, rows, slope);
        const what = `${precision} sizes ${sizes.join("-")} rows ${rows}`;
        const dy = maxRelDiff(k.view(y), ref.pre[ref.pre.length - 1]);
        assertOk(dy <= tol, `forward ${what}: max relative difference ${dy}`);

        const err = ws.deltas[net.depth - 1];
        k.sub(y, t, err);
        k.scale(err, 1 / rows);
        const grads = net.allocLike();
        net.backward(ws, err, grads);
        const refG = refGradients(sizes, ws64, x64, t64, rows, slope);
        for (let l = 0; l < net.depth; l++) {
          const dg = maxRelDiff(k.view(grads.full[l]), refG[l]);
          assertOk(dg <= tol * 10, `backward ${what} layer ${l}: max relative difference ${dg}`);
        }
        // accumulate adds a second copy
        net.backward(ws, err, grads, true);
        for (let l = 0; l < net.depth; l++) {
          const twice = refG[l].map((v) => 2 * v);
          const dg = maxRelDiff(k.view(grads.full[l]), twice);
          assertOk(dg <= tol * 10, `accumulated backward ${what} layer ${l}: ${dg}`);
        }
      }
    });
  }
}

for (const sizes of [[5, 7, 3], [4, 6, 5, 3], [3, 5, 4, 6, 2]]) {
  Deno.test(`gradients of a ${sizes.length - 1}-layer net match central finite differences (f64)`, () => {
    const rows = 9, h = 1e-6;
    const rng = new Rng(11, sizes.length);
    const k = new Kernels("f64");
    const net = new Network(k, sizes);
    const w = randomNet(sizes, rng);
    w.forEach((wl, l) => net.setWeights(l, wl));
    const x = k.alloc(rows, sizes[0]);
    rng.fillNormal(k.view(x));
    const x64 = Float64Array.from(k.view(x));
    const c = sizes[sizes.length - 1];
    const t64 = new Float64Array(rows * c);
    rng.fillNormal(t64);
    const t = k.alloc(rows, c);
    k.view(t).set(t64);
    const ws = net.workspace(rows);
    const err = ws.deltas[net.depth - 1];
    k.sub(net.forward(x, ws), t, err);
    k.scale(err, 1 / rows);
    const grads = net.allocLike();
    net.backward(ws, err, grads);
    let worst = 0;
    for (let l = 0; l < net.depth; l++) {
      const g = k.view(grads.full[l]);
      for (let i = 0; i < w[l].length; i++) {
        const saved = w[l][i];
        w[l][i] = saved + h;
        const up = refLoss(sizes, w, x64, t64, rows);
        w[l][i] = saved - h;
        const down = refLoss(sizes, w, x64, t64, rows);
        w[l][i] = saved;
        const fd = (up - down) / (2 * h);
        const diff = Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(g[i]));
        worst = Math.max(worst, diff);
        assertAlmostEquals(g[i], fd, 1e-6 + 1e-5 * Math.abs(fd), `layer ${l} weight ${i}`);
      }
    }
    assertOk(worst < 1e-5, `worst relative difference ${worst}`);
  });
}
