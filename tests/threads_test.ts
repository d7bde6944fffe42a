/**
 * The fused kernels (bias + product + leaky ReLU with its gate; product times gate) give the same
 * bits as the unfused kernels they replace (which tests/kernels_test.ts checks against the plain-TS
 * reference), and every kernel split over 2 or 3 threads gives the same bits as one thread: on
 * awkward shapes (edge tiles, several k and column blocks, below the parallel threshold), both
 * precisions. Then whole SGD steps and evaluations of two-layer and deep trainers.
 */
import assert from "node:assert/strict";
import { resolveConfig } from "../src/config.ts";
import { Kernels, type Mat, type Precision, sharedKernelsModule } from "../src/kernels.ts";
import { controlBytes, type PartFn, ThreadPool } from "../src/threads.ts";
import { Trainer } from "../src/train.ts";
import { sha256Hex } from "../src/build_wasm.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { makeRng } from "./reference.ts";
import { assertOneLineError, exists, runCli, TINY } from "./run_cli.ts";

const PRECISIONS: readonly Precision[] = ["f32", "f64"];
/** [m, k, n]: tiny, edge tiles, k = 0, one k block, several k blocks and column blocks, thin. */
const SHAPES: readonly number[][] = [
  [1, 1, 1],
  [5, 17, 3],
  [3, 0, 9],
  [17, 33, 5],
  [16, 101, 200],
  [101, 16, 200],
  [64, 70, 130],
  [37, 300, 270],
  [2, 513, 41],
  [130, 9, 7],
];

function random(k: Kernels, rows: number, cols: number, rng: () => number): Mat {
  const m = k.alloc(rows, cols);
  const v = k.view(m);
  for (let i = 0; i < v.length; i++) v[i] = rng();
  return m;
}

