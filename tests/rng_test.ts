import { Rng } from "../src/rng.ts";
import { assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

Deno.test("xoshiro128** matches the reference sequence from state {1, 2, 3, 4}", () => {
  const r = new Rng(0);
  r.setState({ s: [1, 2, 3, 4], spare: null });
  assertEquals([r.nextU32(), r.nextU32(), r.nextU32()], [11520, 0, 5927040]);
});

Deno.test("seeded draws are fixed forever (golden values: same bits on every machine)", () => {
  const r = new Rng(42);
  assertEquals([r.nextU32(), r.nextU32(), r.nextU32()], [1355077914, 2522007046, 3579839278]);
  assertEquals(r.uniform(), 0.06094517650531517);
  assertEquals([r.normal(), r.normal()], [-0.6832861370853502, -0.2294263394842747]);
  assertEquals(r.int(10), 7);
  assertEquals(new Rng(42, 3).nextU32(), 3131026417);
});

Deno.test("state round-trips, including the spare Gaussian", () => {
  const a = new Rng(5);
  a.normal();
  const s = a.getState();
  const b = new Rng(99);
  b.setState(JSON.parse(JSON.stringify(s)));
  assertEquals([a.normal(), a.uniform(), a.nextU32()], [b.normal(), b.uniform(), b.nextU32()]);
});

Deno.test("uniform, int and normal have the right moments", () => {
  const r = new Rng(1);
  const n = 200000;
  let su = 0, sn = 0, sn2 = 0;
  const counts = new Array(7).fill(0);
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    if (u < 0 || u >= 1) throw new Error(`uniform out of range: ${u}`);
    su += u;
    const g = r.normal();
    sn += g;
    sn2 += g * g;
    counts[r.int(7)]++;
  }
  assertAlmostEquals(su / n, 0.5, 0.005);
  assertAlmostEquals(sn / n, 0, 0.01);
  assertAlmostEquals(sn2 / n, 1, 0.01);
  for (const c of counts) assertAlmostEquals(c / n, 1 / 7, 0.005);
});

Deno.test("bad seeds are refused with a clear message", () => {
  for (const s of [-1, 1.5, 2 ** 32, NaN]) assertThrows(() => new Rng(s), RangeError, /Seed/);
});
