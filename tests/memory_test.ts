/**
 * The memory estimate is an upper bound of what a run really allocates: over a grid of
 * configurations (depth, widths, multi, batch, data sizes and their remainders, fresh samples,
 * momentum, bias tuning, polish, both precisions) a run trains, evaluates with every measurement, and its
 * WASM memory (which never shrinks) is compared with `estimateMemory`. The bound must also stay
 * useful: at most a few times the real size.
 */
import { estimateMemory, MEMORY_OVERHEAD, type RawSettings, resolveConfig } from "../src/config.ts";
import { CHUNK_ROWS } from "../src/data.ts";
import { evaluateTrainer, TEACHER_CACHE_BYTES } from "../src/analysis.ts";
import { Trainer } from "../src/train.ts";
import { polishTrainer } from "../src/polish.ts";
import { Kernels } from "../src/kernels.ts";
import { assertEquals, assertOk } from "./assert.ts";

const GRID: RawSettings[] = [
  { d: 20, widths: [5], outputs: 5, multi: 4, nTrain: 300, nEval: 200 },
  { d: 50, widths: [10], outputs: 20, multi: 10, nTrain: 2500, nEval: 1700, batch: 64 },
  { d: 30, widths: [8], outputs: 3, multi: 2, nTrain: 0, nEval: 1500, batch: 4000 },
  { d: 10, widths: [200], outputs: 2, multi: 5, nTrain: 1001, nEval: 999, momentum: 0.9 },
  { d: 20, widths: [5, 7, 9], outputs: 10, multi: 3, nTrain: 3000, nEval: 1000, batch: 33 },
  { d: 30, widths: [12], outputs: 6, multi: 6, nTrain: 4000, nTrainEval: 1234, nEval: 700 },
  { d: 100, widths: [20], outputs: 50, multi: 10, nTrain: 2000, nEval: 1500 },
  { d: 12, widths: [4, 6], outputs: 4, multi: 8, nTrain: 500, nEval: 2001, standardize: true },
  { d: 400, widths: [3], outputs: 100, multi: 1, nTrain: 4000, nEval: 1000, batch: 4000 },
  { d: 10, widths: [10], outputs: 5, multi: 4, nTrain: 400, nEval: 300, data: "teacher-aware" },
  { d: 30, widths: [6], outputs: 4, multi: 3, nTrain: 2500, nEval: 500, polish: true },
];

for (const precision of ["f32", "f64"]) {
  Deno.test(`estimateMemory bounds the real allocation of a run (${precision}, grid)`, () => {
    for (const g of GRID) {
      const c = resolveConfig({ settings: { ...g, precision, epochs: 1, iters: 2 } });
      const t = new Trainer(c);
      evaluateTrainer(t);
      t.trainEpoch();
      if (c.polish) polishTrainer(t, c.polishTol, 2);
      t.evaluate();
      const real = t.kernels.memory.buffer.byteLength, est = estimateMemory(c);
      const what = `${JSON.stringify(g)} ${precision}: real ${real}, estimate ${est}`;
      assertOk(real <= est, `the estimate is below the real allocation: ${what}`);
      assertOk(est <= 3 * real + MEMORY_OVERHEAD, `the estimate is far too high: ${what}`);
    }
  });
}

Deno.test("the estimate's constants match the code's", () => {
  assertEquals(CHUNK_ROWS, 1000);
  assertEquals(TEACHER_CACHE_BYTES, 64 * 2 ** 20);
  const k = new Kernels("f64");
  assertOk(k.memory.buffer.byteLength <= MEMORY_OVERHEAD / 2, "static data grew past the overhead");
});
