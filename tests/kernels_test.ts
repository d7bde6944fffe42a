/**
 * Every WASM kernel against its plain-TS reference (tests/reference.ts), both precisions, odd and
 * large shapes, with and without accumulate; plus determinism, in-place ReLU and the allocator.
 * A failure prints one line per case: kernel, precision, shape and the largest difference.
 */
import assert from "node:assert/strict";
import { Kernels, kernelsModule, type Precision } from "../src/kernels.ts";
import { KERNEL_TABLE, type KernelCase, makeRng, refReluForward } from "./reference.ts";

const PRECISIONS: readonly Precision[] = ["f32", "f64"];
/** Allowed error relative to Σ|terms| of each output element. */
const TOLERANCE: Record<Precision, number> = { f32: 1e-5, f64: 2e-14 };

interface Comparison {
  maxDiff: number;
  worstRatio: number;
  at: number;
}

function compare(
  actual: Float64Array,
  values: Float64Array,
  magnitude: Float64Array,
  tol: number,
): Comparison {
  let maxDiff = 0, worstRatio = 0, at = -1;
  if (actual.length !== values.length) return { maxDiff: Infinity, worstRatio: Infinity, at: -1 };
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - values[i]);
    const ratio = d / (tol * magnitude[i] + 1e-300);
    if (!(d <= maxDiff)) maxDiff = d;
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      at = i;
    }
  }
  return { maxDiff, worstRatio, at };
}

function variants(kc: KernelCase): boolean[] {
  return kc.accumulates ? [false, true] : [false];
}

let seed = 1;

for (const kc of KERNEL_TABLE) {
  for (const precision of PRECISIONS) {
    Deno.test(`${kc.name} ${precision} matches the reference`, () => {
      const k = new Kernels(precision);
      const failures: string[] = [];
      let cases = 0;
      for (const shape of kc.shapes) {
        for (const acc of variants(kc)) {
          const mark = k.mark();
          const c = kc.prepare(k, shape, acc, makeRng(seed++));
          c.run();
          const exp = c.expected();
          const r = compare(c.actual(), exp.values, exp.magnitude, TOLERANCE[precision]);
          cases++;
          if (!(r.worstRatio <= 1)) {
            failures.push(
              `NOT OK ${kc.name} ${precision} shape ${shape.join("×")} accumulate=${acc}: ` +
                `largest difference ${r.maxDiff.toExponential(3)}, worst at element ${r.at} ` +
                `(${r.worstRatio.toFixed(1)}× the tolerance)`,
            );
          }
          k.release(mark);
        }
      }
      if (failures.length) console.log(failures.join("\n"));
      assert.equal(failures.length, 0, `${failures.length} of ${cases} cases failed`);
    });
  }
}

for (const kc of KERNEL_TABLE) {
  Deno.test(`${kc.name} is deterministic (same inputs twice give identical bytes)`, () => {
    for (const precision of PRECISIONS) {
      const k = new Kernels(precision);
      for (const shape of [kc.shapes[3], kc.shapes[kc.shapes.length - 1]]) {
        for (const acc of variants(kc)) {
          const start = k.mark();
          const c = kc.prepare(k, shape, acc, makeRng(seed++));
          const end = k.mark();
          const before = new Uint8Array(k.memory.buffer, start, end - start).slice();
          c.run();
          const first = new Uint8Array(k.memory.buffer, start, end - start).slice();
          new Uint8Array(k.memory.buffer, start, end - start).set(before);
          c.run();
          const second = new Uint8Array(k.memory.buffer, start, end - start);
          assert.ok(
            first.every((b, i) => b === second[i]),
            `${kc.name} ${precision} ${shape.join("×")} accumulate=${acc} differs between runs`,
          );
          k.release(start);
        }
      }
    }
  });
}

Deno.test("reluForward and reluBackward work in place", () => {
  for (const precision of PRECISIONS) {
    const k = new Kernels(precision);
    for (const len of [1, 3, 5, 17, 130]) {
      const x = k.alloc(1, len), gate = k.alloc(1, len);
      const v = k.view(x);
      const rng = makeRng(len);
      for (let i = 0; i < len; i++) v[i] = rng();
      v[0] = 0;
      const xs = Float64Array.from(v);
      const slope = precision === "f32" ? Math.fround(0.01) : 0.01;
      k.reluForward(x, x, gate, 0.01);
      const round = precision === "f32" ? Math.fround : (x: number) => x;
      const exp = refReluForward(xs, slope).values.map(round);
      assert.deepEqual(Array.from(k.view(x)), Array.from(exp.subarray(0, len)));
      assert.deepEqual(Array.from(k.view(gate)), Array.from(exp.subarray(len)));
      const y = Float64Array.from(k.view(x));
      k.reluBackward(x, gate, x);
      const dx = k.view(x);
      for (let i = 0; i < len; i++) {
        assert.equal(dx[i], round(y[i] * exp[len + i]));
      }
    }
  }
});

