/** The time calibration a sweep runs before it starts works for the first job of every preset;
 * the evaluation FLOP model follows what an evaluation measures. */
import { planSweep, PRESETS } from "../src/sweep.ts";
import { calibrate, evalFlops } from "../src/sweep_estimate.ts";
import { resolveConfig } from "../src/config.ts";
import { assertEquals, assertOk } from "./assert.ts";

Deno.test("calibrate: every preset's first job (lr schedules, saved epochs, step lists)", async () => {
  for (const p of PRESETS) {
    // the presets' own settings, and a short version like `--epochs 3`
    for (const base of [{}, { epochs: 3, evalAt: "10,2000" }]) {
      const [job] = (await planSweep({ preset: p.name, base, seeds: [1] })).jobs;
      const c = calibrate(job.config);
      assertOk(c.step > 0 && c.eval > 0 && Number.isFinite(c.step + c.eval), `${p.name}`);
    }
  }
});

Deno.test("evalFlops: the training set is measured on its subsample, β on its eval samples", () => {
  const flops = (s: Record<string, unknown>) =>
    evalFlops(resolveConfig({ settings: { d: 20, widths: [10, 15], outputs: 30, ...s } }));
  const base = { nTrain: 10000, nEval: 10000 };
  assertEquals(flops({ ...base, nTrain: 200000 }), flops(base), "beyond --n-train-eval");
  assertOk(flops({ ...base, nTrainEval: 5000 }) < flops(base), "a smaller subsample");
  assertOk(flops({ ...base, nTrain: 5000 }) < flops(base), "a training set under the subsample");
  assertEquals(
    flops({ ...base, nEval: 20000 }) - flops(base),
    flops({ ...base, nEval: 30000 }) -
      flops({ ...base, nEval: 20000 }),
    "β samples do not grow with the eval set",
  );
});
