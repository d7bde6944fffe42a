/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna, 2018) seeded by splitmix32.
 *
 * Everything is 32-bit integer arithmetic (`Math.imul`, `>>>`), so the same seed gives the same
 * bits on every machine and JavaScript engine. Uniform doubles take 53 bits from two draws;
 * Gaussians use Marsaglia's polar method, which needs a logarithm and a square root: the logarithm is
 * {@linkcode log} of `detmath.ts` (basic IEEE operations only; `Math.log` changes between V8
 * versions), the square root is IEEE 754's, so the draws do not depend on the engine or the CPU.
 *
 * Independent streams (teacher, data, student, minibatches) are derived from one seed and a stream
 * number, so changing the student's width does not change the teacher or the data.
 * @module
 */

import { log } from "./detmath.ts";

/** The full state of an {@linkcode Rng}: four 32-bit words and the cached second Gaussian. */
export interface RngState {
  /** xoshiro128** state words (unsigned 32-bit). */
  s: [number, number, number, number];
  /** The second value of the last polar-method pair, or null. */
  spare: number | null;
}

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Named random streams of one run; each gets its own generator derived from the seed. */
export const STREAM = {
  teacher: 1,
  trainData: 2,
  evalData: 3,
  student: 4,
  batches: 5,
  trainEval: 6,
  labelNoise: 7,
} as const;

/**
 * A xoshiro128** generator.
 *
 * @example
 * ```ts
 * import { Rng } from "@specialize/specialize";
 * const rng = new Rng(42);
 * const u = rng.uniform(); // in [0, 1)
 * const g = rng.normal(); // N(0, 1)
 * ```
 */
export class Rng {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;
  #spare: number | null = null;

  /** Seeds from an integer seed (0 ≤ seed < 2^32) and an optional stream number. */
  constructor(seed: number, stream = 0) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Seed ${seed} is not an integer from 0 to 4294967295`);
    }
    let x = splitmix32(seed ^ Math.imul(stream + 1, 0x632be5ab));
    x = splitmix32(x ^ stream);
    this.#s0 = x;
    this.#s1 = x = splitmix32(x);
    this.#s2 = x = splitmix32(x);
    this.#s3 = splitmix32(x);
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    const s0 = this.#s0, s1 = this.#s1, s2 = this.#s2, s3 = this.#s3;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.#s1 = s1 ^ n2;
    this.#s0 = s0 ^ n3;
    this.#s2 = n2 ^ t;
    this.#s3 = (n3 << 11) | (n3 >>> 21);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5, b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform integer in [0, n), for 1 ≤ n ≤ 2^32 (unbiased, by rejection). */
  int(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.nextU32(); while (x >= limit);
    return x % n;
  }

  /** A standard normal draw (Marsaglia's polar method). */
  normal(): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return s;
    }
    let u: number, v: number, r: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      r = u * u + v * v;
    } while (r >= 1 || r === 0);
    const f = Math.sqrt(-2 * log(r) / r);
    this.#spare = v * f;
    return u * f;
  }

  /** Fills `out` with N(0, std²) draws. */
  fillNormal(out: { length: number; [i: number]: number }, std = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
  }

  /** A snapshot of the state, for checkpoints. */
  getState(): RngState {
    return {
      s: [this.#s0 >>> 0, this.#s1 >>> 0, this.#s2 >>> 0, this.#s3 >>> 0],
      spare: this.#spare,
    };
  }

  /** Restores a state taken with {@linkcode Rng.getState}. */
  setState(state: RngState): void {
    [this.#s0, this.#s1, this.#s2, this.#s3] = state.s.map((w) => w | 0);
    this.#spare = state.spare;
  }
}
