/**
 * How long the paper's presets take, written to `bench/results/presets.json` (with the CPU, date,
 * Deno version and load average, see `_results.ts`). Jobs differing only in seed or p cost the
 * same, so each preset's jobs fall into a few kinds (the other grid values). One job of each kind
 * runs 3 epochs into a temporary folder with `runToFolder` (after one warm-up run): per epoch =
 * (training + evaluation seconds from its result.json) / 3, fixed cost = the rest of its wall time
 * (set-up, data, files); a preset's estimate is Σ over its jobs of (fixed + epochs × per epoch),
 * divided by 2 workers.
 *
 * Run: `deno task bench:runs` (with the demo's timing; a few minutes on 2 cores).
 */
import { runToFolder } from "../src/run.ts";
import { planSweep, PRESETS } from "../src/sweep.ts";
import { writeBenchResults } from "./_results.ts";

const WORKERS = 2, EPOCHS = 3;

const dir = await Deno.makeTempDir({ prefix: "preset-timing-" });
let runs = 0;
/** Fixed seconds and seconds per epoch of the preset's job, from a run shortened to 3 epochs. */
async function timeRun(preset: string, job: number): Promise<{ fixed: number; perEpoch: number }> {
  const config = (await planSweep({ preset, base: { epochs: EPOCHS } })).jobs[job].config;
  const t0 = performance.now();
  const r = await runToFolder(config, { out: `${dir}/run-${runs++}` });
  const wall = (performance.now() - t0) / 1000;
  const busy = r.timing.trainSeconds + r.timing.evalSeconds;
  return { fixed: Math.max(0, wall - busy), perEpoch: busy / EPOCHS };
}

const presets: Record<string, unknown> = {};
try {
  await timeRun("two-layer", 0); // warm-up: compile and tier up before anything is timed
  for (const preset of PRESETS) {
    const full = await planSweep({ preset: preset.name });
    const kindOf = (c: Record<string, unknown>) => {
      const { seed: _s, p: _p, epochs: _e, lr: _l, saveCorrAt: _c, ...rest } = c;
      return JSON.stringify(rest);
    };
    const kinds = new Map<string, { fixed: number; perEpoch: number }>();
    for (const [i, job] of full.jobs.entries()) {
      const kind = kindOf(job.config as unknown as Record<string, unknown>);
      if (kinds.has(kind)) continue;
      kinds.set(kind, await timeRun(preset.name, i));
    }
    let total = 0;
    for (const job of full.jobs) {
      const k = kinds.get(kindOf(job.config as unknown as Record<string, unknown>))!;
      total += k.fixed + job.config.epochs * k.perEpoch;
    }
    presets[preset.name] = {
      jobs: full.jobs.length,
      epochs: full.jobs[0].config.epochs,
      kinds: [...kinds.values()].map((k) => ({
        fixedSeconds: Number(k.fixed.toFixed(2)),
        secondsPerEpoch: Number(k.perEpoch.toFixed(3)),
      })),
      estimatedMinutes: Math.round(total / WORKERS / 60),
    };
    console.log(preset.name, JSON.stringify(presets[preset.name]));
  }
  await writeBenchResults("presets", {
    what: "per preset: jobs, epochs, per kind of job (grid values other than seed and p) the " +
      "fixed seconds and seconds per epoch (from a 3-epoch run), and the estimated wall " +
      `minutes of the whole preset on ${WORKERS} workers`,
    presets,
  });
} finally {
  await Deno.remove(dir, { recursive: true });
}
