/**
 * Least privilege: the CLI tasks of deno.json read the project, write only their output folders,
 * never use the network, read only the shard variables from the environment and, of the system, only
 * the machine name (job locks).
 */
import { assertEquals, assertOk } from "./assert.ts";
import { assertOneLineError, exists } from "./run_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TASKS: Record<string, string | { command: string }> =
  JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks;
const command = (name: string): string => {
  const t = TASKS[name];
  return typeof t === "string" ? t : t.command;
};
const TINY = ["--d", "5", "--widths", "3", "--outputs", "2", "--n-train", "100", "--n-eval", "50"];

/** Runs a task's `deno run` command with extra arguments, from the project folder. */
async function runTask(name: string, args: string[]) {
  const words = command(name).split(" ");
  assertEquals(words.slice(0, 2), ["deno", "run"], `task ${name} is a deno run command`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...words.slice(2), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("CLI tasks grant no network, no blanket permissions, env only for shard variables, sys only the hostname", () => {
  for (const name of ["demo", "train", "sweep", "report"]) {
    const c = command(name);
    assertOk(
      !/--allow-net|-A\b|--allow-all|--allow-run|--allow-ffi|--allow-sys(?!=hostname\s)/.test(c),
      `${name}: ${c}`,
    );
    assertOk(
      !/--allow-(read|write)(\s|$)/.test(c),
      `${name} limits read and write to folders: ${c}`,
    );
    for (const m of c.matchAll(/--allow-env=(\S+)/g)) {
      for (const v of m[1].split(",")) {
        assertOk(/^(SLURM_ARRAY_TASK_\w+|JOB_COMPLETION_INDEX)$/.test(v), v);
      }
    }
  }
});

Deno.test("the train task writes under runs/ and is refused elsewhere with one line", async () => {
  const name = `runs/permission-test-${Deno.pid}`;
  try {
    const ok = await runTask("train", [...TINY, "--epochs", "1", "--iters", "5", "--out", name]);
    assertEquals(ok.code, 0, ok.stderr);
    assertOk(await exists(`${ROOT}/${name}/result.json`));
    const dir = await Deno.makeTempDir();
    const refused = await runTask("train", [...TINY, "--epochs", "1", "--out", `${dir}/x`]);
    assertOneLineError(
      refused,
      /^error: Requires (read|write) access to .*deno run --allow-read --allow-write cli\.ts train/,
      2,
    );
    assertEquals(await exists(`${dir}/x`), false);
    await Deno.remove(dir);
  } finally {
    await Deno.remove(`${ROOT}/${name}`, { recursive: true }).catch(() => {});
  }
});
