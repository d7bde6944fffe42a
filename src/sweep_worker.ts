/**
 * The Deno Worker of a sweep: receives `{ config, hash, out, force, resume, saveData, dataStore }`,
 * trains the run into `out` with {@linkcode runToFolder}, and posts back `{ ok: true, result }` or `{ ok: false, error }`.
 * A job whose folder was left incomplete (`resume`) continues from its checkpoint, or starts again
 * from scratch when it has none (the only case caught): a checkpoint that cannot be resumed
 * (corrupt, truncated, unreadable) fails the job with the reason, which the sweep records in the
 * job's `error.json` and in `sweep.csv`; the next run of the sweep redoes a failed job from scratch.
 * One job at a time; the worker stays alive for the next one.
 *
 * Test hook: when the environment variable SPECIALIZE_FAIL_JOB is readable (env permission already
 * granted; never prompted) and equals the job's hash, the job throws instead of running.
 * @module
 */

/// <reference lib="deno.worker" />

import type { RunConfig } from "./config.ts";
import type { SaveData } from "./data_store.ts";
import { CHECKPOINT_FILE, resumeRun, type RunResult, runToFolder } from "./run.ts";

/** A job as the sweep posts it. */
interface JobMessage {
  config: RunConfig;
  hash: string;
  out: string;
  force: boolean;
  resume: boolean;
  saveData: SaveData;
  dataStore: string;
}

function injectedFailure(hash: string): boolean {
  const env = { name: "env", variable: "SPECIALIZE_FAIL_JOB" } as const;
  return Deno.permissions.querySync(env).state === "granted" &&
    (Deno.env.get("SPECIALIZE_FAIL_JOB") ?? "").split(",").includes(hash);
}

/**
 * The result of resuming an incomplete job from its checkpoint, or null if it has no checkpoint.
 * Anything else that goes wrong is thrown, with what was being done.
 */
async function resumeFromCheckpoint(out: string): Promise<RunResult | null> {
  const path = `${out}/${CHECKPOINT_FILE}`;
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    return (await resumeRun(out)).result;
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new Error(`Cannot resume from ${path} (the next run redoes the job): ${why}`);
  }
}

self.onmessage = async (e: MessageEvent<JobMessage>) => {
  const { config, hash, out, force, resume, saveData, dataStore } = e.data;
  try {
    if (injectedFailure(hash)) {
      throw new Error(`Injected failure of job ${hash} (SPECIALIZE_FAIL_JOB)`);
    }
    const result = (resume && await resumeFromCheckpoint(out)) ||
      await runToFolder(config, { out, force, saveData, dataStore });
    self.postMessage({ ok: true, result });
  } catch (err) {
    const error = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    self.postMessage({ ok: false, error });
  }
};
