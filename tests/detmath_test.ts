/**
 * The deterministic elementary functions of src/detmath.ts: within one ulp of the engine's `Math`
 * functions over millions of inputs, exact on special values, and fixed golden bits (the point of
 * the module: the same bits on every engine).
 */
import { exp, ilogb, log, log10, pow, pow2 } from "../src/detmath.ts";
import { assertEquals, assertOk } from "./assert.ts";

const F = new Float64Array(1);
const B = new BigInt64Array(F.buffer);

/** A double's position on the number line as an integer (adjacent doubles differ by 1). */
function ordinal(x: number): bigint {
  F[0] = x;
  const v = B[0];
  return v < 0n ? -(v & 0x7fffffffffffffffn) : v;
}

/** Distance in ulps between two doubles (0 for two NaNs). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  return Math.abs(Number(ordinal(a) - ordinal(b)));
}

/** A small LCG: inputs independent of the code under test. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return (s >>> 0) / 4294967296 + (Math.imul(s, 69069) >>> 0) / 2 ** 64;
  };
}

const N = 1_000_000;

/** Input generators per case: [name, function, reference, input]. */
const CASES: [string, (...a: number[]) => number, (...a: number[]) => number, () => number[]][] =
  (() => {
    const u = lcg(7);
    return [
      ["log, 2^-1074 … 2^1023", log, Math.log, () => [Math.exp((u() - 0.5) * 1400)]],
      ["log, (0, 1) (the polar method's range)", log, Math.log, () => [u()]],
      ["log, 1 ± 1e-5", log, Math.log, () => [1 + (u() - 0.5) * 2e-5]],
      ["log, subnormals", log, Math.log, () => [u() * 2 ** -1022]],
      ["log10, wide range", log10, Math.log10, () => [Math.exp((u() - 0.5) * 1400)]],
      ["exp, −745 … 710", exp, Math.exp, () => [(u() - 0.5) * 1455]],
      ["exp, −2 … 2", exp, Math.exp, () => [(u() - 0.5) * 4]],
      ["pow, integer base, −5 … 0 (teacher decay)", pow, Math.pow, () => [
        1 + Math.floor(u() * 10000),
        -u() * 5,
      ]],
      ["pow, (0, 100) ^ (−50, 50)", pow, Math.pow, () => [u() * 100, (u() - 0.5) * 100]],
      ["pow, negative base ^ integer", pow, Math.pow, () => [
        -u() * 10,
        Math.floor((u() - 0.5) * 60),
      ]],
    ];
  })();

for (const [name, f, ref, input] of CASES) {
  Deno.test(`${name}: within 1 ulp of Math over ${N / 1e6} million inputs`, () => {
    let worst = 0, at: number[] = [];
    for (let i = 0; i < N; i++) {
      const a = input();
      const e = ulps(f(...a), ref(...a));
      if (e > worst) [worst, at] = [e, a];
    }
    assertOk(worst <= 1, `${name}: ${worst} ulps at ${at.join(", ")}`);
  });
}

Deno.test("special values are exactly Math's (JavaScript semantics)", () => {
  const xs = [0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, Infinity, -Infinity, NaN, 5e-324, -5e-324];
  xs.push(1e-310, 1.7976931348623157e308, -1.7976931348623157e308, 709.8, -745.2, 1e-20);
  for (const x of xs) {
    for (const [f, ref] of [[log, Math.log], [log10, Math.log10], [exp, Math.exp]]) {
      const y = f(x), r = ref(x);
      // finite non-trivial values may differ by one ulp (checked above); the rest must be equal
      if (Number.isFinite(r) && r !== 0 && r !== 1 && Math.abs(r) > 1e-300) {
        assertOk(ulps(y, r) <= 1, `${f.name}(${x}) = ${y}, Math: ${r}`);
      } else assertOk(Object.is(y, r), `${f.name}(${x}) = ${y}, Math: ${r}`);
    }
    for (const y of xs) {
      const v = pow(x, y), r = Math.pow(x, y);
      if (Number.isFinite(r) && r !== 0 && Math.abs(r) > 1e-300) {
        assertOk(ulps(v, r) <= 1, `pow(${x}, ${y}) = ${v}, Math: ${r}`);
      } else assertOk(Object.is(v, r), `pow(${x}, ${y}) = ${v}, Math: ${r}`);
    }
  }
});

Deno.test("exact where exactness is expected: integer powers, logs of 1, 10^k", () => {
  for (let b = 1; b <= 64; b++) {
    for (let e = 0; e <= 10; e++) if (b ** e < 2 ** 53) assertEquals(pow(b, e), b ** e);
    assertEquals(pow(b, -1), 1 / b);
    assertEquals(pow(b, 0.5), Math.sqrt(b));
  }
  assertEquals([log(1), log10(1), exp(0)], [0, 0, 1]);
  for (let k = 0; k <= 22; k++) assertEquals(log10(10 ** k), k);
});

Deno.test("golden bits: the same on every engine, forever", () => {
  // Values computed by this implementation; any engine running it must reproduce them exactly.
  assertEquals(log(3), 1.0986122886681096);
  assertEquals(exp(1), 2.7182818284590455);
  assertEquals(pow(7, -2), 0.020408163265306124);
  assertEquals(pow(3, -1.5), 0.19245008972987526);
  assertEquals(log(0.7226405690889806), -0.32484331862704785);
  assertEquals(exp(-0.1), 0.9048374180359595);
  assertEquals(pow(10, -5), 0.000009999999999999999);
  assertEquals(log10(2), 0.3010299956639812);
});

Deno.test("ilogb and pow2: exact exponents and powers of two (table)", () => {
  const cases: [number, number][] = [
    [1, 0],
    [1.5, 0],
    [2, 1],
    [0.75, -1],
    [-8, 3],
    [1e-300, -997],
    [5e-324, -1074],
    [2.2250738585072014e-308, -1022],
    [1.7976931348623157e308, 1023],
  ];
  for (const [x, e] of cases) assertEquals(ilogb(x), e, `ilogb(${x})`);
  for (const x of [0, NaN, Infinity]) assertOk(Number.isNaN(ilogb(x)));
  for (let n = -1022; n <= 1023; n++) assertEquals(pow2(n), 2 ** n);
});
