/**
 * The mutants of `deno task mutate`: small changes to the source, each of which some test must
 * catch. A mutant replaces `search` (which must occur exactly once in `file`, or the mutant is
 * reported stale: the source moved on and the mutant needs updating) with `replace`, and names the
 * test files (optionally a `--filter`) that should fail.
 *
 * Add one for every new option (the option ignored or replaced by its default) and every new report
 * figure or table column (its value replaced).
 * @module
 */

/** One source mutation and the tests that must catch it. */
export interface Mutant {
  /** Short unique name. */
  id: string;
  /** File relative to the repository root. */
  file: string;
  /** Exact text to replace; must occur exactly once in the file. */
  search: string;
  /** What replaces it. */
  replace: string;
  /** Test files (relative to the root) that must fail with the mutant. */
  tests: string[];
  /** Only the tests whose name matches (deno test --filter). */
  filter?: string;
}

const EFFECTS = ["tests/option_effects_test.ts"];
const REPORT = ["tests/report_values_test.ts"];

/** Every mutant, in the order they run. */
export const MUTANTS: readonly Mutant[] = [
  // --- named by issue 13 -----------------------------------------------------------------------
  {
    id: "weight-decay-ignored",
    file: "src/train.ts",
    search: "        cfg.weightDecay,\n",
    replace: "        0,\n",
    tests: EFFECTS,
  },
  {
    id: "teacher-bias-constant",
    file: "src/teacher.ts",
    search: "w[fanIn * fanOut + j] = cfg.teacherBias;",
    replace: "w[fanIn * fanOut + j] = -0.1;",
    tests: EFFECTS,
  },
  {
    id: "slope-forced-to-0",
    file: "src/network.ts",
    search: "this.slope = slope;",
    replace: "this.slope = 0;",
    tests: EFFECTS,
  },
  {
    id: "init-always-gaussian",
    file: "src/teacher.ts",
    search: 'if (kind === "gaussian") {',
    replace: "if (true) {",
    tests: EFFECTS,
  },
  {
    id: "data-std-ignored",
    file: "src/data.ts",
    search: "rng.fillNormal(k.view(x), std);",
    replace: "rng.fillNormal(k.view(x), 1.5);",
    tests: EFFECTS,
  },
  {
    id: "shuffle-order-dropped",
    file: "src/train.ts",
    search: "if (this.#order.length === 0) {",
    replace: "if (true) {",
    tests: EFFECTS,
  },
  {
    id: "success-rate-0",
    file: "src/report.ts",
    search: "rate: corrs.filter((c) => c > SUCCESS_TAU).length / corrs.length,",
    replace: "rate: 0,",
    tests: REPORT,
  },
  {
    id: "summary-log10-mean-0",
    file: "src/report.ts",
    search: "      mean(logs),\n      std(logs),",
    replace: "      0,\n      std(logs),",
    tests: REPORT,
  },
  {
    id: "summary-log10-std-0",
    file: "src/report.ts",
    search: "      std(logs),\n      median(evals),",
    replace: "      0,\n      median(evals),",
    tests: REPORT,
  },
  {
    id: "summary-median-0",
    file: "src/report.ts",
    search: "      median(evals),\n",
    replace: "      0,\n",
    tests: REPORT,
  },
  {
    id: "peak-probe-returns-0",
    file: "src/kernels.ts",
    search: "return this.#peak(iters, 0.999, 0.001);",
    replace: "return 0;",
    tests: ["tests/peak_test.ts"],
  },
  {
    id: "peak-probe-skips-work",
    file: "src/kernels.ts",
    search: "return this.#peak(iters, 0.999, 0.001);",
    replace: "return this.#peak(Math.min(iters, 1000), 0.999, 0.001);",
    tests: ["tests/peak_test.ts"],
  },
  {
    id: "batch-ignored",
    file: "src/train.ts",
    search: "const invBatch = 1 / cfg.batch;",
    replace: "const invBatch = 1 / 16;",
    tests: EFFECTS,
  },
  {
    id: "init-std-ignored",
    file: "src/teacher.ts",
    search: "w[i] = rng.normal() * cfg.initStd;",
    replace: "w[i] = rng.normal() * 0.005;",
    tests: EFFECTS,
  },
  {
    id: "aware-shift-ignored",
    file: "src/train.ts",
    search: "shift: config.awareShift,",
    replace: "shift: 0.5,",
    tests: EFFECTS,
  },
  {
    id: "aware-spread-ignored",
    file: "src/train.ts",
    search: "spread: config.awareSpread,",
    replace: "spread: 0.5,",
    tests: EFFECTS,
  },
  // --- one per option ----------------------------------------------------------------------------
  {
    id: "d-ignored",
    file: "src/teacher.ts",
    search: "teacher: [cfg.d, ...cfg.widths, cfg.outputs],",
    replace: "teacher: [100, ...cfg.widths, cfg.outputs],",
    tests: EFFECTS,
  },
  {
    id: "widths-ignored",
    file: "src/teacher.ts",
    search: "teacher: [cfg.d, ...cfg.widths, cfg.outputs],",
    replace: "teacher: [cfg.d, 20, cfg.outputs],",
    tests: EFFECTS,
  },
  {
    id: "multi-ignored",
    file: "src/teacher.ts",
    search: "...cfg.widths.map((w) => w * cfg.multi),",
    replace: "...cfg.widths.map((w) => w * 10),",
    tests: EFFECTS,
  },
  {
    id: "outputs-ignored",
    file: "src/teacher.ts",
    search: "teacher: [cfg.d, ...cfg.widths, cfg.outputs],",
    replace: "teacher: [cfg.d, ...cfg.widths, 50],",
    tests: EFFECTS,
  },
  {
    id: "p-ignored",
    file: "src/teacher.ts",
    search: "const f = pow(i + 1, -cfg.p);",
    replace: "const f = pow(i + 1, -1);",
    tests: EFFECTS,
  },
  {
    id: "data-ignored",
    file: "src/train.ts",
    search: ': config.data === "teacher-aware"',
    replace: ": false",
    tests: EFFECTS,
  },
  {
    id: "n-train-ignored",
    file: "src/train.ts",
    search: ": makeDataSet(this.teacher, config.nTrain, config.dataStd, trainRng);",
    replace: ": makeDataSet(this.teacher, 10000, config.dataStd, trainRng);",
    tests: EFFECTS,
  },
  {
    id: "n-train-0-ignored",
    file: "src/train.ts",
    search: "this.train = config.nTrain === 0",
    replace: "this.train = false",
    tests: EFFECTS,
  },
  {
    id: "n-eval-ignored",
    file: "src/train.ts",
    search: "      config.nEval,",
    replace: "      10000,",
    tests: EFFECTS,
  },
  {
    id: "n-train-eval-ignored",
    file: "src/train.ts",
    search: "subsample(k, this.train, config.nTrainEval, new Rng(seed, STREAM.trainEval))",
    replace: "subsample(k, this.train, 10000, new Rng(seed, STREAM.trainEval))",
    tests: EFFECTS,
  },
  {
    id: "n-grad-eval-ignored",
    file: "src/analysis.ts",
    search:
      "const gradientSamples = trainer.config.nGradEval > 0 ? trainer.config.nGradEval : undefined;",
    replace: "const gradientSamples = undefined;",
    tests: EFFECTS,
  },
  {
    id: "lr-ignored",
    file: "src/train.ts",
    search: "this.steps(this.config.iters, this.lr);",
    replace: "this.steps(this.config.iters, 0.01);",
    tests: EFFECTS,
  },
  {
    id: "lr-schedule-first-only",
    file: "src/config.ts",
    search: "for (const [e, v] of schedule) if (e <= epoch) lr = v;",
    replace: "",
    tests: EFFECTS,
  },
  {
    id: "epochs-ignored",
    file: "src/run.ts",
    search: "while (!divergence && trainer.epoch < config.epochs) {",
    replace: "while (!divergence && trainer.epoch < 2) {",
    tests: EFFECTS,
  },
  {
    id: "iters-ignored",
    file: "src/train.ts",
    search: "this.steps(this.config.iters, this.lr);",
    replace: "this.steps(1000, this.lr);",
    tests: EFFECTS,
  },
  {
    id: "seed-ignored",
    file: "src/train.ts",
    search: "const seed = config.seed;",
    replace: "const seed = 1;",
    tests: EFFECTS,
  },
  {
    id: "precision-ignored",
    file: "src/train.ts",
    search: "new Kernels(config.precision, {",
    replace: 'new Kernels("f64", {',
    tests: EFFECTS,
  },
  {
    id: "sampling-ignored",
    file: "src/train.ts",
    search: 'config.sampling === "shuffle" ? config.nTrain : 0',
    replace: "0",
    tests: EFFECTS,
  },
  {
    id: "bias-tuning-ignored",
    file: "src/teacher.ts",
    search: "const layers = cfg.biasTuning ? L - 1 : 0;",
    replace: "const layers = 0;",
    tests: EFFECTS,
  },
  {
    id: "standardize-ignored",
    file: "src/teacher.ts",
    search: "  if (cfg.standardize) {",
    replace: "  if (false) {",
    tests: EFFECTS,
  },
  {
    id: "loss-ignored-in-steps",
    file: "src/train.ts",
    search: 'const ce = cfg.loss === "cross-entropy";',
    replace: "const ce = false;",
    tests: EFFECTS,
  },
  {
    id: "loss-ignored-in-gradient",
    file: "src/train.ts",
    search: 'const ce = this.config.loss === "cross-entropy";',
    replace: "const ce = false;",
    tests: EFFECTS,
  },
  {
    id: "optimizer-ignored",
    file: "src/train.ts",
    search: 'const adam = config.optimizer === "adam";',
    replace: "const adam = false;",
    tests: EFFECTS,
  },
  {
    id: "adam-beta1-ignored",
    file: "src/train.ts",
    search: "beta1: config.adamBeta1,",
    replace: "beta1: 0.9,",
    tests: EFFECTS,
  },
  {
    id: "adam-beta2-ignored",
    file: "src/train.ts",
    search: "beta2: config.adamBeta2,",
    replace: "beta2: 0.999,",
    tests: EFFECTS,
  },
  {
    id: "adam-eps-ignored",
    file: "src/train.ts",
    search: "eps: config.adamEps,",
    replace: "eps: 1e-8,",
    tests: EFFECTS,
  },
  {
    id: "adam-weight-decay-ignored",
    file: "src/train.ts",
    search: "weightDecay: config.weightDecay,",
    replace: "weightDecay: 0,",
    tests: EFFECTS,
  },
  {
    id: "momentum-ignored",
    file: "src/train.ts",
    search: "        cfg.momentum,\n",
    replace: "        0,\n",
    tests: EFFECTS,
  },
  {
    id: "fma-ignored",
    file: "src/train.ts",
    search: "      fma: config.fma,\n",
    replace: "      fma: false,\n",
    tests: EFFECTS,
  },
  {
    id: "teacher-slope-ignored",
    file: "src/teacher.ts",
    search: "new Network(k, sizes, cfg.teacherSlope)",
    replace: "new Network(k, sizes, 0)",
    tests: EFFECTS,
  },
  {
    id: "perturb-std-ignored",
    file: "src/teacher.ts",
    search: "t + rng.normal() * cfg.perturbStd",
    replace: "t + rng.normal() * 0.05",
    tests: EFFECTS,
  },
  {
    id: "label-noise-ignored",
    file: "src/train.ts",
    search: "fillNormal(noise, config.labelNoise)",
    replace: "fillNormal(noise, 0)",
    tests: EFFECTS,
  },
  {
    id: "freeze-top-ignored",
    file: "src/train.ts",
    search: "cfg.freezeTop ? student.depth - 1 : student.depth",
    replace: "student.depth",
    tests: EFFECTS,
  },
  {
    id: "population-ignored",
    file: "src/train.ts",
    search: "if (this.config.population) return",
    replace: "if (false) return",
    tests: EFFECTS,
  },
  {
    id: "flow-ignored",
    file: "src/train.ts",
    search: "if (this.config.flow) this.flowEvaluations",
    replace: "if (false) this.flowEvaluations",
    tests: EFFECTS,
  },
  {
    id: "polish-ignored",
    file: "src/run.ts",
    search: "if (config.polish && e === config.epochs)",
    replace: "if (false)",
    tests: EFFECTS,
  },
  {
    id: "polish-tol-ignored",
    file: "src/run.ts",
    search: "polishTrainer(trainer, config.polishTol, config.polishSteps)",
    replace: "polishTrainer(trainer, 1e-6, config.polishSteps)",
    tests: EFFECTS,
  },
  {
    id: "polish-steps-ignored",
    file: "src/run.ts",
    search: "polishTrainer(trainer, config.polishTol, config.polishSteps)",
    replace: "polishTrainer(trainer, config.polishTol, 500)",
    tests: EFFECTS,
  },
  {
    id: "eval-at-ignored",
    file: "src/run.ts",
    search: "const evalSteps = new Set(config.evalAt);",
    replace: "const evalSteps = new Set<number>();",
    tests: EFFECTS,
  },
  {
    id: "eval-every-ignored",
    file: "src/run.ts",
    search: "e % config.evalEvery === 0",
    replace: "e % 1 === 0",
    tests: EFFECTS,
  },
  {
    id: "save-corr-at-ignored",
    file: "src/run.ts",
    search: "const saveCorrAt = new Set(config.saveCorrAt);",
    replace: "const saveCorrAt = new Set<number>();",
    tests: EFFECTS,
  },
  // --- one per report figure and table ----------------------------------------------------------
  {
    id: "fig1-lshape-y",
    file: "src/report.ts",
    search: "y: s.fanout[k],",
    replace: "y: s.bestCorr[k],",
    tests: REPORT,
  },
  {
    id: "fig2-success-y",
    file: "src/report.ts",
    search: "y: s.rate,",
    replace: "y: s.corr,",
    tests: REPORT,
  },
  {
    id: "fig3-loss-band",
    file: "src/report.ts",
    search: "lo: m - s,",
    replace: "lo: m,",
    tests: REPORT,
  },
  {
    id: "fig4-trajectories-first-epoch",
    file: "src/report.ts",
    search: "y: mats[i].data[j * mats[i].students + k],",
    replace: "y: mats[0].data[j * mats[0].students + k],",
    tests: REPORT,
  },
  {
    id: "fig4b-best-corr-first-seed",
    file: "src/report.ts",
    search: "              y: mean(vs),",
    replace: "              y: vs[0],",
    tests: REPORT,
  },
  {
    id: "fig5-multilayer-y",
    file: "src/report.ts",
    search: "y: s.beta[i],",
    replace: "y: s.bestCorr[i],",
    tests: REPORT,
  },
  {
    id: "fig6-sample-complexity-band",
    file: "src/report.ts",
    search: "rows.push({ panel, series: s, x, y: m, lo: m - sd, hi: m + sd });",
    replace: "rows.push({ panel, series: s, x, y: m, lo: m, hi: m });",
    tests: REPORT,
  },
  {
    id: "success-table-best-corr-mean",
    file: "src/report.ts",
    search: "      corr: mean(corrs),",
    replace: "      corr: corrs[0],",
    tests: REPORT,
  },
  // --- errors, versions, claims -----------------------------------------------------------------
  {
    id: "sweep-resume-swallows-errors",
    file: "src/sweep_worker.ts",
    search: "    return (await resumeRun(out)).result;\n  } catch (e) {\n",
    replace:
      "    return (await resumeRun(out)).result;\n  } catch (e) {\n    if (e) return null;\n",
    tests: ["tests/sweep_test.ts"],
    filter: "corrupt checkpoint",
  },
  {
    id: "sweep-csv-swallows-unreadable-json",
    file: "src/sweep.ts",
    search: "  try {\n    return JSON.parse(text);\n  } catch (e) {\n",
    replace: "  try {\n    return JSON.parse(text);\n  } catch (e) {\n    if (e) return null;\n",
    tests: ["tests/sweep_test.ts"],
    filter: "corrupt checkpoint",
  },
  {
    id: "version-drift",
    file: "src/version.ts",
    search: 'export const VERSION = "',
    replace: 'export const VERSION = "9.',
    tests: ["tests/version_test.ts"],
  },
  {
    id: "bench-results-no-cpu-model",
    file: "bench/_results.ts",
    search: "return family && model ?",
    replace: "return false ?",
    tests: ["tests/bench_results_test.ts"],
  },
];
