/**
 * The report's figures as Vega-Lite specifications, rendered to SVG by Vega with no DOM, canvas or
 * permissions. The only module that imports the plotting library (pinned in deno.json "imports"),
 * so swapping it is one edit; the library (`mod.ts`) never imports this file.
 *
 * Every builder takes tidy rows (one object per mark) already computed by `report.ts`, and panel
 * labels as strings ("p = 1.5", "multi = 10") whose order is given explicitly.
 * @module
 */

import * as vega from "vega";
import * as vl from "vega-lite";

/** A Vega-Lite specification (checked by the compiler, not by TypeScript). */
export type Spec = Record<string, unknown>;

/** Renders a Vega-Lite specification to an SVG document. */
export async function renderSvg(spec: Spec): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Panels of a figure: row and column labels in display order (empty: no such facet). */
export interface Panels {
  /** Row labels, top to bottom. */
  rows: string[];
  /** Column labels, left to right. */
  cols: string[];
}

const CONFIG = {
  font: "Helvetica, Arial, sans-serif",
  axis: { titleFontSize: 12, labelFontSize: 10, titleFontWeight: "normal", grid: true },
  header: { labelFontSize: 12, labelFontWeight: "bold", labelPadding: 4 },
  legend: { titleFontSize: 11, labelFontSize: 10, labelLimit: 320 },
  title: { fontSize: 14, anchor: "start", subtitleFontSize: 11, subtitleColor: "#555" },
  view: { stroke: "#bbb" },
};

/**
 * Colours of up to eight categories (seeds, student widths): the Okabe–Ito palette, told apart
 * also with the common colour-vision deficiencies (grey in place of its yellow, faint on white).
 */
export const CATEGORY_COLORS: readonly string[] = [
  "#0072B2", // blue
  "#E69F00", // orange
  "#009E73", // bluish green
  "#D55E00", // vermillion
  "#CC79A7", // reddish purple
  "#56B4E9", // sky blue
  "#000000", // black
  "#999999", // grey
];

/** A categorical colour scale over `domain`: {@linkcode CATEGORY_COLORS}, or a scheme beyond 8. */
function categoryScale(domain: string[], scheme?: string): Spec {
  if (scheme) return { domain, scheme };
  if (domain.length <= CATEGORY_COLORS.length) {
    return { domain, range: CATEGORY_COLORS.slice(0, domain.length) };
  }
  return { domain, scheme: domain.length > 10 ? "category20" : "tableau10" };
}

/** Title block: a heading and a subtitle (string or lines). */
function titleOf(title: string, subtitle?: string | string[]): Spec {
  return subtitle ? { text: title, subtitle } : { text: title };
}

/** A panel's title: its row and column labels, "p = 1.5, multi = 10". */
const panelName = (r: unknown, c: unknown) => [r, c].filter((x) => x).join(", ");

/**
 * Wraps a (layered) per-panel spec in a wrapped facet, one panel per (row, column) label pair in
 * row-major order, titled "p = 1.5, multi = 10", when there is more than one panel; else returns
 * it alone. (A wrapped facet rather than row headers: its titles sit on top of every panel.)
 */
function faceted(
  data: Record<string, unknown>[],
  inner: Spec,
  panels: Panels,
  top: Spec,
  size: { width: number; height: number },
): Spec {
  const rows = panels.rows.length ? panels.rows : [""];
  const cols = panels.cols.length ? panels.cols : [""];
  const order = rows.flatMap((r) => cols.map((c) => panelName(r, c)));
  const base = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: CONFIG,
    ...top,
  };
  if (order.length === 1) {
    const big = { width: Math.max(size.width, 380), height: Math.max(size.height, 250) };
    return { ...base, data: { values: data }, ...big, ...inner };
  }
  return {
    ...base,
    data: { values: data.map((d) => ({ ...d, panel: panelName(d.row, d.col) })) },
    facet: { field: "panel", type: "nominal", sort: order, header: { title: null } },
    // one row or one column of panels is laid out in rows of at most three
    columns: rows.length === 1 || cols.length === 1 ? Math.min(order.length, 3) : cols.length,
    spec: { ...size, ...inner },
  };
}

