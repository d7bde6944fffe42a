/** The time calibration a sweep runs before it starts works for the first job of every preset. */
import { planSweep, PRESETS } from "../src/sweep.ts";
import { calibrate } from "../src/sweep_estimate.ts";
import { assertOk } from "./assert.ts";

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
