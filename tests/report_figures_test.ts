/** Figure layouts of `src/report_figures.ts`: how panels share their scales. */
import * as vega from "vega";
import * as vl from "vega-lite";
import { CATEGORY_COLORS, linesSpec, pairedLinesSpec, scatterSpec } from "../src/report_figures.ts";
import { assertEquals, assertOk } from "./assert.ts";

/** The y domains of a compiled spec's panels, by scale name. */
async function yDomains(spec: Record<string, unknown>): Promise<Map<string, number[]>> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  await view.runAsync();
  const out = new Map<string, number[]>();
  const walk = (s: { scales?: { name: string }[]; marks?: unknown[] }) => {
    for (const sc of s.scales ?? []) {
      if (/(^|_)y$/.test(sc.name)) out.set(sc.name, view.scale(sc.name).domain() as number[]);
    }
    for (const m of (s.marks ?? []) as Record<string, unknown>[]) walk(m);
  };
  walk(compiled as never);
  view.finalize();
  return out;
}

Deno.test("scatterSpec yPerRow: one y scale per row, shared by the row's panels", async () => {
  // row "layer 0" has y up to 1 (epoch 0) and 2 (epoch 5), row "layer 1" up to 300
  const data = [
    { row: "layer 0", col: "epoch 0", x: 0.5, y: 1, color: "1" },
    { row: "layer 0", col: "epoch 5", x: 0.5, y: 2, color: "1" },
    { row: "layer 1", col: "epoch 0", x: 0.5, y: 300, color: "1" },
    { row: "layer 1", col: "epoch 5", x: 0.5, y: 50, color: "1" },
  ];
  const o = {
    title: "t",
    panels: { rows: ["layer 0", "layer 1"], cols: ["epoch 0", "epoch 5"] },
    xTitle: "x",
    yTitle: "y",
    colorTitle: "seed",
    colorOrder: ["1"],
  };
  const perRow = [...(await yDomains(scatterSpec(data, { ...o, yPerRow: true }))).values()];
  assertEquals(perRow.length, 2, "one y scale per row");
  const [top, bottom] = perRow.map((d) => Math.max(...d));
  assertOk(top >= 2 && top < 10, `row 0 covers both of its panels (2) only: ${top}`);
  assertOk(bottom >= 300, `row 1 covers its largest value: ${bottom}`);
  const shared = [...(await yDomains(scatterSpec(data, o))).values()];
  assertEquals(shared.length, 1, "without yPerRow one y scale for all panels");
  assertOk(Math.max(...shared[0]) >= 300);
});

Deno.test("seeds and student widths take the colour-blind-safe palette, up to eight of them", () => {
  const colorScale = (spec: Record<string, unknown>) =>
    ((spec.spec ?? spec) as { encoding: { color: { scale: Record<string, unknown> } } })
      .encoding.color.scale;
  const panels = { rows: [], cols: [] };
  const base = { title: "t", panels, xTitle: "x", yTitle: "y", colorTitle: "seed" };
  for (const n of [1, 3, 8]) {
    const order = Array.from({ length: n }, (_, i) => String(i + 1));
    const scale = colorScale(scatterSpec([], { ...base, colorOrder: order }));
    assertEquals(scale.range, CATEGORY_COLORS.slice(0, n));
  }
  const many = Array.from({ length: 9 }, (_, i) => String(i));
  assertEquals(colorScale(scatterSpec([], { ...base, colorOrder: many })).scheme, "tableau10");
  // distinct and not too light to see on white (relative luminance below 0.7)
  assertEquals(new Set(CATEGORY_COLORS).size, CATEGORY_COLORS.length);
  for (const c of CATEGORY_COLORS) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16) / 255);
    assertOk(0.2126 * r + 0.7152 * g + 0.0722 * b < 0.7, `${c} is too light`);
  }
});

Deno.test("scatterSpec: points at y = 0 stay whole, and no tick falls below 0 (fan-out norms)", async () => {
  for (const top of [0.63, 1, 7.3, 240]) {
    const data = [0, top / 3, top].map((y) => ({ row: "r", col: "c", x: 0.5, y, color: "1" }));
    const spec = scatterSpec(data, {
      title: "t",
      panels: { rows: ["r"], cols: ["c"] },
      xTitle: "x",
      yTitle: "y",
      colorTitle: "seed",
      colorOrder: ["1"],
      xDomain: [0, 1],
    });
    const [lo, hi] = [...(await yDomains(spec)).values()][0];
    assertOk(lo < 0 && hi > top, `padded around the points: [${lo}, ${hi}] for top ${top}`);
    // the first tick of a d3 linear scale over [lo, hi] is the first "nice" value ≥ lo
    assertOk(lo > -top / 20, `no tick below 0: domain starts at ${lo} for top ${top}`);
  }
});

