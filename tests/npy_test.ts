import { decodeNpy, encodeNpy } from "../src/npy.ts";
import { assertEquals, assertOk, assertThrows } from "./assert.ts";

Deno.test(".npy round-trips f32, f64 and i32 with 64-byte aligned headers", () => {
  for (
    const a of [
      { data: new Float64Array([1, 2.5, -3, 4, 5, 6]), shape: [2, 3] },
      { data: new Float32Array([0.1, 0.2, 0.3]), shape: [3] },
      { data: new Int32Array([7]), shape: [1, 1] },
    ]
  ) {
    const bytes = encodeNpy(a);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    assertEquals((10 + headerLen) % 64, 0);
    const back = decodeNpy(bytes);
    assertEquals(back.shape, a.shape);
    assertEquals(Array.from(back.data), Array.from(a.data));
    assertEquals(back.data.constructor, a.data.constructor);
  }
});

Deno.test(".npy header is what numpy writes", () => {
  const bytes = encodeNpy({ data: new Float64Array(6), shape: [2, 3] });
  const text = new TextDecoder().decode(bytes.subarray(10, 80));
  assertOk(text.startsWith("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"), text);
});

Deno.test("corrupt or truncated .npy files are refused", () => {
  const good = encodeNpy({ data: new Float64Array(6), shape: [2, 3] });
  assertThrows(() => decodeNpy(good.subarray(0, good.length - 8)), Error, /Truncated/);
  assertThrows(() => decodeNpy(new Uint8Array([1, 2, 3])), Error, /magic/);
  assertThrows(() => encodeNpy({ data: new Float64Array(5), shape: [2, 3] }), RangeError);
});
