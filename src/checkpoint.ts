/**
 * Checkpoint files: one file holding a JSON header and raw binary arrays, with a checksum.
 *
 * Layout: the 8 bytes `SPECKPT1`, a little-endian u32 header length, the UTF-8 JSON header
 * `{ version, blobBytes: [n…], sha256, state }`, then the arrays back to back. `sha256` covers
 * the header's `state` text and every array, so a torn, truncated or edited file is refused
 * rather than silently resumed. Files are replaced atomically (temp file, fsync, rename), so a
 * kill leaves the previous checkpoint or the new one, never a mix.
 * @module
 */

const MAGIC = "SPECKPT1";
const FORMAT_VERSION = 1;

/** A decoded checkpoint: JSON state and binary arrays. */
export interface Checkpoint<S> {
  /** The JSON-able state. */
  state: S;
  /** The raw arrays, in the order they were written. */
  blobs: Uint8Array[];
}

/** A checkpoint file that cannot be used (wrong magic, truncated, checksum mismatch…). */
export class CheckpointError extends Error {
  /** Creates the error; the message names the file and the problem. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

async function sha256Hex(parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const p of parts) all.set(p, off), off += p.byteLength;
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Encodes a checkpoint as bytes. */
export async function encodeCheckpoint<S>(c: Checkpoint<S>): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const stateText = JSON.stringify(c.state);
  const sha256 = await sha256Hex([enc.encode(stateText), ...c.blobs]);
  const header = enc.encode(
    `{"version":${FORMAT_VERSION},"blobBytes":${
      JSON.stringify(c.blobs.map((b) => b.byteLength))
    },` +
      `"sha256":"${sha256}","state":${stateText}}`,
  );
  const total = 12 + header.byteLength + c.blobs.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(enc.encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.byteLength, true);
  out.set(header, 12);
  let off = 12 + header.byteLength;
  for (const b of c.blobs) out.set(b, off), off += b.byteLength;
  return out;
}

/** Decodes checkpoint bytes; `name` is used in error messages. Throws {@linkcode CheckpointError}. */
export async function decodeCheckpoint<S>(bytes: Uint8Array, name: string): Promise<Checkpoint<S>> {
  const bad = (why: string): never => {
    throw new CheckpointError(`Corrupt checkpoint ${name}: ${why}`);
  };
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    bad("not a specialize checkpoint (bad magic bytes)");
  }
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + headerLen > bytes.byteLength) bad("truncated header");
  const headerText = new TextDecoder().decode(bytes.subarray(12, 12 + headerLen));
  let header: { version?: number; blobBytes?: number[]; sha256?: string; state?: S };
  try {
    header = JSON.parse(headerText);
  } catch {
    return bad("unreadable header");
  }
  if (header.version !== FORMAT_VERSION) {
    bad(`format version ${header.version}, expected ${FORMAT_VERSION}`);
  }
  const sizes = header.blobBytes;
  if (!Array.isArray(sizes) || sizes.some((n) => !Number.isInteger(n) || n < 0)) {
    bad("bad array sizes");
  }
  const blobs: Uint8Array[] = [];
  let off = 12 + headerLen;
  for (const n of sizes!) {
    if (off + n > bytes.byteLength) bad(`truncated data (${bytes.byteLength} bytes)`);
    blobs.push(bytes.slice(off, off + n));
    off += n;
  }
  if (off !== bytes.byteLength) bad(`${bytes.byteLength - off} unexpected bytes at the end`);
  const stateText = JSON.stringify(header.state);
  const sha = await sha256Hex([new TextEncoder().encode(stateText), ...blobs]);
  if (sha !== header.sha256) bad("checksum mismatch");
  return { state: header.state as S, blobs };
}
