import { encodeNpy } from "../src/npy.ts";
import { writeReport } from "../src/report.ts";
import { ConfigError } from "../src/config.ts";
import { assertEquals, assertOk, assertRejects } from "./assert.ts";
import { assertOneLineError, exists, runCli } from "./run_cli.ts";

const TINY = [
  ...["--d", "5", "--widths", "3", "--outputs", "2", "--n-train", "200", "--n-eval", "100"],
  ...["--epochs", "3", "--iters", "20", "--quiet"],
];

/** Axis titles each figure must show, by file-name prefix. */
const AXIS_TITLES: Record<string, string[]> = {
  fig1_lshape: ["best correlation to any teacher", "fan-out norm"],
  fig2_success: ["teacher node j (0 = strongest)", "success rate"],
  fig3_loss: ["epoch", "log10"],
  fig4_trajectories: ["epoch", "correlation with teacher j"],
  fig4b_best_corr: ["epoch", "best correlation"],
  fig5_multilayer_lshape: ["best correlation to any teacher", "sqrt(E[β_kk])"],
  fig6_sample_complexity: ["training samples N_train", "log10 eval MSE", "mean best correlation"],
  fig7_multilayer_sample_complexity: ["training samples N_train", "log10", "mean best correlation"],
};

/**
 * A small XML well-formedness check: one root <svg> element, every tag closed in order, nothing
 * but whitespace outside it, attribute values quoted.
 */
function assertWellFormedSvg(svg: string, name: string): void {
  const body = svg.trim();
  assertOk(body.startsWith("<svg") && body.endsWith("</svg>"), `${name}: not one <svg> element`);
  const stack: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/g)) {
    const [, close, tag, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      assertEquals(open, tag, `${name}: </${tag}> closes <${open}>`);
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(tag);
    }
  }
  assertEquals(stack, [], `${name}: unclosed tags`);
  assertEquals(roots, 1, `${name}: root elements`);
  // every "<" starts a tag the pattern above accepted (no stray markup, all attributes quoted)
  const tags = body.match(/<[^>]*>/g) ?? [];
  const accepted = body.match(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/g) ?? [];
  assertEquals(tags.length, accepted.length, `${name}: malformed tags`);
  assertEquals((body.match(/</g) ?? []).length, tags.length, `${name}: stray "<"`);
}

/** Checks a report folder: SVGs well-formed with their axis titles, linked from index.html. */
async function checkReport(dir: string, expected: string[]): Promise<string[]> {
  const files = [];
  for await (const e of Deno.readDir(dir)) files.push(e.name);
  const svgs = files.filter((f) => f.endsWith(".svg")).sort();
  const index = await Deno.readTextFile(`${dir}/index.html`);
  for (const prefix of expected) {
    assertOk(svgs.some((f) => f.startsWith(prefix + ".") || f.startsWith(prefix + "_")), prefix);
  }
  for (const f of svgs) {
    const svg = await Deno.readTextFile(`${dir}/${f}`);
    assertWellFormedSvg(svg, f);
    const prefix = Object.keys(AXIS_TITLES).filter((p) =>
      f.startsWith(p)
    ).sort((a, b) => b.length - a.length)[0];
    assertOk(prefix, `${f}: unexpected figure`);
    for (const title of AXIS_TITLES[prefix]) {
      assertOk(svg.includes(`>${title}`), `${f}: no axis title "${title}"`);
    }
    assertOk(index.includes(`src="${f}"`), `index.html does not show ${f}`);
  }
  for (const f of files.filter((f) => f.endsWith(".csv"))) {
    assertOk(index.includes(`href="${f}"`), `index.html does not link ${f}`);
    const lines = (await Deno.readTextFile(`${dir}/${f}`)).trim().split("\n");
    assertOk(lines.length >= 2, `${f}: no rows`);
  }
  assertOk(!files.some((f) => f.includes(".tmp-")), "temporary files left");
  return svgs;
}

