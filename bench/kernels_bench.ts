/**
 * Kernel benchmarks driven by the kernel table of tests/reference.ts: the SIMD peak, every kernel
 * at the training shapes (and 256³ for matmul), both precisions. Before the Deno.bench entries run,
 * a self-timed pass (performance.now() over many calls, after warm-up so V8 has tiered the WASM
 * up) prints a table of µs per call, GFLOP/s and % of the peak measured in the same process.
 *
 * Run: `deno bench -A bench/kernels_bench.ts`
 */
import { Kernels, type Precision } from "../src/kernels.ts";
import { tableRecords, writeBenchResults } from "./_results.ts";
import { PEAK_ITERS, peakGflops, printTable, timeCall } from "./_timing.ts";
import { KERNEL_TABLE, type KernelCase, makeRng, type PreparedCase } from "../tests/reference.ts";

const PRECISIONS: readonly Precision[] = ["f32", "f64"];

interface Entry {
  kc: KernelCase;
  precision: Precision;
  shape: readonly number[];
  prepared: PreparedCase;
}

const kernels: Record<Precision, Kernels> = { f32: new Kernels("f32"), f64: new Kernels("f64") };
const entries: Entry[] = [];
for (const kc of KERNEL_TABLE) {
  for (const shape of kc.benchShapes) {
    for (const precision of PRECISIONS) {
      const prepared = kc.prepare(kernels[precision], shape, kc.accumulates, makeRng(7));
      entries.push({ kc, precision, shape, prepared });
    }
  }
}

function summary(): string[][] {
  const peak: Record<Precision, number> = {
    f32: peakGflops("f32", kernels.f32),
    f64: peakGflops("f64", kernels.f64),
  };
  const rows: string[][] = [["kernel", "prec", "shape", "µs/call", "GFLOP/s", "% peak"]];
  for (const p of PRECISIONS) {
    rows.push(["peak", p, `${PEAK_ITERS} iters`, "", peak[p].toFixed(1), "100"]);
  }
  for (const e of entries) {
    const flops = e.kc.flops(e.shape);
    const s = timeCall(e.prepared.run);
    const gf = flops / s / 1e9;
    rows.push([
      e.kc.name,
      e.precision,
      e.shape.join("×"),
      (s * 1e6).toFixed(2),
      flops ? gf.toFixed(1) : "-",
      flops ? ((100 * gf) / peak[e.precision]).toFixed(0) : "-",
    ]);
  }
  printTable(rows, 3);
  return rows;
}

await writeBenchResults("kernels", {
  what:
    "every kernel at the training shapes and 256³, GFLOP/s and % of the SIMD peak measured in the same run",
  rows: tableRecords(summary()),
});

for (const p of PRECISIONS) {
  Deno.bench({
    name: `peak ${p} (${PEAK_ITERS} iters × ${kernels[p].peakFlopsPerIter} FLOP)`,
    group: "peak",
    fn: () => {
      kernels[p].peak(PEAK_ITERS);
    },
  });
}
for (const e of entries) {
  Deno.bench({
    name: `${e.kc.name} ${e.precision} ${e.shape.join("×")}`,
    group: `${e.kc.name} ${e.shape.join("×")}`,
    baseline: e.precision === "f32",
    fn: e.prepared.run,
  });
}
