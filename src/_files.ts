/**
 * Writing a file so that readers never see it half-written. Deno only.
 * @module
 */

/**
 * Writes `bytes` to `tmp`, fsyncs it and renames it to `path`: the one atomic-write mechanism of
 * the run folder ({@linkcode writeFileAtomic} in run.ts) and of the shared data store. The file
 * operations are synchronous on purpose: a signal listener (the CLI's Ctrl-C clean-up) runs between
 * JavaScript tasks, so it never finds `tmp` half-way (created but not yet renamed) with an
 * operation still in flight that would create or fill it after the clean-up looked.
 */
export function writeThroughTemp(path: string, tmp: string, bytes: Uint8Array): Promise<void> {
  try {
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
      f.syncSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, path);
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
}
