/**
 * The committed module is exactly what the pinned compiler builds from the committed sources:
 * a fresh build's bytes equal wasm/kernels.wasm and the embedded copy, the recorded hashes match,
 * the default module imports nothing, its shared-memory twin imports only a shared memory, and the
 * fused multiply-add build (`--fma`) imports nothing either.
 */
import assert from "node:assert/strict";
import { buildWasmBytes, sha256Hex, sourceHash } from "../src/build_wasm.ts";
import {
  FMA_WASM_BASE64,
  FMA_WASM_SHA256,
  SHARED_WASM_BASE64,
  SHARED_WASM_SHA256,
  SOURCE_SHA256,
  WASM_BASE64,
  WASM_SHA256,
} from "../wasm/kernels_wasm.ts";

const committed = await Deno.readFile(new URL("../wasm/kernels.wasm", import.meta.url));

Deno.test("SOURCE_SHA256 matches assembly/*.ts and asconfig.json", async () => {
  assert.equal(await sourceHash(), SOURCE_SHA256, "sources changed: run `deno task build`");
});

Deno.test("embedded base64 equals wasm/kernels.wasm and WASM_SHA256", async () => {
  const embedded = Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0));
  assert.deepEqual(embedded, committed);
  assert.equal(await sha256Hex(committed), WASM_SHA256);
});

Deno.test("a fresh build is byte-identical to the committed wasm/kernels.wasm", async () => {
  const fresh = await buildWasmBytes();
  assert.equal(await sha256Hex(fresh), await sha256Hex(committed));
});

Deno.test("the module has zero imports and exports its memory", () => {
  const module = new WebAssembly.Module(committed);
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const exports = WebAssembly.Module.exports(module);
  assert.ok(exports.some((e) => e.name === "memory" && e.kind === "memory"));
  assert.ok(exports.some((e) => e.name === "matmul_nn_f32" && e.kind === "function"));
});

Deno.test("the shared build matches wasm/kernels_shared.wasm, imports only a shared memory", async () => {
  const shared = await Deno.readFile(new URL("../wasm/kernels_shared.wasm", import.meta.url));
  const embedded = Uint8Array.from(atob(SHARED_WASM_BASE64), (c) => c.charCodeAt(0));
  assert.deepEqual(embedded, shared);
  assert.equal(await sha256Hex(shared), SHARED_WASM_SHA256);
  assert.equal(await sha256Hex(await buildWasmBytes("shared")), SHARED_WASM_SHA256);
  const module = new WebAssembly.Module(shared);
  assert.deepEqual(WebAssembly.Module.imports(module), [
    { module: "env", name: "memory", kind: "memory" },
  ]);
  // A non-shared memory is refused: the module declares a shared one.
  assert.throws(() =>
    new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 8 }) } })
  );
  const exportNames = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => e.name);
  assert.deepEqual(exportNames(module), exportNames(new WebAssembly.Module(committed)));
});

Deno.test("the fma build matches wasm/kernels_fma.wasm: no imports, the same exports", async () => {
  const fma = await Deno.readFile(new URL("../wasm/kernels_fma.wasm", import.meta.url));
  const embedded = Uint8Array.from(atob(FMA_WASM_BASE64), (c) => c.charCodeAt(0));
  assert.deepEqual(embedded, fma);
  assert.equal(await sha256Hex(fma), FMA_WASM_SHA256);
  assert.equal(await sha256Hex(await buildWasmBytes("fma")), FMA_WASM_SHA256);
  const module = new WebAssembly.Module(fma);
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const exportNames = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => e.name);
  assert.deepEqual(exportNames(module), exportNames(new WebAssembly.Module(committed)));
});
