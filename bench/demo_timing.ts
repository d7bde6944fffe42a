/**
 * Timings the README quotes for whole runs, written to `bench/results/demo.json` (with the CPU,
 * date, Deno version and load average, see `_results.ts`):
 * - the demo (`deno task demo`'s sweep, the same arguments read from deno.json, into a temporary
 *   folder) and its report: wall seconds of each, as the CLI runs them;
 * - its jobs: mean seconds per job (training + evaluation, from sweep.csv) for each student width;
 * - the bytes of its folder with the report (the sum of the file sizes), in all and by kind of file;
 * - the multi-layer preset: seconds of one training epoch and of one evaluation of its first job.
 *
 * Run: `deno task bench:runs` (a few minutes on 2 cores).
 */
import { evaluateTrainer } from "../src/analysis.ts";
import { planSweep } from "../src/sweep.ts";
import { Trainer } from "../src/train.ts";
import { writeBenchResults } from "./_results.ts";

const root = new URL("../", import.meta.url).pathname;
const denoJson = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
const demo: string = denoJson.tasks.demo.command;
const sweepArgs = demo.match(/cli\.ts sweep (.*?) --out \S+ &&/)![1].split(/\s+/);

/** Every file under `dir`, recursively, with its size in bytes. */
async function* files(dir: string): AsyncGenerator<{ name: string; bytes: number }> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* files(path);
    else if (e.isFile) yield { name: e.name, bytes: (await Deno.stat(path)).size };
  }
}

/** A file's kind: its name with layer and epoch numbers dropped (`corr_eval_layer<l>_epoch<e>.npy`). */
const fileKind = (name: string): string =>
  name.replace(/layer\d+/, "layer<l>").replace(/epoch[\d.]+\.npy$/, "epoch<e>.npy")
    .replace(/_w\d+\.npy$/, "_w<l>.npy").replace(/^fig.*\.svg$/, "fig*.svg");

async function timed(args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli.ts`, ...args],
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!r.success) throw new Error(`cli.ts ${args.join(" ")} failed`);
  return (performance.now() - t0) / 1000;
}

const dir = await Deno.makeTempDir({ prefix: "demo-timing-" });
try {
  // the multi-layer preset's first job, shortened to one epoch
  const ml = (await planSweep({ preset: "multi-layer", base: { epochs: 1 } })).jobs[0].config;
  const trainer = new Trainer(ml);
  let t0 = performance.now();
  trainer.trainEpoch();
  const epochSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  evaluateTrainer(trainer);
  const evalSeconds = (performance.now() - t0) / 1000;

  const sweepSeconds = await timed(["sweep", ...sweepArgs, "--quiet", "--out", `${dir}/demo`]);
  const reportSeconds = await timed(["report", `${dir}/demo`]);
  const byKind: Record<string, number> = {};
  for await (const f of files(`${dir}/demo`)) {
    byKind[fileKind(f.name)] = (byKind[fileKind(f.name)] ?? 0) + f.bytes;
  }
  const folderBytes = Object.values(byKind).reduce((a, b) => a + b, 0);
  const [head, ...lines] = (await Deno.readTextFile(`${dir}/demo/sweep.csv`)).trim().split("\n");
  const cols = head.split(",");
  const perMulti = new Map<number, number[]>();
  for (const l of lines) {
    const cell = l.split(",");
    const multi = Number(cell[cols.indexOf("multi")]);
    perMulti.set(multi, [...(perMulti.get(multi) ?? []), Number(cell[cols.indexOf("seconds")])]);
  }
  const jobSeconds = Object.fromEntries(
    [...perMulti].sort((a, b) => a[0] - b[0]).map((
      [m, xs],
    ) => [`multi ${m}`, Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2))]),
  );

  await writeBenchResults("demo", {
    what: "deno task demo (its sweep and report, wall seconds), its mean seconds per job by " +
      "student width, the bytes of its folder (sum of file sizes, in all and by kind of file, " +
      "largest first), one epoch and one evaluation of the multi-layer preset's first job",
    demo: {
      args: sweepArgs.join(" "),
      jobs: lines.length,
      sweepSeconds: Number(sweepSeconds.toFixed(1)),
      reportSeconds: Number(reportSeconds.toFixed(1)),
      jobSeconds,
      folderBytes,
      bytesByKind: Object.fromEntries(Object.entries(byKind).sort((a, b) => b[1] - a[1])),
    },
    multiLayer: {
      epochSeconds: Number(epochSeconds.toFixed(1)),
      evalSeconds: Number(evalSeconds.toFixed(1)),
    },
  });
} finally {
  await Deno.remove(dir, { recursive: true });
}