function bytes(k: Kernels, m: Mat): Uint8Array {
  const v = k.view(m);
  return new Uint8Array(v.slice().buffer);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Runs `body` on every shape in one Kernels of `threads` threads; returns the outputs (as bytes)
 * per shape. */
function outputs(
  threads: number,
  precision: Precision,
  body: (k: Kernels, rng: () => number, shape: readonly number[]) => Mat[],
): Uint8Array[][] {
  using k = new Kernels(precision, { threads });
  const out = SHAPES.map((shape) => {
    const mark = k.mark();
    const rng = makeRng(shape[0] * 1000 + shape[1] * 10 + shape[2]);
    const out = body(k, rng, shape).map((m) => bytes(k, m));
    k.release(mark);
    return out;
  });
  // The large shapes were really split (a Kernels that ignored `threads` would fail here).
  assert.equal(k.parallelCalls > 0, threads > 1, `${k.parallelCalls} parallel calls`);
  return out;
}

const SLOPES = [0, 0.1];

for (const precision of PRECISIONS) {
  Deno.test(`linear and matmulNTGated equal the unfused kernels bit for bit (${precision})`, () => {
    const k = new Kernels(precision);
    const failures: string[] = [];
    for (const [m, kk, n] of SHAPES) {
      for (const slope of SLOPES) {
        const rng = makeRng(m + kk + n);
        const x = random(k, m, kk, rng), w = random(k, kk, n, rng), bias = random(k, 1, n, rng);
        const z1 = k.alloc(m, n), y1 = k.alloc(m, n), g1 = k.alloc(m, n);
        k.fillRows(z1, bias.ptr);
        k.matmulNN(x, w, z1, true);
        k.reluForward(z1, y1, g1, slope);
        const z2 = random(k, m, n, rng), y2 = random(k, m, n, rng), g2 = random(k, m, n, rng);
        k.linear(x, w, bias.ptr, z2, { y: y2, gate: g2, slope });
        const z3 = random(k, m, n, rng);
        k.linear(x, w, bias.ptr, z3);
        // Backward: (d·wᵀ)∘gate with d m×n, w kk×n.
        const d = random(k, m, n, rng), wt = random(k, kk, n, rng), gate = random(k, m, kk, rng);
        const p1 = k.alloc(m, kk);
        k.matmulNT(d, wt, p1);
        k.reluBackward(p1, gate, p1);
        const p2 = random(k, m, kk, rng);
        k.matmulNTGated(d, wt, gate, p2);
        const pairs: [string, Mat, Mat][] = [
          ["z", z1, z2],
          ["y", y1, y2],
          ["gate", g1, g2],
          ["z (no relu)", z1, z3],
          ["gated", p1, p2],
        ];
        for (const [what, a, b] of pairs) {
          if (!same(bytes(k, a), bytes(k, b))) {
            failures.push(`${m}×${kk}×${n} slope ${slope}: ${what} differs`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  });
}

/** Each kernel family: inputs from rng, runs it, returns the matrices it wrote. */
const KERNELS: Record<string, (k: Kernels, rng: () => number, s: readonly number[]) => Mat[]> = {
  matmulNN: (k, rng, [m, kk, n]) => {
    const a = random(k, m, kk, rng), b = random(k, kk, n, rng);
    const c = k.alloc(m, n), c2 = random(k, m, n, rng);
    k.matmulNN(a, b, c);
    k.matmulNN(a, b, c2, true);
    return [c, c2];
  },
  matmulNT: (k, rng, [m, kk, n]) => {
    const a = random(k, m, kk, rng), b = random(k, n, kk, rng);
    const c = k.alloc(m, n), c2 = random(k, m, n, rng);
    k.matmulNT(a, b, c);
    k.matmulNT(a, b, c2, true);
    return [c, c2];
  },
  matmulTN: (k, rng, [m, kk, n]) => {
    const a = random(k, kk, m, rng), b = random(k, kk, n, rng);
    const c = k.alloc(m, n), c2 = random(k, m, n, rng);
    k.matmulTN(a, b, c);
    k.matmulTN(a, b, c2, true);
    return [c, c2];
  },
  "linear + relu, matmulNTGated": (k, rng, [m, kk, n]) => {
    const x = random(k, m, kk, rng), w = random(k, kk, n, rng), bias = random(k, 1, n, rng);
    const z = k.alloc(m, n), y = k.alloc(m, n), gate = k.alloc(m, n);
    k.linear(x, w, bias.ptr, z, { y, gate, slope: 0.1 });
    const d = k.alloc(m, kk);
    k.matmulNTGated(z, w, random(k, m, kk, rng), d);
    return [z, y, gate, d];
  },
  sgdUpdate: (k, rng, [m, kk, n]) => {
    const rows = m * 8 + kk, cols = n + 3; // mostly long enough to be split
    const w = random(k, rows, cols, rng), g = random(k, rows, cols, rng);
    const v = random(k, rows, cols, rng), w2 = random(k, rows, cols, rng);
    k.sgdUpdate(w, g, v, 0.01, 0.9, 1e-4);
    k.sgdUpdate(w2, g, null, 0.02, 0, 0);
    return [w, v, w2];
  },
};

for (const precision of PRECISIONS) {
  for (const [name, body] of Object.entries(KERNELS)) {
    Deno.test(`${name} on 2 and 3 threads gives the bits of 1 thread (${precision})`, () => {
      const failures: string[] = [];
      const one = outputs(1, precision, body);
      for (const threads of [2, 3]) {
        const many = outputs(threads, precision, body);
        SHAPES.forEach((shape, s) => {
          one[s].forEach((o, i) => {
            if (!same(o, many[s][i])) {
              failures.push(`${shape.join("×")}, ${threads} threads: output ${i} differs`);
            }
          });
        });
      }
      assert.deepEqual(failures, []);
    });
  }
}

/** Independent products and updates: one after another, or queued in `together` (several in one
 * hand-off, more parts than a batch holds, work `alongside` on the caller). */
function independentWork(k: Kernels, batched: boolean): Mat[] {
  const rng = makeRng(77);
  // Products of 32·128·160 multiply-adds and updates of 130·257 values: all above the thresholds.
  const a = random(k, 32, 128, rng), b = random(k, 128, 160, rng), bt = random(k, 160, 128, rng);
  const c1 = k.alloc(32, 160), c2 = random(k, 32, 160, rng), c3 = k.alloc(128, 160);
  const d = random(k, 32, 160, rng);
  const w = [0, 1, 2, 3, 4].map(() => random(k, 130, 257, rng));
  const g = [0, 1, 2, 3, 4].map(() => random(k, 130, 257, rng));
  const sums: number[] = [];
  const body = () => {
    k.matmulNN(a, b, c1);
    k.matmulNT(a, bt, c2, true);
    k.matmulTN(a, d, c3);
    for (let i = 0; i < 5; i++) k.sgdUpdate(w[i], g[i], null, 0.01 * (i + 1), 0, 1e-4);
  };
  const alongside = () => {
    for (const x of g) sums.push(k.sumsq(x));
  };
  if (batched) k.together(body, alongside);
  else (body(), alongside());
  const out = [c1, c2, c3, ...w];
  const s = k.alloc(1, sums.length);
  k.view(s).set(sums);
  return [...out, s];
}

for (const precision of PRECISIONS) {
  Deno.test(`together: independent calls in one hand-off give the bits of separate calls (${precision})`, () => {
    const run = (threads: number, batched: boolean) => {
      using k = new Kernels(precision, { threads });
      const out = independentWork(k, batched).map((m) => bytes(k, m));
      return { out, parts: k.threadParts, calls: k.parallelCalls };
    };
    const want = run(1, false);
    assertEquals(want.parts, { total: 0, caller: 0, handoffs: 0 });
    for (const threads of [1, 2, 3]) {
      for (const batched of [false, true]) {
        const got = run(threads, batched);
        got.out.forEach((o, i) =>
          assertOk(same(o, want.out[i]), `${threads} threads ${batched}: output ${i}`)
        );
        if (threads > 1) {
          // Every split call was cut into at least one part per thread.
          const counts = JSON.stringify({ parts: got.parts, calls: got.calls });
          assertOk(got.calls >= 8 && got.parts.total >= got.calls * threads, counts);
          // One hand-off for the whole batch, one per call without it.
          assertEquals(got.parts.handoffs, batched ? 1 : got.calls, counts);
          assertOk(got.parts.caller <= got.parts.total);
        }
      }
    }
  });
}

Deno.test("ThreadPool: every queued part runs once, alongside on the caller, errors leave it usable", () => {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 1024, shared: true });
  const module = sharedKernelsModule();
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const heap = (ex.heap_start as () => number)(), bytes = (ex.scratch_bytes as () => number)();
  const scratch = [heap + controlBytes(), heap + controlBytes() + bytes];
  const sgd = ex.sgd_update_f64 as PartFn;
  const pool = new ThreadPool(module, memory, 3, heap, scratch, ["sgd_update_f64"], [sgd]);
  try {
    const n = 150; // more parts than one batch holds: flushed in pieces
    const w = scratch[1] + bytes, g = w + n * 64;
    new Float64Array(memory.buffer, g, n * 8).fill(1);
    const v = new Float64Array(memory.buffer, w, n * 8);
    const batch = (alongside?: () => void) => {
      // Part i: row i (8 values) -= (i + 1)·1; a part run twice or never would show.
      for (let i = 0; i < n; i++) pool.add(0, [w + i * 64, g + i * 64, 0, 8, i + 1, 0, 0]);
      pool.flush(alongside);
    };
    let ran = 0;
    batch(() => ran++);
    assertEquals(ran, 1);
    for (let i = 0; i < n; i++) assertEquals(v[i * 8 + 5], -(i + 1), `row ${i}`);
    assertEquals(pool.pending, 0);
    const { total, caller } = pool.parts;
    assertOk(total === n && caller >= 0 && caller <= n, JSON.stringify(pool.parts));
    assert.throws(() =>
      batch(() => {
        throw new Error("alongside failed");
      }), /alongside failed/);
    for (let i = 0; i < n; i++) assertEquals(v[i * 8 + 7], -2 * (i + 1), `row ${i} despite it`);
    batch();
    for (let i = 0; i < n; i++) assertEquals(v[i * 8], -3 * (i + 1), `row ${i} usable again`);
    assert.throws(() => pool.add(0, new Array(17).fill(0)), /at most 16 arguments/);
  } finally {
    pool.close();
  }
  assert.throws(() => pool.add(0, [0]), /closed/);
});

const TRAINERS: [string, Record<string, unknown>][] = [
  ["two-layer f64", { d: 30, widths: [10], multi: 5, outputs: 20, nTrain: 500, nEval: 300 }],
  [
    "4 hidden layers f32",
    {
      d: 20,
      widths: [6, 8, 10, 12],
      multi: 5,
      outputs: 30,
      batch: 64,
      nTrain: 500,
      nEval: 300,
      momentum: 0.9,
      weightDecay: 1e-4,
    },
  ],
];

for (const [name, settings] of TRAINERS) {
  Deno.test(`${name}: SGD steps and evaluation on 2 threads give the bits of 1 thread`, () => {
    const run = (threads: number) => {
      using t = new Trainer(resolveConfig({ settings: { ...settings, iters: 30 } }), { threads });
      t.trainEpoch();
      t.trainEpoch();
      const m = t.evaluate();
      assert.equal(t.kernels.parallelCalls > 0, threads > 1);
      return {
        weights: t.student.weights.map((w) => Array.from(t.kernels.view(w))),
        metrics: m,
      };
    };
    const a = run(1), b = run(2);
    assert.deepEqual(b, a);
  });
}

Deno.test("threads: invalid counts are refused, close is idempotent and leaves one thread", () => {
  for (const bad of [0, -1, 1.5, 65, NaN]) {
    assert.throws(
      () => new Kernels("f32", { threads: bad }),
      (e: unknown) => e instanceof RangeError && e.message.includes(String(bad)),
    );
  }
  const k = new Kernels("f64", { threads: 2 });
  assert.equal(k.threads, 2);
  const a = k.alloc(40, 300), b = k.alloc(300, 200), c = k.alloc(40, 200);
  k.view(a).fill(1);
  k.view(b).fill(0.5);
  k.matmulNN(a, b, c);
  k.close();
  k.close();
  const c2 = k.alloc(40, 200);
  k.matmulNN(a, b, c2);
  assert.deepEqual(k.view(c2), k.view(c));
  assert.equal(k.view(c)[0], 150);
});

/** Every file of a folder (sorted names) with its bytes; result.json without its `timing`. */
async function folderFiles(dir: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of Deno.readDir(dir)) {
    const bytes = await Deno.readFile(`${dir}/${e.name}`);
    if (e.name === "result.json") {
      const r = JSON.parse(new TextDecoder().decode(bytes));
      delete r.timing;
      out.push([e.name, JSON.stringify(r)]);
    } else out.push([e.name, await sha256Hex(bytes)]);
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

/** A run whose products are large enough to be split (batch 64 × 100 inputs × 200 nodes). */
const SPLIT_RUN = [
  ...["--d", "100", "--widths", "20", "--multi", "10", "--outputs", "20", "--batch", "64"],
  ...["--n-train", "500", "--n-eval", "300", "--iters", "20", "--epochs", "3", "--quiet"],
];

Deno.test("train --threads 2 and --threads 1 write byte-identical run folders", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const timing: Record<string, { threads: number }> = {};
    for (const t of ["1", "2"]) {
      const r = await runCli(["train", ...SPLIT_RUN, "--threads", t, "--out", `${dir}/t${t}`]);
      assertEquals(r.code, 0, r.stderr);
      timing[t] = JSON.parse(await Deno.readTextFile(`${dir}/t${t}/result.json`)).timing;
    }
    // The option took effect (recorded from the kernels that ran), outside config.json.
    assertEquals([timing["1"].threads, timing["2"].threads], [1, 2]);
    const one = await folderFiles(`${dir}/t1`), two = await folderFiles(`${dir}/t2`);
    assertOk(one.length >= 10, one.map((f) => f[0]).join(" "));
    assertEquals(two, one);
    // A config file's `threads` key works too, and flags override it.
    await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify({ threads: 2 }));
    const r = await runCli([
      "train",
      ...SPLIT_RUN,
      "--config",
      `${dir}/c.json`,
      "--out",
      `${dir}/c`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/c/result.json`)).timing.threads, 2);
    assertEquals(await folderFiles(`${dir}/c`), one);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad --threads values: one line naming the value, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const bad of ["0", "-1", "1.5", "x", "65", ""]) {
      const out = `${dir}/r`;
      const r = await runCli(["train", ...TINY, "--threads", bad, "--out", out]);
      assertOneLineError(
        r,
        new RegExp(`Invalid --threads "${bad}": expected an integer from 1 to 64`),
      );
      assertOk(!(await exists(out)), `--threads ${bad} wrote ${out}`);
    }
    await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify({ threads: "two" }));
    const r = await runCli(["train", ...TINY, "--config", `${dir}/c.json`, "--out", `${dir}/r`]);
    assertOneLineError(r, /c\.json: Invalid --threads "two": expected an integer from 1 to 64/);
    assertOk(!(await exists(`${dir}/r`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
