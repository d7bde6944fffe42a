/**
 * The `--fma` kernels (the relaxed-SIMD build, wasm/kernels_fma.wasm): the matrix products match
 * the plain-TS reference within the same tolerances as the default build, on every test shape,
 * f32 and f64, with and without accumulate; they really fuse (the module has relaxed_madd, the
 * default one none, and on a CPU with FMA some bits differ); a run with `fma` records it and ends
 * close to the default run, while the default build stays bit-deterministic (kernels_test,
 * golden_test).
 */
import { fmaKernelsModule, Kernels, kernelsModule, type Precision } from "../src/kernels.ts";
import { resolveConfig } from "../src/config.ts";
import { Trainer } from "../src/train.ts";
import { provenance } from "../src/version.ts";
import { KERNEL_TABLE, makeRng } from "./reference.ts";
import { assertEquals, assertOk } from "./assert.ts";

/** Allowed error relative to Σ|terms| of each output element (as kernels_test). */
const TOLERANCE: Record<Precision, number> = { f32: 1e-5, f64: 2e-14 };
const MATMULS = KERNEL_TABLE.filter((kc) => kc.name.startsWith("matmul"));

/** Whether this CPU has fused multiply-add (x86 `fma` flag; assumed on other architectures). */
function cpuHasFma(): boolean {
  try {
    const flags = Deno.readTextFileSync("/proc/cpuinfo").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
    return Deno.build.arch !== "x86_64" || flags.split(/\s+/).includes("fma");
  } catch {
    return false; // unknown: do not require different bits
  }
}

/** Counts an instruction's opcode (0xfd prefix, LEB128 index) in a module's bytes. */
function countOpcode(bytes: Uint8Array, index: number): number {
  const leb = index < 0x80 ? [index] : [(index & 0x7f) | 0x80, index >> 7];
  let n = 0;
  for (let i = 0; i + leb.length < bytes.length; i++) {
    if (bytes[i] === 0xfd && leb.every((b, j) => bytes[i + 1 + j] === b)) n++;
  }
  return n;
}

Deno.test("the fma module has relaxed_madd in its products, the default module none", async () => {
  const fma = await Deno.readFile(new URL("../wasm/kernels_fma.wasm", import.meta.url));
  const plain = await Deno.readFile(new URL("../wasm/kernels.wasm", import.meta.url));
  // f32x4.relaxed_madd = 0xfd 0x105, f64x2.relaxed_madd = 0xfd 0x107
  assertOk(countOpcode(fma, 0x105) >= 8 && countOpcode(fma, 0x107) >= 8, "fma module fuses");
  assertEquals([countOpcode(plain, 0x105), countOpcode(plain, 0x107)], [0, 0]);
  assertEquals(WebAssembly.Module.imports(fmaKernelsModule()), []);
  assertOk(fmaKernelsModule() !== kernelsModule());
});

for (const precision of ["f32", "f64"] as const) {
  Deno.test(`fma products match the reference within tolerance (${precision})`, () => {
    const fma = new Kernels(precision, { fma: true });
    const plain = new Kernels(precision);
    assertEquals([fma.fma, plain.fma], [true, false]);
    const failures: string[] = [];
    let differing = 0, cases = 0;
    for (const kc of MATMULS) {
      for (const shape of kc.shapes) {
        for (const acc of [false, true]) {
          const seed = 1000 + cases++;
          const run = (k: Kernels) => {
            const mark = k.mark();
            const c = kc.prepare(k, shape, acc, makeRng(seed));
            c.run();
            const out = { actual: c.actual(), expected: c.expected() };
            k.release(mark);
            return out;
          };
          const f = run(fma), p = run(plain);
          const { values, magnitude } = f.expected;
          for (let i = 0; i < values.length; i++) {
            const d = Math.abs(f.actual[i] - values[i]);
            if (!(d <= TOLERANCE[precision] * magnitude[i] + 1e-300)) {
              failures.push(`${kc.name} ${shape} acc ${acc}: element ${i} off by ${d}`);
              break;
            }
          }
          if (f.actual.some((v, i) => v !== p.actual[i])) differing++;
        }
      }
    }
    assertEquals(failures, []);
    if (cpuHasFma()) assertOk(differing > 0, "on a CPU with FMA some products round differently");
  });
}

Deno.test("a run with fma records it and ends close to the default run", () => {
  const settings = {
    d: 20,
    widths: [5],
    outputs: 5,
    multi: 4,
    nTrain: 500,
    nEval: 500,
    iters: 200,
  };
  for (const precision of ["f32", "f64"]) {
    const fmaCfg = resolveConfig({ settings: { ...settings, precision, epochs: 3, fma: true } });
    const plainCfg = resolveConfig({ settings: { ...settings, precision, epochs: 3 } });
    const a = new Trainer(fmaCfg), b = new Trainer(plainCfg);
    assertOk(a.kernels.fma && !b.kernels.fma);
    for (let e = 0; e < 3; e++) {
      a.trainEpoch();
      b.trainEpoch();
    }
    const ma = a.evaluate(), mb = b.evaluate();
    const rel = Math.abs(ma.evalMse - mb.evalMse) / mb.evalMse;
    assertOk(
      rel < (precision === "f32" ? 1e-3 : 1e-9),
      `${precision}: eval MSE ${ma.evalMse} vs ${mb.evalMse}`,
    );
    const pa = provenance(precision, true), pb = provenance(precision);
    assertEquals([pa.simd, pb.simd], ["simd128+relaxed-fma", "simd128"]);
    assertOk(pa.wasmSha256 !== pb.wasmSha256, "provenance names the module that ran");
  }
});
