/**
 * The Deno Worker of a sweep: receives `{ config, hash, out, force }`, trains the run into `out`
 * with {@linkcode runToFolder}, and posts back `{ ok: true, result }` or `{ ok: false, error }`.
 * A job whose folder was left incomplete (`force`) continues from its checkpoint when it has a
 * usable one, and starts again from scratch otherwise. One job at a time; the worker stays alive
 * for the next one.
 *
 * Test hook: when the environment variable SPECIALIZE_FAIL_JOB is readable (env permission already
 * granted; never prompted) and equals the job's hash, the job throws instead of running.
 * @module
 */

/// <reference lib="deno.worker" />

import type { RunConfig } from "./config.ts";
import { CHECKPOINT_FILE, resumeRun, type RunResult, runToFolder } from "./run.ts";

/** A job as the sweep posts it. */
interface JobMessage {
  config: RunConfig;
  hash: string;
  out: string;
  force: boolean;
}

function injectedFailure(hash: string): boolean {
  const env = { name: "env", variable: "SPECIALIZE_FAIL_JOB" } as const;
  return Deno.permissions.querySync(env).state === "granted" &&
    (Deno.env.get("SPECIALIZE_FAIL_JOB") ?? "").split(",").includes(hash);
}

/** The result of resuming an incomplete job from its checkpoint, or null if it has none usable. */
async function resumeFromCheckpoint(out: string): Promise<RunResult | null> {
  try {
    await Deno.stat(`${out}/${CHECKPOINT_FILE}`);
    return (await resumeRun(out)).result;
  } catch {
    return null;
  }
}

self.onmessage = async (e: MessageEvent<JobMessage>) => {
  const { config, hash, out, force } = e.data;
  try {
    if (injectedFailure(hash)) {
      throw new Error(`Injected failure of job ${hash} (SPECIALIZE_FAIL_JOB)`);
    }
    const result = (force && await resumeFromCheckpoint(out)) ||
      await runToFolder(config, { out, force });
    self.postMessage({ ok: true, result });
  } catch (err) {
    const error = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    self.postMessage({ ok: false, error });
  }
};
