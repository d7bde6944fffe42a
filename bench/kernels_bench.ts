/**
 * Kernel benchmarks driven by the kernel table of tests/reference.ts: the SIMD peak, every kernel
 * at the training shapes (and 256³ for matmul), both precisions. Before the Deno.bench entries run,
 * a self-timed pass (performance.now() over many calls, after warm-up so V8 has tiered the WASM
 * up) prints a table of µs per call, GFLOP/s and % of the peak measured in the same process.
 *
 * Run: `deno bench -A bench/kernels_bench.ts`
 */
import { Kernels, type Precision } from "../src/kernels.ts";
import { KERNEL_TABLE, type KernelCase, makeRng, type PreparedCase } from "../tests/reference.ts";

const PRECISIONS: readonly Precision[] = ["f32", "f64"];
const PEAK_ITERS = 200_000;

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

/** Seconds per call of fn: warm up for ~warmMs, then time batches for ~runMs. */
function timeCall(fn: () => void, warmMs = 60, runMs = 150): number {
  let t0 = performance.now();
  while (performance.now() - t0 < warmMs) fn();
  let calls = 0;
  t0 = performance.now();
  let t = t0;
  while (t - t0 < runMs) {
    for (let i = 0; i < 16; i++) fn();
    calls += 16;
    t = performance.now();
  }
  return (t - t0) / 1e3 / calls;
}

function peakGflops(precision: Precision): number {
  const k = kernels[precision];
  const s = timeCall(() => k.peak(PEAK_ITERS), 100, 300);
  return (k.peakFlopsPerIter * PEAK_ITERS) / s / 1e9;
}

function summary(): void {
  const peak: Record<Precision, number> = { f32: peakGflops("f32"), f64: peakGflops("f64") };
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
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    rows.map((r) =>
      r.map((x, c) => (c < 3 ? x.padEnd(widths[c]) : x.padStart(widths[c])))
        .join("  ")
    ).join("\n"),
  );
}

summary();

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
