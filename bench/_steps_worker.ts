/**
 * A worker for bench/threads_bench.ts: one one-thread Trainer of its own, which on each message
 * `{ settings, ms }` runs SGD steps for that many milliseconds and answers with the milliseconds
 * per step. Two of these running at once measure what the machine gives two independent runs.
 * @module
 */
/// <reference lib="deno.worker" />
import { resolveConfig } from "../src/config.ts";
import { Trainer } from "../src/train.ts";
import { stepFor } from "./_timing.ts";

let trainer: Trainer | null = null;
self.onmessage = (e: MessageEvent<{ settings: Record<string, unknown>; ms: number }>) => {
  trainer ??= new Trainer(resolveConfig({ settings: e.data.settings }));
  self.postMessage(stepFor(trainer, e.data.ms).msPerStep);
};