Deno.test("matmul with k = 0 writes zeros, or leaves C unchanged when accumulating", () => {
  for (const precision of PRECISIONS) {
    const k = new Kernels(precision);
    const a = k.alloc(3, 0), b = k.alloc(0, 5), c = k.alloc(3, 5);
    k.view(c).fill(2);
    k.matmulNN(a, b, c, true);
    assert.ok(k.view(c).every((x) => x === 2));
    k.matmulNN(a, b, c);
    assert.ok(k.view(c).every((x) => x === 0));
  }
});

Deno.test("alloc is aligned, zero-filled, grows memory and keeps data reachable via view()", () => {
  for (const precision of PRECISIONS) {
    const k = new Kernels(precision);
    const first = k.alloc(3, 5);
    assert.equal(first.ptr % 64, 0);
    k.view(first).set(Array.from({ length: 15 }, (_, i) => i + 0.5));
    const before = k.memory.buffer.byteLength;
    const mark = k.mark();
    const big = k.alloc(1000, 1000); // 4–8 MB: forces growth
    assert.equal(big.ptr % 64, 0);
    assert.ok(k.memory.buffer.byteLength > before, "memory grew");
    assert.deepEqual(
      Array.from(k.view(first)),
      Array.from({ length: 15 }, (_, i) => i + 0.5),
    );
    assert.ok(k.view(big).every((x) => x === 0));
    k.view(big).fill(7);
    k.release(mark);
    const again = k.alloc(1000, 1000);
    assert.equal(again.ptr, big.ptr);
    assert.ok(k.view(again).every((x) => x === 0), "reused memory is zero-filled");
    const i32 = k.allocI32(3), f64 = k.allocF64(3);
    assert.equal(i32 % 64, 0);
    assert.equal(f64 % 64, 0);
    assert.equal(k.viewF64(f64, 3).length, 3);
    assert.ok(k.bytesAllocated >= 1000 * 1000 * k.bytesPerElement);
    assert.throws(() => k.alloc(70000, 70000), RangeError);
    assert.throws(() => k.release(1), RangeError);
  }
});

Deno.test("rowsOf is a view of whole rows without copy", () => {
  const k = new Kernels("f64");
  const w = k.alloc(4, 3);
  k.view(w).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const bias = k.rowsOf(w, 3, 1);
  assert.deepEqual(Array.from(k.view(bias)), [9, 10, 11]);
  const weights = k.rowsOf(w, 0, 3);
  assert.equal(weights.ptr, w.ptr);
  assert.equal(weights.rows, 3);
  k.view(bias)[0] = 42;
  assert.equal(k.view(w)[9], 42);
  const dst = k.alloc(2, 3);
  k.fillRows(dst, bias.ptr);
  assert.deepEqual(Array.from(k.view(dst)), [42, 10, 11, 42, 10, 11]);
  assert.throws(() => k.rowsOf(w, 3, 2), RangeError);
});

Deno.test("shape mismatches throw RangeError naming the shapes", () => {
  const k = new Kernels("f32");
  const a = k.alloc(2, 3), b = k.alloc(4, 5), c = k.alloc(2, 5);
  assert.throws(() => k.matmulNN(a, b, c), (e: unknown) => {
    return e instanceof RangeError && e.message.includes("2×3") && e.message.includes("4×5");
  });
  assert.throws(() => k.matmulNT(a, b, c), RangeError);
  assert.throws(() => k.matmulTN(a, b, c), RangeError);
  assert.throws(() => k.sub(a, b, c), RangeError);
  assert.throws(() => k.sgdUpdate(a, a, null, 0.1, 0.9, 0), RangeError);
});

Deno.test("the module imports nothing; instances have separate memories; peak runs", () => {
  assert.equal(WebAssembly.Module.imports(kernelsModule()).length, 0);
  const k1 = new Kernels("f32"), k2 = new Kernels("f32");
  assert.notEqual(k1.memory, k2.memory);
  assert.ok(Number.isFinite(k1.peak(1000)));
  assert.equal(k1.peakFlopsPerIter, 96);
  assert.ok(Number.isFinite(new Kernels("f64").peak(1000)));
});
