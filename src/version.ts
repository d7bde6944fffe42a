/**
 * The tool's version and the provenance recorded with every run.
 * @module
 */

import { WASM_SHA256 } from "../wasm/kernels_wasm.ts";

/** The tool's version (kept equal to deno.json's by a test). */
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
  /** The kernels' SIMD path. */
  simd: "simd128";
  /** The run's precision. */
  precision: string;
}

/** The provenance of a run in this process at the given precision. */
export function provenance(precision: string): Provenance {
  const v = (globalThis as { Deno?: { version?: { deno: string; v8: string } } }).Deno?.version;
  return {
    tool: "specialize",
    version: VERSION,
    deno: v?.deno ?? "unknown",
    v8: v?.v8 ?? "unknown",
    wasmSha256: WASM_SHA256,
    simd: "simd128",
    precision,
  };
}
