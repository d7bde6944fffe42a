/**
 * The tool's version and the provenance recorded with every run.
 * @module
 */

import { FMA_WASM_SHA256, WASM_SHA256 } from "../wasm/kernels_wasm.ts";
import { MATH_PROVENANCE } from "./detmath.ts";

/** The tool's version (kept equal to deno.json's by tests/version_test.ts). */
export const VERSION = "0.1.0";

/** Where a result came from: tool, runtime and kernel versions. */
export interface Provenance {
  /** Tool name. */
  tool: "specialize";
  /** Tool version. */
  version: string;
  /** Deno version, or "unknown" outside Deno. */
  deno: string;
  /** V8 version, or "unknown". */
  v8: string;
  /** sha256 of the WASM kernels module that ran. */
  wasmSha256: string;
  /** The kernels' SIMD path: deterministic SIMD128, or with relaxed-SIMD fused multiply-add in
   * the matrix products (`--fma`). */
  simd: "simd128" | "simd128+relaxed-fma";
  /** The run's precision. */
  precision: string;
  /** The elementary functions results depend on (engine-independent, see `detmath.ts`). */
  math: string;
}

/** The provenance of a run in this process at the given precision, with the default kernels or
 * the fused multiply-add ones (`fma`). */
export function provenance(precision: string, fma = false): Provenance {
  const v = (globalThis as { Deno?: { version?: { deno: string; v8: string } } }).Deno?.version;
  return {
    tool: "specialize",
    version: VERSION,
    deno: v?.deno ?? "unknown",
    v8: v?.v8 ?? "unknown",
    wasmSha256: fma ? FMA_WASM_SHA256 : WASM_SHA256,
    simd: fma ? "simd128+relaxed-fma" : "simd128",
    precision,
    math: MATH_PROVENANCE,
  };
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/**
 * The job hash of a configuration: the first 12 hex digits of the sha256 of its canonical JSON
 * (without `meta`). The same configuration always gives the same hash, hence the same folder.
 */
export async function configHash(config: object): Promise<string> {
  const { meta: _, ...rest } = config as { meta?: unknown };
  return await sha256Prefix(canonicalJson(rest));
}

/** The first 12 hex digits of the sha256 of a text. */
export async function sha256Prefix(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}
