/**
 * The readable summary printed at the end of a run.
 * @module
 */

import type { RunConfig } from "./config.ts";
import { log10 } from "./detmath.ts";
import type { RunResult } from "./run.ts";
import { layerSizes } from "./teacher.ts";

const sci = (x: number): string => x.toExponential(2);

/**
 * A few lines describing what was run, how fast, and how far the losses fell, and the folder
 * written (`out`; null: nothing was written, e.g. resuming a finished run).
 */
export function formatSummary(config: RunConfig, r: RunResult, out: string | null): string {
  const { teacher, student } = layerSizes(config);
  const data = config.nTrain > 0 ? `${config.nTrain} training samples` : "fresh samples every step";
  const decades = log10(r.initial.evalMse / r.final.evalMse);
  const how = config.loss === "mse" && config.optimizer === "sgd"
    ? ""
    : `  ${config.loss}  ${config.optimizer}`;
  const lines = [
    `specialize train  seed ${config.seed}  ${config.precision}  p ${config.p}  multi ${config.multi}` +
    how,
    `  teacher ${teacher.join("-")}, student ${
      student.join("-")
    }, ${data}, ${config.nEval} eval samples`,
    `  ${config.epochs} epoch${config.epochs === 1 ? "" : "s"} × ${config.iters} ${
      config.flow
        ? "steps' time of the exact population gradient flow"
        : config.population
        ? "gradient steps on the exact population loss"
        : `steps of batch ${config.batch}`
    }: ` +
    `${r.timing.trainSeconds.toFixed(1)} s training (${Math.round(r.timing.stepsPerSecond)} ` +
    `steps/s), ${r.timing.evalSeconds.toFixed(1)} s evaluating`,
    ...(r.divergence
      ? [
        `  DIVERGED after epoch ${r.divergence.epoch}: ${r.divergence.quantity} = ` +
        `${r.divergence.value} (try a smaller --lr)`,
      ]
      : []),
    `  eval MSE ${sci(r.initial.evalMse)} → ${sci(r.final.evalMse)} (${decades.toFixed(1)} decades${
      r.divergence ? `; the last finite evaluation, epoch ${r.final.epoch}` : ""
    }), ` +
    `train MSE ${sci(r.final.trainMse)}` +
    (r.final.populationMse != null
      ? `, population MSE (exact) ${sci(r.initial.populationMse ?? NaN)} → ${
        sci(r.final.populationMse)
      }`
      : ""),
    ...(r.final.evalCe === undefined ? [] : [
      `  cross-entropy eval ${sci(r.initial.evalCe!)} → ${sci(r.final.evalCe)}, train ` +
      `${sci(r.final.trainCe!)}; accuracy vs the teacher's class eval ` +
      `${r.final.evalAcc!.toFixed(3)}, train ${r.final.trainAcc!.toFixed(3)}`,
    ]),
    ...(r.polish
      ? [
        `  polish (L-BFGS, ${r.polish.steps} steps, ${r.polish.stop}): max per-sample gradient ` +
        `${sci(r.polish.gradSampleMaxBefore)} → ${sci(r.polish.gradSampleMaxAfter)} (tol ` +
        `${sci(r.polish.tol)}), train MSE ${sci(r.polish.trainMseBefore)} → ` +
        `${sci(r.polish.trainMseAfter)}; every lowest-layer teacher node specialized: ` +
        `${r.polish.specialized ? "yes" : "no"}` +
        (r.polish.specializedPopulation === null
          ? ""
          : ` (exact: ${r.polish.specializedPopulation ? "yes" : "no"})`),
      ]
      : []),
    `  final full-batch gradient norm per layer: ${r.final.gradNorm.map(sci).join(", ")}; ` +
    `per-sample gradient norm max ${sci(r.gradSample.max)}, median ${sci(r.gradSample.q50)}`,
    ...r.layers.map((la) =>
      `  layer ${la.layer}: eval covered at 0.95 ${la.covered["0.95"] ?? "?"}/${la.teachers}, ` +
      `mean best corr ${la.meanBestCorr.toFixed(3)}; train dead ${la.deadStudents.length}/` +
      `${la.students}, max per-sample grad into it ${sci(la.maxSampleGradNorm)}`
    ),
    ...(out === null ? [] : [
      `  wrote ${out}/ (config.json, metrics.csv, alignment.csv, students.csv, overlaps.csv, ` +
      `timeline.csv, result.json; weights, data, correlations as .npy)`,
    ]),
  ];
  return lines.join("\n");
}
