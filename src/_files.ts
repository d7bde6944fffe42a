/**
 * Writing a file so that readers never see it half-written. Deno only.
 * @module
 */

/**
 * Writes `bytes` to `tmp`, fsyncs it and renames it to `path`: the one atomic-write mechanism of
 * the run folder ({@linkcode writeFileAtomic} in run.ts) and of the shared data store.
 */
export async function writeThroughTemp(
  path: string,
  tmp: string,
  bytes: Uint8Array,
): Promise<void> {
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}
