/**
 * NumPy `.npy` files (format version 1.0): little-endian `<f4`, `<f8` or `<i4`, C order.
 * @module
 */

/** An array to save: its typed data and shape (row-major). */
export interface NpyArray {
  /** The values, row-major. */
  data: Float32Array | Float64Array | Int32Array;
  /** The shape; the product must equal data.length. */
  shape: number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

function descrOf(data: NpyArray["data"]): string {
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Float64Array) return "<f8";
  return "<i4";
}

/** Encodes an array as the bytes of a `.npy` file. */
export function encodeNpy(a: NpyArray): Uint8Array {
  const count = a.shape.reduce((x, y) => x * y, 1);
  if (count !== a.data.length) {
    throw new RangeError(`Shape ${JSON.stringify(a.shape)} does not hold ${a.data.length} values`);
  }
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(", ")})`;
  let header = `{'descr': '${descrOf(a.data)}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + a.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), 10 + header.length);
  return out;
}

/** Decodes a `.npy` file written by {@linkcode encodeNpy} (or NumPy, for the same dtypes). */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error("Not a .npy file (bad magic bytes)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) throw new Error("Truncated .npy header");
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = header.match(/'descr':\s*'([^']+)'/)?.[1];
  const fortran = header.match(/'fortran_order':\s*(True|False)/)?.[1];
  const shapeText = header.match(/'shape':\s*\(([^)]*)\)/)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error("Malformed .npy header");
  if (fortran === "True") throw new Error("Fortran-order .npy files are not supported");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s).map(Number);
  const count = shape.reduce((x, y) => x * y, 1);
  const ctor = descr === "<f4"
    ? Float32Array
    : descr === "<f8"
    ? Float64Array
    : descr === "<i4"
    ? Int32Array
    : null;
  if (!ctor) throw new Error(`Unsupported .npy dtype ${descr}: expected <f4, <f8 or <i4`);
  const body = start + headerLen;
  if (bytes.length - body !== count * ctor.BYTES_PER_ELEMENT) {
    throw new Error(
      `Truncated .npy data: ${bytes.length - body} bytes for shape (${
        shape.join(", ")
      }) of ${descr}`,
    );
  }
  const data = new ctor(bytes.slice(body).buffer);
  return { data, shape };
}
