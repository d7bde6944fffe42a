/**
 * `deno task mutate`: mutation testing of the list in `tools/mutants.ts`. Copies the repository
 * (without .git, runs/, sweeps/) into a temporary folder, checks that the tests named by the list
 * pass there unmutated, then applies each mutant alone, runs only its tests (`deno test -A
 * --no-check`), and restores the file. A mutant whose tests still pass SURVIVED: a regression of
 * that kind would land green. A mutant whose search text is not in its file exactly once is STALE:
 * the source changed and the list must follow. Prints one line per mutant and a count; exits 1 if
 * any mutant survived or is stale.
 *
 * Usage: `deno task mutate [--only id,id,...] [--list]`
 * @module
 */

import { parseArgs } from "node:util";
import { type Mutant, MUTANTS } from "./mutants.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const SKIP = new Set([".git", "runs", "sweeps", "node_modules", "build"]);
/** Seconds after which a mutant's test run is stopped (and the mutant counted as killed). */
const TIMEOUT_S = 300;

type Outcome = "killed" | "timeout" | "SURVIVED" | "STALE";

/** The test run in progress (stopped on Ctrl-C). */
let running: Deno.ChildProcess | null = null;

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (SKIP.has(e.name)) continue;
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** Occurrences of `needle` in `hay`. */
function count(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}

/** Runs `deno test` on the files in the copy; true if every test passed. */
async function testsPass(
  dir: string,
  tests: string[],
  filter?: string,
): Promise<{ pass: boolean; timedOut: boolean; seconds: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "-A",
      "--no-check",
      "--quiet",
      ...(filter ? ["--filter", filter] : []),
      ...tests,
    ],
    cwd: dir,
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  running = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, TIMEOUT_S * 1000);
  const status = await child.status;
  clearTimeout(timer);
  running = null;
  return { pass: status.success, timedOut, seconds: (performance.now() - t0) / 1000 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { only: { type: "string" }, list: { type: "boolean" } },
    strict: true,
  });
  const ids = new Set(MUTANTS.map((m) => m.id));
  if (ids.size !== MUTANTS.length) throw new Error("tools/mutants.ts: duplicate mutant ids");
  const only = values.only?.split(",").map((s) => s.trim()).filter((s) => s);
  for (const id of only ?? []) if (!ids.has(id)) throw new Error(`No mutant "${id}" (see --list)`);
  const mutants = only ? MUTANTS.filter((m) => only.includes(m.id)) : MUTANTS;
  if (values.list) {
    for (const m of mutants) console.log(`${m.id.padEnd(36)} ${m.file.padEnd(22)} ${m.tests}`);
    return 0;
  }

  const dir = await Deno.makeTempDir({ prefix: "specialize-mutate-" });
  // Ctrl-C: stop the running tests and remove the copy
  const stop = () => {
    running?.kill("SIGKILL");
    Deno.removeSync(dir, { recursive: true });
    Deno.exit(130);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop);
  try {
    await copyTree(ROOT.replace(/\/$/, ""), dir);
    // the tests must pass before anything is mutated, or no mutant means anything
    const suites = [...new Set(mutants.map((m) => JSON.stringify([m.tests, m.filter ?? null])))]
      .map((s) => JSON.parse(s) as [string[], string | null]);
    for (const [tests, filter] of suites) {
      const r = await testsPass(dir, tests, filter ?? undefined);
      if (!r.pass) {
        console.error(`mutate: ${tests.join(" ")} fails without any mutant: fix the tests first`);
        return 1;
      }
    }
    const results: { m: Mutant; outcome: Outcome; seconds: number }[] = [];
    for (const m of mutants) {
      const path = `${dir}/${m.file}`;
      const original = await Deno.readTextFile(path).catch(() => null);
      const n = original === null ? 0 : count(original, m.search);
      let outcome: Outcome, seconds = 0;
      if (n !== 1) {
        outcome = "STALE";
      } else {
        await Deno.writeTextFile(path, original!.replace(m.search, () => m.replace));
        try {
          const r = await testsPass(dir, m.tests, m.filter);
          outcome = r.timedOut ? "timeout" : r.pass ? "SURVIVED" : "killed";
          seconds = r.seconds;
        } finally {
          await Deno.writeTextFile(path, original!);
        }
      }
      results.push({ m, outcome, seconds });
      const why = outcome === "STALE"
        ? ` (search text found ${n} times in ${m.file}; update tools/mutants.ts)`
        : ` (${seconds.toFixed(1)} s)`;
      console.log(`${outcome.padEnd(8)} ${m.id.padEnd(36)} ${m.file}${why}`);
    }
    const of = (o: Outcome) => results.filter((r) => r.outcome === o).length;
    const killed = of("killed") + of("timeout");
    console.log(
      `${results.length} mutants: ${killed} killed, ${of("SURVIVED")} survived, ` +
        `${of("STALE")} stale`,
    );
    return of("SURVIVED") + of("STALE") > 0 ? 1 : 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
