/**
 * Φ, φ and Φ₂ of src/normal.ts against high-precision references and exact identities.
 * The reference tables were computed with mpmath 1.3 at 40 digits (Φ: mpmath.ncdf; Φ₂: adaptive
 * quadrature of φ(x)·Φ((k − ρx)/√(1 − ρ²)) over (−∞, h]).
 * @module
 */

import { bivariateNormalCdf, normalCdf, normalPdf } from "../src/normal.ts";
import { assertAlmostEquals, assertOk, assertThrows } from "./assert.ts";

/** [x, Φ(x)] */
const PHI: [number, number][] = [
  [-37, 5.7255712225245768227e-300],
  [-30, 4.9067139271481870595e-198],
  [-20, 2.7536241186062336951e-89],
  [-12.5, 3.7325642988777133772e-36],
  [-8, 6.2209605742717841235e-16],
  [-5, 2.8665157187919391167e-7],
  [-3.3, 0.0004834241423837775071],
  [-1.7, 0.044565462758543043664],
  [-0.9, 0.18406012534675948265],
  [-0.6629, 0.25369730086823676568],
  [-0.3, 0.38208857781104736693],
  [-1e-05, 0.49999601057719605216],
  [0, 0.5],
  [0.2, 0.57925970943910302738],
  [0.66, 0.74537308532866386236],
  [0.7, 0.75803634777692697138],
  [1.3, 0.90319951541438967446],
  [2.5, 0.99379033467422386483],
  [4.1, 0.99997934249308745323],
  [6, 0.99999999901341235496],
  [8.2, 0.99999999999999987981],
];

/** [h, k, ρ, Φ₂(h, k; ρ)] */
const PHI2: [number, number, number, number][] = [
  [0.5, -0.3, 0.1, 0.27754118627393285862],
  [1.2, 0.8, 0.25, 0.71321461633207040801],
  [-1, -2, 0.29, 0.0084822996815495125223],
  [-2.5, -1.5, 0.5, 0.0028521821232924812253],
  [0.3, 1.7, -0.6, 0.57462855062885538717],
  [2, 2, 0.74, 0.96275860186376230204],
  [-1, 1, 0.8, 0.1585990094977451744],
  [0.4, 0.4, 0.9, 0.58924916242971052705],
  [-3, -3, 0.92, 0.00067953447348598520117],
  [-1.5, 0.5, 0.93, 0.066807200209867283945],
  [1, 1, 0.99, 0.82769302698508024999],
  [-2, -2.1, 0.999, 0.01785480831491776236],
  [0.1, 0.1, 0.99999, 0.53911962407983187364],
  [-1, 1.5, -0.5, 0.12623767529918163359],
  [1, -0.5, -0.95, 0.152205184284614976],
  [2, 1, -0.999, 0.81859461412036374138],
  [-4, -5, 0.6, 3.8886726070902571713e-8],
  [-6, 0, 0.3, 9.6042100179496578608e-10],
  [3, 3, -0.3, 0.99730022494325974765],
  [0.7, -0.7, -0.99999, 0.00055710000964943950655],
  [5, -3, 0.95, 0.0013498980316300945267],
  [-0.2, 0.3, 0.0, 0.25998023131267701169],
];

Deno.test("Φ: relative error ≤ 1e-14 in the lower tail, absolute ≤ 2e-16 above", () => {
  for (const [x, p] of PHI) {
    const got = normalCdf(x);
    if (x < 0) assertAlmostEquals(got / p, 1, 1e-14, `Φ(${x})`);
    else assertAlmostEquals(got, p, 2.3e-16, `Φ(${x})`);
    if (x <= 0) assertAlmostEquals(normalCdf(-x), 1 - p, 2.3e-16, `Φ(${-x})`);
  }
  assertOk(normalCdf(-38) === 0 && normalCdf(38) === 1 && normalCdf(-Infinity) === 0);
  assertOk(Number.isNaN(normalCdf(NaN)));
});

Deno.test("φ: exact at 0, and accurate far out where rounding x² first would lose digits", () => {
  assertAlmostEquals(normalPdf(0), 1 / Math.sqrt(2 * Math.PI), 1e-17);
  // φ(x)·√(2π) = e^{−x²/2}: compare far out where rounding x² first would lose digits (30.125² is exact).
  assertAlmostEquals(
    normalPdf(30.125) / (Math.exp(-453.7578125) / Math.sqrt(2 * Math.PI)),
    1,
    1e-14,
  );
});

Deno.test("Φ₂: absolute error ≤ 1e-15 against the references, all three |ρ| ranges and both signs", () => {
  for (const [h, k, r, p] of PHI2) {
    assertAlmostEquals(bivariateNormalCdf(h, k, r), p, 1e-15, `Φ₂(${h}, ${k}; ${r})`);
    assertAlmostEquals(bivariateNormalCdf(k, h, r), p, 1e-15, `Φ₂(${k}, ${h}; ${r})`);
  }
});

Deno.test("Φ₂: exact identities — Φ₂(0, 0; ρ) = 1/4 + asin ρ/(2π), ρ = 0, ρ = ±1, infinite limits", () => {
  for (let i = -100; i <= 100; i++) {
    const r = i / 100.5;
    assertAlmostEquals(bivariateNormalCdf(0, 0, r), 0.25 + Math.asin(r) / (2 * Math.PI), 3e-16);
  }
  for (const [h, k] of [[0.3, -1.2], [-2, -3], [4, 1]]) {
    assertAlmostEquals(bivariateNormalCdf(h, k, 0), normalCdf(h) * normalCdf(k), 2e-16);
    assertAlmostEquals(bivariateNormalCdf(h, k, 1), normalCdf(Math.min(h, k)), 0);
    const lower = Math.max(0, normalCdf(h) - normalCdf(-k));
    assertAlmostEquals(bivariateNormalCdf(h, k, -1), lower, 0);
    assertAlmostEquals(bivariateNormalCdf(h, Infinity, 0.4), normalCdf(h), 0);
    assertAlmostEquals(bivariateNormalCdf(-Infinity, k, 0.4), 0, 0);
  }
  assertThrows(() => bivariateNormalCdf(0, 0, 1.5), RangeError, /outside/);
});

Deno.test("Φ₂: continuous into ρ = ±1 (|Φ₂(ρ) − limit| shrinks like √(1 − |ρ|))", () => {
  for (const [h, k] of [[0.5, 0.5], [0.5, -0.2], [-1.3, 2], [-0.4, 0.4]]) {
    for (const e of [1e-6, 1e-10, 1e-14]) {
      const up = bivariateNormalCdf(h, k, 1 - e) - bivariateNormalCdf(h, k, 1);
      const down = bivariateNormalCdf(h, k, -1 + e) - bivariateNormalCdf(h, k, -1);
      assertOk(Math.abs(up) <= Math.sqrt(e), `ρ = 1 − ${e} at (${h}, ${k}): ${up}`);
      assertOk(Math.abs(down) <= Math.sqrt(e), `ρ = −1 + ${e} at (${h}, ${k}): ${down}`);
    }
  }
});