Deno.test("linesSpec points and dodge: series drawn on top of each other stay apart", async () => {
  // three series with the same values (success rates of 1 at every teacher node): without help
  // only the last one drawn would show
  const data = ["a", "b", "c"].flatMap((series) =>
    [0, 1].map((x) => ({ row: "", col: "", series, x, y: 1 }))
  );
  const o = {
    title: "t",
    panels: { rows: [""], cols: [""] },
    xTitle: "x",
    yTitle: "y",
    seriesTitle: "s",
    seriesOrder: ["a", "b", "c"],
    yDomain: [0, 1.02] as [number, number],
    points: true,
  };
  /** Rendered point symbols: their positions and their shapes (SVG paths). */
  const symbols = async (spec: Record<string, unknown>) => {
    const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: "none" });
    const svg = await view.toSVG();
    view.finalize();
    const marks = [...svg.matchAll(/<g class="mark-symbol role-mark[^>]*>(.*?)<\/g>/g)]
      .map((m) => m[1]).join("");
    const points = [...marks.matchAll(/transform="translate\(([^)]*)\)" d="([^"]*)"/g)];
    return { at: new Set(points.map((p) => p[1])), shapes: new Set(points.map((p) => p[2])) };
  };
  const plain = await symbols(linesSpec(data, o));
  assertEquals(plain.shapes.size, 3, "one shape per series");
  assertEquals(plain.at.size, 2, "without dodge the series share their positions");
  const dodged = await symbols(linesSpec(data, { ...o, dodge: 0.25 }));
  assertEquals(dodged.at.size, 6, "with dodge every series has its own positions");
});

/** Vega-Lite's warnings while compiling `spec` (a conflict it resolved silently is a wrong figure). */
function compileWarnings(spec: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...a: unknown[]) => (warnings.push(a.join(" ")), logger),
    warn: (...a: unknown[]) => (warnings.push(a.join(" ")), logger),
    info: () => logger,
    debug: () => logger,
  };
  vl.compile(spec as unknown as vl.TopLevelSpec, { logger } as never);
  return warnings;
}

Deno.test("line figures with points, dodge, exits and dashed exact lines compile without conflicts", async () => {
  const lines = {
    title: "t",
    panels: { rows: [""], cols: [""] },
    xTitle: "x",
    yTitle: "y",
    seriesTitle: "s",
    seriesOrder: ["a", "b"],
    points: true,
    band: true,
    exits: true,
    dashExact: true,
    dodge: 0.25,
  };
  const rows = ["a", "b"].flatMap((series) =>
    [1, 2].map((x) => ({ row: "", col: "", series, kind: "sampled", x, y: x, lo: 0, hi: 3 }))
  );
  assertEquals(compileWarnings(linesSpec(rows, lines)), [], "linesSpec");
  // two charts per row with different series (Fig. 7): each keeps its own colours, shapes and
  // legend; shared shape scales would merge into one wrong legend
  const paired = pairedLinesSpec(
    [
      ...["train", "eval"].map((series) => ({
        row: "",
        side: "left" as const,
        series,
        x: 1,
        y: 1,
      })),
      ...["layer 0", "layer 1", "layer 2"].map((series) => ({
        row: "",
        side: "right" as const,
        series,
        x: 1,
        y: 0.5,
      })),
    ],
    {
      title: "t",
      rows: [""],
      left: { ...lines, dashExact: false, seriesOrder: ["train", "eval"], seriesTitle: "set" },
      right: {
        ...lines,
        dashExact: false,
        seriesOrder: ["layer 0", "layer 1", "layer 2"],
        seriesTitle: "layer",
      },
    },
  );
  assertEquals(compileWarnings(paired), [], "pairedLinesSpec");
  const view = new vega.View(vega.parse(vl.compile(paired as never).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const titles = [
    ...svg.matchAll(/class="mark-text role-legend-title"[^>]*>.*?<text[^>]*>([^<]*)</g),
  ]
    .map((m) => m[1]).sort();
  assertEquals(titles, ["layer", "set"], "one legend per chart");
});
