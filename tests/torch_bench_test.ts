/**
 * The PyTorch comparison (`deno task bench:torch`): its workload table matches our configs, and
 * bench/torch_bench.py runs every job kind and variant it is given (tiny data, a few milliseconds
 * each). Needs python3 with torch (CI installs it); without one, the PyTorch part is skipped.
 */
import { resolveConfig } from "../src/config.ts";
import { layerSizes } from "../src/teacher.ts";
import { findPython, INSTALL_HINT, runTorch, torchJob, WORKLOADS } from "../bench/torch_compare.ts";
import { assertEquals, assertOk } from "./assert.ts";

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

const py = await findPython();
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
    const { seconds, info } = await runTorch(py!, jobs);
    assertEquals([...seconds.keys()], jobs.map((j) => j.id));
    for (const [id, t] of seconds) assertOk(t > 0 && Number.isFinite(t), `${id}: ${t}`);
    assertEquals(info.threads, 1);
  },
});
