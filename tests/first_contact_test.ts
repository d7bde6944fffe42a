/**
 * What a person meets first: Ctrl-C / SIGTERM say where the run stopped and how to continue it,
 * `cli.ts` alone prints the usage (exit 2), and `sweep` takes `--config` and `--force` like
 * `train`. (Unknown flags with a suggestion and list-valued grid axes are in the bad-input corpus.)
 */
import { assertEquals, assertOk } from "./assert.ts";
import { exists, runCli, TINY } from "./run_cli.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`${signal} during train: "interrupted after epoch e/E; continue with train --resume DIR", the checkpoint kept`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/run`;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--allow-read", "--allow-write", CLI, "train", ...TINY]
          .concat(["--epochs", "200", "--iters", "3000", "--out", out]),
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // wait for the checkpoint after the first epoch
      const t0 = Date.now();
      while (!await exists(`${out}/checkpoint.bin`) || !await exists(`${out}/metrics.csv`)) {
        assertOk(Date.now() - t0 < 30_000, "no checkpoint after 30 s");
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
      child.kill(signal);
      const st = await child.status;
      const err = new TextDecoder().decode((await child.output()).stderr).trim();
      assertEquals(st.code, code, err);
      const m = err.match(
        new RegExp(
          `interrupted \\(${signal}\\) after epoch (\\d+)/200; continue with: train ` +
            `--resume ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`,
        ),
      );
      assertOk(m, err);
      assertOk(await exists(`${out}/checkpoint.bin`), "the checkpoint is kept");
      // a rerun into the folder points to --resume, not --force
      const again = await runCli(["train", ...TINY, "--out", out]);
      assertEquals(again.code, 2);
      assertOk(/interrupted run: continue it with train --resume/.test(again.stderr), again.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("Ctrl-C at any moment of a run's start: no half-written file is left, and what the message says works", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const delay of [0, 100, 200, 250, 300, 350, 400, 450, 500, 700, 1000]) {
      const out = `${dir}/run${delay}`;
      const args = ["train", ...TINY, "--epochs", "3", "--out", out];
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--allow-read", "--allow-write", CLI, ...args],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, delay));
      try {
        child.kill("SIGINT");
      } catch { /* already finished */ }
      const { code, stderr } = await child.output();
      const err = new TextDecoder().decode(stderr).trim();
      if (code === 0) { // finished before the signal
        assertOk(await exists(`${out}/result.json`), `${delay} ms: exit 0 without result.json`);
        continue;
      }
      const left = await exists(out) ? [...Deno.readDirSync(out)].map((e) => e.name) : [];
      assertEquals(left.filter((n) => /\.tmp-\d+$/.test(n)), [], `${delay} ms: ${err}`);
      if (err.includes("continue with: train --resume")) {
        const r = await runCli(["train", "--resume", out]);
        assertEquals(r.code, 0, `${delay} ms: ${err} → ${r.stderr}`);
      } else {
        // before the run started (or before the handler was installed): nothing is left, and the
        // same command runs
        assertOk(err === "" || /before the run started; nothing was kept/.test(err), err);
        assertEquals(left, [], `${delay} ms: ${err}`);
        const r = await runCli(args);
        assertEquals(r.code, 0, `${delay} ms: ${err} → ${r.stderr}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-h is --help for every command", async () => {
  for (const cmd of ["train", "sweep", "report"]) {
    const r = await runCli([cmd, "-h"], []);
    assertEquals(r.code, 0, r.stderr);
    assertOk(r.stdout.includes("Usage:"), `${cmd} -h: ${r.stdout}`);
  }
});

Deno.test("a permission the deno task lacks: one line saying which command works, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], string[]][] = [
      [["train", ...TINY, "--out", `${dir}/a`], ["--allow-read=.", "--allow-write=runs"]],
      [["sweep", ...TINY, "--out", `${dir}/b`], ["--allow-read=.", "--allow-write=sweeps,runs"]],
      [["report", dir], ["--allow-read=runs", "--allow-write=runs"]],
    ];
    for (const [args, perms] of cases) {
      const r = await runCli(args, perms);
      const lines = r.stderr.trim().split("\n");
      assertEquals([r.code, lines.length], [2, 1], r.stderr);
      assertOk(
        lines[0].startsWith("error: ") &&
          lines[0].includes(`deno run --allow-read --allow-write cli.ts ${args[0]}`),
        r.stderr,
      );
    }
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--version and version print the tool's version", async () => {
  const { VERSION } = await import("../src/version.ts");
  for (const cmd of ["--version", "version"]) {
    const r = await runCli([cmd], []);
    assertEquals([r.code, r.stdout.trim()], [0, `specialize ${VERSION}`], r.stderr);
  }
});

Deno.test("cli.ts without a command prints the usage on stderr and exits 2", async () => {
  const r = await runCli([], []);
  assertEquals(r.code, 2);
  assertOk(r.stderr.includes("Usage:") && r.stderr.includes("train"), r.stderr);
  assertEquals(r.stdout, "");
  const h = await runCli(["--help"], []);
  assertEquals(h.code, 0);
  assertOk(h.stdout.includes("Usage:"));
});

Deno.test("sweep takes --config (flags override it) and --force (replaces the folder)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/base.json`,
      JSON.stringify({
        d: 7,
        widths: [3],
        outputs: 2,
        nTrain: 300,
        nEval: 200,
        seed: 9,
        epochs: 9,
      }),
    );
    const out = `${dir}/s`;
    const args = ["sweep", "--config", `${dir}/base.json`, "--epochs", "1", "--iters", "5"];
    const a = await runCli([...args, "--grid", "multi=1,2", "--quiet", "--out", out]);
    assertEquals(a.code, 0, a.stderr);
    const m = JSON.parse(await Deno.readTextFile(`${out}/sweep.json`));
    const job = JSON.parse(await Deno.readTextFile(`${out}/runs/${m.jobs[0].hash}/config.json`));
    assertEquals([job.d, job.widths, job.outputs, job.seed, job.epochs], [7, [3], 2, 9, 1]);
    // another sweep into the same folder: refused, unless --force
    const other = [...args, "--grid", "multi=3", "--quiet", "--out", out];
    const b = await runCli(other);
    assertEquals(b.code, 2, b.stderr);
    const c = await runCli([...other, "--force"]);
    assertEquals(c.code, 0, c.stderr);
    const m2 = JSON.parse(await Deno.readTextFile(`${out}/sweep.json`));
    assertEquals(m2.jobs.length, 1);
    const dirs = [];
    for await (const e of Deno.readDir(`${out}/runs`)) dirs.push(e.name);
    assertEquals(dirs, [m2.jobs[0].hash], "the old jobs are gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
