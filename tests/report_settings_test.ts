/** The report's settings table leaves out the settings that have no effect on a configuration. */
import { resolveConfig } from "../src/config.ts";
import { inapplicable } from "../src/report.ts";
import { assertEquals } from "./assert.ts";

Deno.test("inapplicable: each setting is left out exactly when it has no effect", () => {
  // [settings, a key, whether it is left out]
  const cases: [Record<string, unknown>, string, boolean][] = [
    [{ optimizer: "sgd" }, "adamBeta1", true],
    [{ optimizer: "adam" }, "adamBeta1", false],
    [{ optimizer: "adam" }, "momentum", true],
    [{ optimizer: "sgd" }, "momentum", false],
    [{ data: "gaussian" }, "awareShift", true],
    [{ data: "teacher-aware" }, "awareShift", false],
    [{ init: "uniform" }, "initStd", true],
    [{ init: "gaussian" }, "initStd", false],
    [{ init: "gaussian" }, "perturbStd", true],
    [{ init: "perturb" }, "perturbStd", false],
    [{ biasTuning: true }, "teacherBias", true],
    [{ biasTuning: false }, "teacherBias", false],
    [{ population: false }, "flow", true],
    [{ population: true }, "flow", false],
    [{ polish: false }, "polishTol", true],
    [{ polish: false }, "polishSteps", true],
    [{ polish: true }, "polishTol", false],
    [{ polish: true }, "polishSteps", false],
    [{ nTrain: 0 }, "sampling", true],
    [{ nTrain: 100 }, "sampling", false],
    [{ nTrain: 100, nTrainEval: 1000 }, "nTrainEval", true],
    [{ nTrain: 100000, nTrainEval: 1000 }, "nTrainEval", false],
  ];
  for (const [settings, key, out] of cases) {
    const c = resolveConfig({ settings }) as unknown as Record<string, unknown>;
    assertEquals(inapplicable(c).has(key), out, `${key} with ${JSON.stringify(settings)}`);
  }
});