/** Options of {@linkcode scatterSpec}. */
export interface ScatterOptions {
  /** Figure title. */
  title: string;
  /** Subtitle lines. */
  subtitle?: string | string[];
  /** Panel labels. */
  panels: Panels;
  /** x axis title. */
  xTitle: string;
  /** y axis title. */
  yTitle: string;
  /** Legend title of the `color` field. */
  colorTitle: string;
  /** Legend entries in order. */
  colorOrder: string[];
  /** Fixed x domain. */
  xDomain?: [number, number];
  /** y scale: linear (default) or log. */
  yLog?: boolean;
  /**
   * One y scale per row of panels, shared by its columns (rows are layers of different magnitude;
   * the panels of a row stay comparable).
   */
  yPerRow?: boolean;
}

/**
 * Scatter plot of rows `{ row, col, x, y, color }` faceted by row and column labels: the L-shape
 * (one point per student node).
 */
export function scatterSpec(data: Record<string, unknown>[], o: ScatterOptions): Spec {
  const inner = {
    mark: { type: "point", filled: true, size: 14, opacity: 0.55, clip: true },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: o.xTitle,
        // a few pixels of padding: points at the domain's ends (correlation 1) stay whole
        scale: o.xDomain ? { domain: o.xDomain, nice: false, padding: 4 } : { zero: false },
      },
      y: {
        field: "y",
        type: "quantitative",
        title: o.yTitle,
        // padding keeps points at 0 whole; not "nice", so no tick below 0 for a norm
        scale: o.yLog ? { type: "log" } : { zero: true, padding: 4, nice: false },
      },
      color: {
        field: "color",
        type: "nominal",
        title: o.colorTitle,
        scale: categoryScale(o.colorOrder),
      },
    },
  };
  const size = { width: 190, height: 150 };
  const title = { title: titleOf(o.title, o.subtitle) };
  const { rows, cols } = o.panels;
  if (!o.yPerRow || rows.length < 2) return faceted(data, inner, o.panels, title, size);
  // a row of panels per row label, one above the other, each with its own y scale
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: CONFIG,
    ...title,
    data: { values: data.map((d) => ({ ...d, panel: panelName(d.row, d.col) })) },
    vconcat: rows.map((r) => ({
      transform: [{ filter: { field: "row", equal: r } }],
      facet: {
        field: "panel",
        type: "nominal",
        sort: (cols.length ? cols : [""]).map((c) => panelName(r, c)),
        header: { title: null },
      },
      columns: Math.max(cols.length, 1),
      spec: { ...size, ...inner },
    })),
    resolve: { scale: { y: "independent" } },
  };
}

/** Options of {@linkcode linesSpec}. */
export interface LinesOptions {
  /** Figure title. */
  title: string;
  /** Subtitle lines. */
  subtitle?: string | string[];
  /** Panel labels. */
  panels: Panels;
  /** x axis title. */
  xTitle: string;
  /** y axis title. */
  yTitle: string;
  /** Legend title of the `series` field. */
  seriesTitle: string;
  /** Series in legend order. */
  seriesOrder: string[];
  /** Fixed y domain. */
  yDomain?: [number, number];
  /** x on a log scale. */
  xLog?: boolean;
  /** x values are integers (teacher indices): no fractional ticks. */
  xInteger?: boolean;
  /** Colour scheme (default: {@linkcode CATEGORY_COLORS}; tableau10 or category20 beyond eight). */
  scheme?: string;
  /** Tick values of the x axis. */
  xValues?: number[];
  /** d3 format of the x tick labels with `xValues` (default "d"). */
  xFormat?: string;
  /** Draw a band between `lo` and `hi` (mean ± std). */
  band?: boolean;
  /** Draw points on the lines: hollow, one shape per series, so that series drawn on top of each
   * other stay visible. */
  points?: boolean;
  /** Shift series apart along x by this much (x units) between neighbours, centred on the true x:
   * for an index axis on which lines would coincide (Fig. 2's success rates at 1). */
  dodge?: number;
  /**
   * Rows with `exit: true` are not part of the lines: each marks where a curve leaves the y
   * domain (drawn as a triangle at the edge, in the series' colour).
   */
  exits?: boolean;
  /** Panel size in pixels. */
  size?: { width: number; height: number };
  /**
   * Rows carry `kind` "sampled" or "exact": exact rows (the population loss) are drawn dashed in
   * their series' colour, without a band.
   */
  dashExact?: boolean;
  /** These series are drawn dashed, in the one legend of the series (their own lines: one run's
   * exact population loss beside its sampled ones). */
  dashSeries?: string[];
}

/** The `kind` values of {@linkcode LinesOptions.dashExact} lines, in legend order. */
export const LINE_KINDS = ["sampled", "exact (population)"];

/** Point shapes of the series of a line chart with points, in series order (repeating). */
const POINT_SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"];

