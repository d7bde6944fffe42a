/**
 * The PyTorch comparison (`deno task bench:torch`): its workload table matches our configs, and
 * bench/torch_bench.py runs every job kind and variant it is given (tiny data, a few milliseconds
 * each). Needs python3 with torch (CI installs it); without one, the PyTorch part is skipped.
 */
import { resolveConfig } from "../src/config.ts";
import { layerSizes } from "../src/teacher.ts";
import { INSTALL_HINT, torchJob, WORKLOADS } from "../bench/torch_compare.ts";
import { assertEquals, assertOk } from "./assert.ts";

const SCRIPT = new URL("../bench/torch_bench.py", import.meta.url).pathname;

async function python(): Promise<string | null> {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      const r = await new Deno.Command(py, { args: ["-c", "import torch"], stderr: "null" })
        .output();
      if (r.success) return py;
    } catch {
      // try the next
    }
  }
  return null;
}

Deno.test("every workload's PyTorch job has our shapes, batch and precision", () => {
  const ids = new Set<string>();
  for (const w of WORKLOADS) {
    assertOk(!ids.has(w.id), `duplicate id ${w.id}`);
    ids.add(w.id);
    const c = resolveConfig({ settings: w.settings });
    for (const v of w.variants) {
      const job = torchJob(w, v, c, 100);
      assertEquals(job.sizes, layerSizes(c).student, w.id);
      assertEquals(job.teacher, layerSizes(c).teacher, w.id);
      assertEquals([job.batch, job.dtype, job.kind], [c.batch, c.precision, w.kind], w.id);
      assertOk(w.kind === "eval" ? v === "plain" : v !== "plain", `${w.id}/${v}`);
    }
  }
  assertOk(INSTALL_HINT.includes("python3-torch"));
});

const py = await python();
Deno.test({
  name: "torch_bench.py times every variant of every workload kind (tiny sizes)",
  ignore: py === null,
  fn: async () => {
    const jobs = WORKLOADS.flatMap((w) => {
      const c = resolveConfig({ settings: w.settings });
      return w.variants.map((v) => ({
        ...torchJob(w, v, c, 5),
        warm_ms: 1,
        n_train: 300,
        n_eval: 200,
      }));
    });
    const child = new Deno.Command(py!, {
      args: [SCRIPT],
      env: { OMP_NUM_THREADS: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(jobs)));
    await w.close();
    const out = await child.output();
    assertOk(out.success, new TextDecoder().decode(out.stderr));
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines.length, jobs.length + 1);
    for (const [i, job] of jobs.entries()) {
      assertEquals(lines[i].id, job.id);
      assertOk(lines[i].seconds > 0 && Number.isFinite(lines[i].seconds), JSON.stringify(lines[i]));
    }
    assertEquals(lines[jobs.length].threads, 1);
  },
});
