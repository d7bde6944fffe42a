import { runOptionHelpRows } from "../src/cli_args.ts";
import { ConfigError, lrAt, OPTIONS, parseSchedule, resolveConfig } from "../src/config.ts";
import { assertEquals, assertOk, assertThrows } from "./assert.ts";

Deno.test("defaults are the paper's two-layer setting", () => {
  const c = resolveConfig();
  assertEquals(
    [c.d, c.widths, c.multi, c.outputs, c.dataStd, c.nTrain, c.nEval, c.batch, c.iters, c.epochs],
    [100, [20], 10, 50, 1.5, 10000, 10000, 16, 1000, 100],
  );
  assertEquals([c.precision, c.init, c.initStd, c.biasTuning, c.lr], [
    "f64",
    "gaussian",
    0.005,
    false,
    [[0, 0.01]],
  ]);
});

Deno.test("auto values follow the depth; later layers override earlier ones", () => {
  const c = resolveConfig({ settings: { widths: "10,15,20,25", d: 20 } }, {
    settings: { precision: "f64" },
  });
  assertEquals([c.widths, c.precision, c.init, c.biasTuning], [
    [10, 15, 20, 25],
    "f64",
    "uniform",
    true,
  ]);
});

Deno.test("schedules parse from numbers, strings and pairs", () => {
  assertEquals(parseSchedule("0.1"), [[0, 0.1]]);
  assertEquals(parseSchedule("0:0.2,20:0.1"), [[0, 0.2], [20, 0.1]]);
  assertEquals(parseSchedule([[0, 0.2], [5, 0.05]]), [[0, 0.2], [5, 0.05]]);
  for (
    const bad of ["", "abc", "1:0.1", "0:0.1,0:0.2", "0:-1", "0:0", "0:nan", "0:0.1,5", [[0]], {}]
  ) {
    assertEquals(parseSchedule(bad), null);
  }
  assertEquals([0, 19, 20, 50].map((e) => lrAt([[0, 0.2], [20, 0.1]], e)), [0.2, 0.2, 0.1, 0.1]);
});

Deno.test("invalid settings throw one ConfigError naming the option and what is accepted", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ d: "0" }, /--d "0": expected an integer ≥ 1/],
    [{ d: "abc" }, /--d "abc"/],
    [{ d: "1e400" }, /--d/],
    [{ multi: 2.5 }, /--multi 2.5/],
    [{ lr: "0" }, /--lr "0": expected a positive number or epoch:lr pairs/],
    [{ lr: "0:0.1,200:0.05" }, /schedule epoch 200 is outside the run/],
    [{ precision: "f16" }, /--precision "f16": expected one of f32, f64/],
    [{ widths: "5,,3" }, /--widths/],
    [{ widths: "" }, /--widths/],
    [{ bogus: 1 }, /Unknown setting "bogus"/],
    [{ dataStd: "nan" }, /--data-std/],
    [{ seed: -1 }, /--seed/],
    [{ slope: 1 }, /--slope/],
    [{ d: 1, widths: [9] }, /at most 8 distinct grid rows/],
    [{ sampling: "shuffle", nTrain: 10, batch: 11 }, /--batch 11/],
    [{ sampling: "shuffle", nTrain: 0 }, /--sampling shuffle/],
    [{ saveCorrAt: "500" }, /--save-corr-at 500/],
    [{ nTrain: 100000000, d: 1000 }, /GiB of WASM memory/],
  ];
  for (const [settings, pattern] of cases) {
    assertThrows(() => resolveConfig({ settings }), ConfigError, pattern);
  }
  assertThrows(
    () => resolveConfig({ settings: { d: 0 }, source: "x.json" }),
    ConfigError,
    /^x\.json: /,
  );
});

Deno.test("every integer option is a safe integer within a documented range", () => {
  const ints = OPTIONS.filter((o) => o.kind === "int" || o.kind === "intList");
  assertOk(ints.length >= 10, "the table covers the integer options");
  for (const o of ints) {
    assertOk(
      o.max !== undefined && Number.isSafeInteger(o.max) && o.min !== undefined,
      `--${o.flag} has no range`,
    );
    const help = runOptionHelpRows().find(([f]) => f.startsWith(`--${o.flag} `));
    assertOk(
      help && help[1].includes(`${o.min} to ${o.max}`),
      `--${o.flag}: help does not show the range`,
    );
    for (const bad of [o.max! + 1, 1e15, 1e99, 2 ** 53 + 2, o.min! - 1, 1.5, Infinity]) {
      for (const value of [String(bad), bad]) {
        assertThrows(
          () => resolveConfig({ settings: { [o.key]: value } }),
          ConfigError,
          new RegExp(`Invalid --${o.flag} `),
        );
      }
    }
  }
});