/** x and y encodings and colour shared by the layers of a line chart. */
function lineEncodings(o: LinesOptions): Spec {
  const x: Spec = {
    field: "x",
    type: "quantitative",
    title: o.xTitle,
    scale: o.xLog ? { type: "log", nice: false } : { zero: false, nice: false },
  };
  if (o.xValues) x.axis = { values: o.xValues, format: o.xFormat ?? "d" };
  if (o.xInteger) x.axis = { tickMinStep: 1, format: "d" };
  return {
    x,
    color: {
      field: "series",
      type: "nominal",
      title: o.seriesTitle,
      sort: o.seriesOrder,
      scale: categoryScale(o.seriesOrder, o.scheme),
    },
  };
}

function lineLayers(o: LinesOptions): Spec[] {
  const enc = lineEncodings(o);
  const y: Spec = {
    field: "y",
    type: "quantitative",
    title: o.yTitle,
    scale: o.yDomain ? { domain: o.yDomain, nice: false } : { zero: false },
  };
  const layers: Spec[] = [];
  const shift = o.dodge
    ? [{
      calculate: `datum.x + ${o.dodge} * (indexof(${JSON.stringify(o.seriesOrder)}, datum.series)` +
        ` - ${(o.seriesOrder.length - 1) / 2})`,
      as: "x",
    }]
    : [];
  const lines = [...(o.exits ? [{ filter: "!datum.exit" }] : []), ...shift];
  if (o.band) {
    layers.push({
      mark: { type: "area", opacity: 0.18, clip: true },
      // the series copied to another field, without a legend: the legend comes from the lines
      // alone (a null legend on the same field would remove the merged legend)
      transform: [
        ...lines,
        ...(o.dashExact ? [{ filter: `datum.kind !== "${LINE_KINDS[1]}"` }] : []),
        { calculate: "datum.series", as: "band" },
      ],
      encoding: {
        x: enc.x,
        fill: { ...(enc.color as Spec), field: "band", legend: null },
        y: { ...y, field: "lo" },
        y2: { field: "hi" },
      },
    });
  }
  layers.push({
    mark: { type: "line", strokeWidth: 1.6, clip: true },
    ...(lines.length ? { transform: lines } : {}),
    encoding: {
      ...enc,
      y,
      ...(o.dashExact
        ? {
          strokeDash: {
            field: "kind",
            type: "nominal",
            title: "loss",
            sort: LINE_KINDS,
            scale: { domain: LINE_KINDS, range: [[1, 0], [5, 3]] },
          },
        }
        : o.dashSeries
        ? {
          // the same field, title and order as the colour: one legend showing both
          strokeDash: {
            field: "series",
            type: "nominal",
            title: o.seriesTitle,
            sort: o.seriesOrder,
            scale: {
              domain: o.seriesOrder,
              range: o.seriesOrder.map((s) => o.dashSeries!.includes(s) ? [5, 3] : [1, 0]),
            },
          },
        }
        : {}),
    },
  });
  if (o.points) {
    layers.push({
      mark: { type: "point", filled: false, size: 26, strokeWidth: 1.3, clip: true },
      ...(lines.length ? { transform: lines } : {}),
      encoding: {
        ...enc,
        y,
        shape: {
          field: "series",
          type: "nominal",
          title: o.seriesTitle,
          sort: o.seriesOrder,
          scale: { domain: o.seriesOrder, range: POINT_SHAPES },
        },
      },
    });
  }
  if (o.exits) {
    layers.push({
      mark: { type: "point", shape: "triangle-down", filled: true, size: 70, opacity: 1 },
      transform: [{ filter: "datum.exit" }, ...shift],
      encoding: { ...enc, y: { ...y, title: o.yTitle } },
    });
  }
  return layers;
}

/**
 * Lines of rows `{ row, col, series, x, y, lo?, hi? }`, one per series, faceted by row and column
 * labels, with an optional mean ± std band.
 */
export function linesSpec(data: Record<string, unknown>[], o: LinesOptions): Spec {
  return faceted(
    data,
    { layer: lineLayers(o) },
    o.panels,
    { title: titleOf(o.title, o.subtitle) },
    o.size ?? { width: 210, height: 160 },
  );
}

/**
 * Two line charts side by side over the same rows with different y fields (`y` and `lo`/`hi` in
 * each row's `panel` "left" or "right"): the sample-complexity figure.
 */
