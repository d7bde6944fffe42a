/**
 * Runs the CLI as a user would, in a subprocess with the permissions the README gives it.
 * @module
 */

import { assertEquals, assertOk } from "./assert.ts";

/** Flags of a tiny two-layer run (d 7, teacher 3, student 9, 2 outputs, 300 / 200 samples). */
export const TINY: readonly string[] = [
  ...["--d", "7", "--widths", "3", "--outputs", "2", "--multi", "3"],
  ...["--n-train", "300", "--n-eval", "200"],
];

/** What a CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Runs `deno run <permissions> cli.ts ...args`, with extra environment variables if given. */
export async function runCli(
  args: string[],
  permissions: string[] = ["--allow-read", "--allow-write"],
  env?: Record<string, string>,
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...permissions, CLI, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts that a CLI run ended with one `error: …` line matching `pattern` and exit `code`. */
export function assertOneLineError(
  r: Pick<CliResult, "code" | "stderr">,
  pattern: RegExp,
  code = 2,
): void {
  assertEquals(r.code, code, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, r.stderr);
  assertOk(lines[0].startsWith("error: ") && pattern.test(lines[0]), lines[0]);
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
