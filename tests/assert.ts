/**
 * Assertions for the tests, behind one module: node:assert now, `@std/assert` later is one edit.
 * @module
 */

import assert from "node:assert/strict";

/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Asserts a truthy value. */
export function assertOk(value: unknown, msg?: string): asserts value {
  assert.ok(value, msg);
}

/** Asserts |actual − expected| ≤ tol. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tol: number,
  msg?: string,
): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new assert.AssertionError({
      message: `${msg ? msg + ": " : ""}expected ${expected} ± ${tol}, got ${actual} ` +
        `(difference ${Math.abs(actual - expected)})`,
    });
  }
}

/** Asserts that fn throws an error of the class whose message matches the pattern. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  errorClass?: new (...args: any[]) => Error,
  pattern?: RegExp,
): void {
  assert.throws(fn, (e: unknown) => {
    if (errorClass && !(e instanceof errorClass)) return false;
    if (pattern && !pattern.test((e as Error).message)) {
      throw new assert.AssertionError({ message: `message ${(e as Error).message} !~ ${pattern}` });
    }
    return true;
  });
}

/** Asserts that the async fn rejects with the error class. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  errorClass?: new (...args: any[]) => Error,
  pattern?: RegExp,
): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    if (errorClass && !(e instanceof errorClass)) return false;
    if (pattern && !pattern.test((e as Error).message)) {
      throw new assert.AssertionError({ message: `message ${(e as Error).message} !~ ${pattern}` });
    }
    return true;
  });
}