Deno.test("report of a small sweep: every figure, tables, index.html (CLI permissions)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "specialize-report-" });
  try {
    const sweep = await runCli([
      "sweep",
      ...TINY,
      ...["--grid", "multi=1,2", "--grid", "p=0,1", "--seeds", "1-2", "--save-corr-at", "1,2"],
      ...["--out", `${dir}/sw`],
    ]);
    assertEquals(sweep.code, 0, sweep.stderr);
    const r = await runCli(["report", `${dir}/sw`]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr, "");
    assertOk(/wrote .*\/report\//.test(r.stdout), r.stdout);
    const svgs = await checkReport(`${dir}/sw/report`, [
      "fig1_lshape",
      "fig2_success",
      "fig3_loss",
      "fig4_trajectories",
      "fig4b_best_corr",
    ]);
    assertEquals(svgs.length, 6); // Fig. 4 for each p
    const index = await Deno.readTextFile(`${dir}/sw/report/index.html`);
    for (const note of ["Fig. 5: multi-layer L-shape", "Fig. 6: sample complexity"]) {
      assertOk(index.includes(`<b>${note}</b>: not drawn`), note);
    }
    for (const s of ["multi = 2", "p = 1"]) {
      assertOk((await Deno.readTextFile(`${dir}/sw/report/fig1_lshape.svg`)).includes(s), s);
    }
    const summary = (await Deno.readTextFile(`${dir}/sw/report/summary.csv`)).trim().split("\n");
    assertEquals(summary.length, 5); // header + 4 grid points
    assertOk(summary[0].startsWith("multi,p,seeds,log10_eval_mse_mean"), summary[0]);

    // a rerun replaces the report; --out refuses a folder that is not a report
    const again = await runCli(["report", `${dir}/sw`]);
    assertEquals(again.code, 0, again.stderr);
    await Deno.mkdir(`${dir}/other`);
    await Deno.writeTextFile(`${dir}/other/keep.txt`, "x");
    const refused = await runCli(["report", `${dir}/sw`, "--out", `${dir}/other`]);
    assertEquals(refused.code, 2);
    assertOk(/not a report/.test(refused.stderr), refused.stderr);
    assertEquals([...Deno.readDirSync(`${dir}/other`)].map((e) => e.name), ["keep.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report of single runs: two-layer and multi-layer figures", async () => {
  const dir = await Deno.makeTempDir({ prefix: "specialize-report-" });
  try {
    const two = await runCli(["train", ...TINY, "--save-corr-at", "1,2", "--out", `${dir}/two`]);
    assertEquals(two.code, 0, two.stderr);
    const s = await writeReport(`${dir}/two`);
    assertEquals(s.kind, "run");
    assertEquals(s.figures.map((f) => f.file), [
      "fig1_lshape.svg",
      "fig3_loss.svg",
      "fig4_trajectories.svg",
      "fig4b_best_corr.svg",
    ]);
    for (const f of s.figures) {
      const svg = await Deno.readTextFile(`${s.out}/${f.file}`);
      for (const t of f.axisTitles) assertOk(svg.includes(`>${t}`), `${f.file}: "${t}"`);
    }
    await checkReport(`${dir}/two/report`, ["fig1_lshape", "fig3_loss"]);

    const deep = await runCli([
      "train",
      ...TINY,
      ...["--widths", "3,4", "--out", `${dir}/deep`],
    ]);
    assertEquals(deep.code, 0, deep.stderr);
    const d = await writeReport(`${dir}/deep`, { out: `${dir}/deep_report` });
    assertOk(d.figures.some((f) => f.file === "fig5_multilayer_lshape.svg"), "no Fig. 5");
    assertOk(d.skipped.some((k) => k.title.startsWith("Fig. 4:")), "Fig. 4 without matrices");
    await checkReport(`${dir}/deep_report`, ["fig5_multilayer_lshape", "fig3_loss"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report of a sample-complexity sweep: Fig. 6, teacher-aware vs Gaussian", async () => {
  const dir = await Deno.makeTempDir({ prefix: "specialize-report-" });
  try {
    const sweep = await runCli([
      "sweep",
      ...TINY,
      ...["--grid", "data=gaussian,teacher-aware", "--grid", "n-train=50,100", "--seeds", "1-2"],
      ...["--out", `${dir}/sc`],
    ]);
    assertEquals(sweep.code, 0, sweep.stderr);
    const s = await writeReport(`${dir}/sc`);
    assertOk(s.figures.some((f) => f.file === "fig6_sample_complexity.svg"), "no Fig. 6");
    const svg = await Deno.readTextFile(`${s.out}/fig6_sample_complexity.svg`);
    assertOk(svg.includes("teacher-aware") && svg.includes("gaussian"), "legend");
    await checkReport(s.out, ["fig6_sample_complexity"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The last value of a column of a CSV file. */
async function lastOf(path: string, column: string, filter: (c: string[]) => boolean = () => true) {
  const [head, ...lines] = (await Deno.readTextFile(path)).trim().split("\n");
  const i = head.split(",").indexOf(column);
  return lines.map((l) => l.split(",")).filter(filter).map((c) => Number(c[i]));
}

Deno.test("report of a multi-layer sample-complexity sweep: Fig. 7 and its numbers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "specialize-report-" });
  try {
    const sweep = await runCli([
      "sweep",
      ...["--d", "5", "--widths", "3,4", "--outputs", "3", "--n-eval", "100", "--quiet"],
      ...["--epochs", "2", "--iters", "20", "--lr", "0.05"],
      ...["--grid", "loss=mse,cross-entropy", "--grid", "multi=1,2", "--grid", "n-train=50,100"],
      ...["--seeds", "1-2", "--out", `${dir}/mlsc`],
    ]);
    assertEquals(sweep.code, 0, sweep.stderr);
    const s = await writeReport(`${dir}/mlsc`);
    for (const loss of ["mse", "cross-entropy"]) {
      const f = `fig7_multilayer_sample_complexity_loss-${loss}.svg`;
      assertOk(s.figures.some((x) => x.file === f), `no ${f}`);
      const svg = await Deno.readTextFile(`${s.out}/${f}`);
      for (const t of ["multi = 1", "multi = 2", "layer 0", "layer 1", "train", "eval"]) {
        assertOk(svg.includes(`>${t}`), `${f}: no "${t}"`);
      }
      assertOk(svg.includes(loss === "mse" ? ">log10 MSE" : ">log10 cross-entropy"), f);
    }
    await checkReport(s.out, ["fig7_multilayer_sample_complexity"]);
    // the table, recomputed from each run's own CSVs
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/mlsc/sweep.json`));
    const [head, ...lines] = (await Deno.readTextFile(`${s.out}/multilayer_sample_complexity.csv`))
      .trim().split("\n");
    const cols = head.split(",");
    assertEquals(lines.length, 2 * 2 * 2);
    for (const line of lines) {
      const row = Object.fromEntries(line.split(",").map((v, i) => [cols[i], v]));
      const jobs = manifest.jobs.filter((j: { point: Record<string, string> }) =>
        j.point.loss === row.loss && j.point.multi === row.multi && j.point.nTrain === row.nTrain
      );
      assertEquals(jobs.length, 2);
      const ce = row.loss === "cross-entropy";
      const perRun = await Promise.all(jobs.map(async (j: { hash: string }) => {
        const rd = `${dir}/mlsc/runs/${j.hash}`;
        const loss = (await lastOf(`${rd}/metrics.csv`, ce ? "eval_ce" : "eval_mse")).at(-1)!;
        const epoch = (await lastOf(`${rd}/metrics.csv`, "epoch")).at(-1)!;
        const layer = async (file: string, h: number) =>
          await lastOf(
            `${rd}/${file}`,
            "best_corr",
            (c) => Number(c[0]) === epoch && c[1] === "eval" && Number(c[2]) === h,
          );
        const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        return {
          loss: Math.log10(loss),
          teacher: [avg(await layer("alignment.csv", 0)), avg(await layer("alignment.csv", 1))],
          student: [avg(await layer("students.csv", 0)), avg(await layer("students.csv", 1))],
        };
      }));
      const m = (xs: number[]) => (xs[0] + xs[1]) / 2;
      const close = (a: string, b: number, what: string) =>
        assertOk(
          Math.abs(Number(a) - b) <= 1e-9 * Math.max(1, Math.abs(b)),
          `${what}: ${a} vs ${b}`,
        );
      close(row.log10_eval_loss_mean, m(perRun.map((r) => r.loss)), "eval loss");
      for (const h of [0, 1]) {
        close(
          row[`layer${h}_teacher_mean_best_corr_mean`],
          m(perRun.map((r) => r.teacher[h])),
          "t",
        );
        close(
          row[`layer${h}_student_mean_best_corr_mean`],
          m(perRun.map((r) => r.student[h])),
          "s",
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report of bad input: one line, exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "specialize-report-" });
  try {
    await Deno.mkdir(`${dir}/empty`);
    await Deno.mkdir(`${dir}/junk`);
    await Deno.writeTextFile(`${dir}/junk/notes.txt`, "hello");
    await Deno.writeTextFile(`${dir}/file.txt`, "hello");
    await Deno.mkdir(`${dir}/badsweep`);
    await Deno.writeTextFile(`${dir}/badsweep/sweep.json`, "{}");
    const before = async () => {
      const names: string[] = [];
      for (const d of ["", "/empty", "/junk", "/badsweep"]) {
        for await (const e of Deno.readDir(`${dir}${d}`)) names.push(`${d}/${e.name}`);
      }
      return names.sort();
    };
    const listing = await before();
    for (
      const [args, pattern] of [
        [[`${dir}/missing`], /does not exist/],
        [[`${dir}/empty`], /neither a run folder .* nor a sweep folder/],
        [[`${dir}/junk`], /neither a run folder/],
        [[`${dir}/file.txt`], /it is a file/],
        [[`${dir}/badsweep`], /sweep\.json that is not a sweep's/],
        [[], /Missing DIR/],
        [[`${dir}/empty`, `${dir}/junk`], /Unexpected argument/],
        [["--bogus"], /--bogus/],
      ] as const
    ) {
      const r = await runCli(["report", ...args]);
      assertOneLineError(r, pattern);
      assertEquals(r.stdout, "");
    }
    assertEquals(await before(), listing);
    await assertRejects(() => writeReport(`${dir}/empty`), ConfigError);
    assertOk(!(await exists(`${dir}/empty/report`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report: a correlation .npy that does not match the run's config skips Fig. 4 with the file named, the rest is drawn (table)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = `${dir}/run`;
    const r = await runCli([
      "train",
      ...["--d", "7", "--widths", "3", "--outputs", "2", "--multi", "3"],
      ...["--n-train", "300", "--n-eval", "200", "--epochs", "3", "--iters", "20"],
      ...["--save-corr-at", "1,2", "--quiet", "--out", run],
    ]);
    assertEquals(r.code, 0, r.stderr);
    const name = "corr_eval_layer0_epoch1.npy";
    const good = await Deno.readFile(`${run}/${name}`);
    const values = new Float64Array(9 * 3).fill(0.5);
    // the same bytes with 'fortran_order': True (the flag only: "False" → "True ")
    const fortran = good.slice();
    const at = new TextDecoder("latin1").decode(good).indexOf("'fortran_order': False");
    fortran.set(new TextEncoder().encode("'fortran_order': True "), at);
    const variants: [string, Uint8Array, RegExp][] = [
      ["fortran", fortran, /Fortran-order/],
      [
        "transposed",
        encodeNpy({ data: values, shape: [9, 3] }),
        /shape \(9, 3\), expected \(3, 9\)/,
      ],
      ["1-D", encodeNpy({ data: values, shape: [27] }), /shape \(27\), expected \(3, 9\)/],
      ["truncated", good.subarray(0, good.length - 8), /[Tt]runcated/],
      ["float32", encodeNpy({ data: new Float32Array(27), shape: [3, 9] }), /float64/],
      ["not npy", new TextEncoder().encode("hello"), /magic|[Tt]runcated/],
    ];
    for (const [what, bytes, reason] of variants) {
      const copy = `${dir}/${what}`;
      await Deno.mkdir(copy);
      for await (const e of Deno.readDir(run)) {
        await Deno.copyFile(`${run}/${e.name}`, `${copy}/${e.name}`);
      }
      await Deno.writeFile(`${copy}/${name}`, bytes);
      const rep = await runCli(["report", copy]);
      assertEquals(rep.code, 0, `${what}: ${rep.stderr}`);
      const line = rep.stdout.split("\n").find((l) => l.includes("not drawn: Fig. 4"));
      assertOk(line && line.includes(`${copy}/${name}`) && reason.test(line), `${what}: ${line}`);
      const html = await Deno.readTextFile(`${copy}/report/index.html`);
      assertOk(html.includes(name) && /not drawn/.test(html), `${what}: index.html has no note`);
      assertOk(await exists(`${copy}/report/fig1_lshape.svg`), `${what}: Fig. 1 still drawn`);
      assertOk(!await exists(`${copy}/report/fig4_trajectories.svg`), `${what}: no Fig. 4`);
    }
    // and the untouched run draws Fig. 4
    const ok = await runCli(["report", run]);
    assertEquals(ok.code, 0, ok.stderr);
    assertOk(await exists(`${run}/report/fig4_trajectories.svg`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
