/**
 * A real Slurm: `tests/slurm/start.sh` starts a one-node cluster (munged, slurmctld, slurmd; every
 * file in a temporary folder, free ports), and the README's sbatch script is submitted as a
 * contiguous 1-based (`1-4`), a stepped (`1-7:2`) and a 0-based (`0-2`) array, each into its own
 * sweep folder; every job of every sweep must have run exactly once and every shard must have
 * reported. The cluster is stopped at the end.
 *
 * The README's script is used as written except for what a test machine cannot give: the checkout
 * path, the sweep (a tiny grid instead of the paper's preset), the output folder and logs, one CPU
 * and 200 MB per task, and the `--array` line; `deno` is the one running this test. When Slurm
 * cannot be started here (not root, not installed), the test is registered as ignored with the
 * reason in its name, and says so.
 */
import { assertEquals, assertOk } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const STATE = await Deno.makeTempDir({ prefix: "slurm-test-" });

async function start(): Promise<string | null> {
  if (Deno.build.os !== "linux") return "Slurm test runs on Linux only";
  try {
    const r = await new Deno.Command("bash", {
      args: [`${ROOT}/tests/slurm/start.sh`, STATE],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (r.success) return null;
    return new TextDecoder().decode(r.stderr).trim().split("\n").at(-1) ?? `exit ${r.code}`;
  } catch (e) {
    return `cannot run tests/slurm/start.sh: ${(e as Error).message}`;
  }
}

let stopped = false;
/** Stops the cluster's daemons and removes its folder (once). */
function stop(): void {
  if (stopped) return;
  stopped = true;
  new Deno.Command("bash", { args: [`${ROOT}/tests/slurm/stop.sh`, STATE] }).outputSync();
  Deno.removeSync(STATE, { recursive: true });
}

const unavailable = await start();
if (unavailable) {
  console.warn(`IGNORED Slurm test: ${unavailable}`);
  stop();
} else globalThis.addEventListener("unload", stop);

/** The README's sbatch script (the ```sh block that starts with #!/bin/bash and #SBATCH). */
async function readmeScript(): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const m = readme.match(/```sh\n(#!\/bin\/bash\n#SBATCH[\s\S]*?)```/);
  assertOk(m, "README.md has no sbatch script");
  return m![1];
}

/** Replaces `from` (a pattern that must match) in the script. */
function swap(script: string, from: RegExp, to: string): string {
  assertOk(from.test(script), `the README's sbatch script no longer matches ${from}`);
  return script.replace(from, to);
}

const SWEEP = "--d 5 --widths 3 --outputs 2 --n-train 200 --n-eval 100 --epochs 1 --iters 5 " +
  "--grid multi=1,2 --seeds 1-3"; // 6 jobs

Deno.test({
  name: "a real Slurm cluster runs the README's sbatch script as contiguous, stepped and 0-based " +
    "arrays: every job exactly once" + (unavailable ? ` (IGNORED: ${unavailable})` : ""),
  ignore: unavailable !== null,
  sanitizeResources: false,
  fn: async () => {
    try {
      const readme = await readmeScript();
      const arrays: [string, number][] = [["1-4", 4], ["1-7:2", 4], ["0-2", 3]];
      const bin = Deno.execPath().replace(/\/[^/]*$/, "");
      const env = {
        ...Deno.env.toObject(),
        PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
        SLURM_CONF: `${STATE}/slurm.conf`,
      };
      const runs = arrays.map(async ([spec, tasks], i) => {
        const out = `${STATE}/sweep${i}`, logs = `${STATE}/logs${i}`;
        await Deno.mkdir(logs);
        let s = swap(readme, /^#SBATCH --array=.*$/m, `#SBATCH --array=${spec}`);
        s = swap(s, /^#SBATCH --cpus-per-task=\d+$/m, "#SBATCH --cpus-per-task=1");
        s = swap(s, /^#SBATCH --mem=\S+$/m, "#SBATCH --mem=200M");
        s = swap(s, /^#SBATCH --output=\S+$/m, `#SBATCH --output=${logs}/%A_%a.out`);
        s = swap(s, /^cd .*$/m, `cd ${ROOT}`);
        s = swap(s, /--preset two-layer/, SWEEP);
        s = swap(s, /--out \S+/, `--out ${out}`);
        const file = `${STATE}/sweep${i}.sbatch`;
        await Deno.writeTextFile(file, s);
        const dec = new TextDecoder();
        const submit = await new Deno.Command("sbatch", {
          args: ["--parsable", file],
          env,
          cwd: STATE,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assertEquals(submit.code, 0, `${spec}: sbatch: ${dec.decode(submit.stderr)}`);
        const id = dec.decode(submit.stdout).trim().split(";")[0];
        // Wait until no task of the array is queued or running (sbatch --wait polls every 10 s).
        const deadline = Date.now() + 120_000;
        for (;;) {
          const q = await new Deno.Command("squeue", {
            args: ["-h", "-r", "-j", id, "-o", "%i %T"],
            env,
            stdout: "piped",
            stderr: "piped",
          }).output();
          if (q.success && dec.decode(q.stdout).trim() === "") break;
          assertOk(Date.now() < deadline, `${spec}: still queued after 120 s`);
          await new Promise((r) => setTimeout(r, 250));
        }
        const outputs: string[] = [];
        for await (const e of Deno.readDir(logs)) {
          outputs.push(await Deno.readTextFile(`${logs}/${e.name}`));
        }
        return { spec, tasks, out, outputs };
      });
      for (const { spec, tasks, out, outputs } of await Promise.all(runs)) {
        assertEquals(outputs.length, tasks, `${spec}: one log per array task`);
        for (const o of outputs) {
          assertOk(/ 0 failed /.test(o) && !/error/i.test(o), `${spec}: ${o}`);
        }
        const shards = outputs.map((o) => o.match(/\(shard (\d+)\/(\d+)\)/)?.slice(1).join("/"));
        assertEquals(
          shards.sort(),
          Array.from({ length: tasks }, (_, k) => `${k}/${tasks}`),
          `${spec}: every shard exactly once\n${outputs.join("\n")}`,
        );
        const starts = new Map<string, number>();
        for (const line of (await Deno.readTextFile(`${out}/log.jsonl`)).trim().split("\n")) {
          const e = JSON.parse(line);
          if (e.event === "start") starts.set(e.hash, (starts.get(e.hash) ?? 0) + 1);
        }
        const manifest = JSON.parse(await Deno.readTextFile(`${out}/sweep.json`));
        assertEquals(manifest.jobs.length, 6);
        for (const job of manifest.jobs) {
          assertEquals(starts.get(job.hash), 1, `${spec}: job ${job.hash} started once`);
          assertOk(
            await Deno.stat(`${out}/runs/${job.hash}/result.json`).then(() => true, () => false),
            `${spec}: job ${job.hash} finished`,
          );
        }
      }
    } finally {
      stop();
    }
  },
});