export function twoLinesSpec(
  data: { panel: "left" | "right" }[],
  o: LinesOptions & { rightTitle: string; leftPanel: string; rightPanel: string },
): Spec {
  const left = lineLayers(o);
  const right = lineLayers({ ...o, yTitle: o.rightTitle, yDomain: undefined });
  const panel = (which: string, title: string, layer: Spec[]) => ({
    title: { text: title, fontSize: 12, anchor: "middle" },
    transform: [{ filter: { field: "panel", equal: which } }],
    width: 240,
    height: 170,
    layer,
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: CONFIG,
    title: titleOf(o.title, o.subtitle),
    data: { values: data },
    hconcat: [panel("left", o.leftPanel, left), panel("right", o.rightPanel, right)],
    resolve: { scale: { y: "independent" } },
  };
}

/** Options of {@linkcode pairedLinesSpec}. */
export interface PairedLinesOptions {
  /** Figure title. */
  title: string;
  /** Subtitle lines. */
  subtitle?: string | string[];
  /** Row labels, top to bottom (each row: a left and a right chart). */
  rows: string[];
  /** The left charts (rows with `side` "left"). */
  left: LinesOptions;
  /** The right charts (rows with `side` "right"). */
  right: LinesOptions;
}

/**
 * A grid of line charts: one row per label in `o.rows`, each with a left and a right chart with
 * their own y axis and their own series and legend (rows `{ row, side, series, x, y, lo, hi }`):
 * the multi-layer sample-complexity figure (losses left, per-layer correlation right).
 */
export function pairedLinesSpec(
  data: { row: string; side: "left" | "right" }[],
  o: PairedLinesOptions,
): Spec {
  const chart = (row: string, side: "left" | "right", lo: LinesOptions) => ({
    title: { text: [row, lo.title].filter((x) => x).join(": "), fontSize: 12 },
    transform: [{ filter: `datum.row === ${JSON.stringify(row)} && datum.side === "${side}"` }],
    width: 260,
    height: 170,
    layer: lineLayers(lo),
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: CONFIG,
    title: titleOf(o.title, o.subtitle),
    data: { values: data },
    vconcat: o.rows.map((row) => ({
      hconcat: [chart(row, "left", o.left), chart(row, "right", o.right)],
      resolve: {
        scale: {
          y: "independent",
          color: "independent",
          fill: "independent",
          shape: "independent",
        },
        legend: { color: "independent", fill: "independent", shape: "independent" },
      },
    })),
    resolve: {
      scale: { color: "independent", fill: "independent", shape: "independent" },
      legend: { color: "independent", fill: "independent", shape: "independent" },
    },
  };
}

/** Options of {@linkcode trajectorySpec}. */
export interface TrajectoryOptions {
  /** Figure title. */
  title: string;
  /** Subtitle lines. */
  subtitle?: string | string[];
  /** Panel labels (rows: teachers, columns: configurations). */
  panels: Panels;
  /** x on a log scale (epochs from 1). */
  xLog?: boolean;
}

/**
 * Per-teacher trajectories: rows `{ row, col, student, kind, x, y }`, one line per student, the
 * student that ends best for the panel's teacher drawn in colour, the others in grey (rows of
 * the grey students first, so the coloured line is drawn on top).
 */
export function trajectorySpec(data: Record<string, unknown>[], o: TrajectoryOptions): Spec {
  const kinds = ["best student at the end", "other students"];
  const inner = {
    mark: { type: "line", clip: true, strokeWidth: 1 },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: "epoch",
        scale: o.xLog ? { type: "log" } : { zero: false, nice: false },
        axis: { tickMinStep: 1, format: "d" },
      },
      y: {
        field: "y",
        type: "quantitative",
        title: "correlation with teacher j",
        scale: { domain: [-0.2, 1], nice: false },
      },
      detail: { field: "student", type: "nominal" },
      color: {
        field: "kind",
        type: "ordinal",
        sort: kinds,
        title: "student nodes",
        scale: { domain: kinds, range: ["#d62728", "#9a9a9a"] },
      },
      opacity: {
        field: "kind",
        type: "ordinal",
        sort: kinds,
        title: "student nodes",
        scale: { domain: kinds, range: [1, 0.35] },
      },
      strokeWidth: {
        field: "kind",
        type: "ordinal",
        sort: kinds,
        title: "student nodes",
        scale: { domain: kinds, range: [2, 0.8] },
      },
    },
  };
  return faceted(data, inner, o.panels, { title: titleOf(o.title, o.subtitle) }, {
    width: 190,
    height: 150,
  });
}
