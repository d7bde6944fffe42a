// The playground page: reads the settings, starts the training worker, and draws what it reports
// with Vega-Lite (the global `vega` and `vegaLite` from vendor/). Training never runs on this
// thread, so the page stays responsive.

/* global vega, vegaLite */

const FIXED = { outputs: 10, nTrain: 4000, nEval: 2000, iters: 200, epochs: 300 };

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const form = $("settings");
for (const [k, v] of params) if (form.elements[k]) form.elements[k].value = v;
$("fixed").textContent = `Fixed here: ${FIXED.outputs} outputs, ${FIXED.nTrain} training and ` +
  `${FIXED.nEval} eval samples (σ = 1.5), an epoch = ${FIXED.iters} SGD steps, f64, ` +
  `evaluation after every epoch, at most ${FIXED.epochs} epochs.`;

const AXIS = { labelFontSize: 11, titleFontSize: 12 };

/** A Vega view of a Vega-Lite spec whose data comes from the named dataset `name`. */
function chart(el, spec) {
  const vl = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: "container",
    height: 260,
    autosize: { type: "fit-x", contains: "padding" },
    padding: { left: 40, top: 6, right: 6, bottom: 4 },
    config: { axis: AXIS, legend: AXIS },
    ...spec,
  };
  const view = new vega.View(vega.parse(vegaLite.compile(vl).spec), {
    renderer: "svg",
    container: el,
    hover: true,
  });
  view.runAsync();
  return view;
}

const lossView = chart($("loss"), {
  data: { name: "loss" },
  mark: { type: "line", point: false, strokeWidth: 2 },
  encoding: {
    x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickCount: 6 } },
    y: {
      field: "mse",
      type: "quantitative",
      scale: { type: "log" },
      title: null,
      axis: { format: "~e", tickCount: 6 },
    },
    color: {
      field: "set",
      type: "nominal",
      title: null,
      scale: { domain: ["train", "eval"], range: ["#1f77b4", "#d62728"] },
    },
  },
});

const heatView = chart($("heatmap"), {
  data: { name: "corr" },
  mark: { type: "rect" },
  encoding: {
    x: {
      field: "column",
      type: "ordinal",
      title: "student node (by best teacher)",
      axis: { labels: false, ticks: false },
    },
    y: { field: "teacher", type: "ordinal", title: "teacher node" },
    color: {
      field: "rho",
      type: "quantitative",
      title: "ρ",
      scale: { domain: [-1, 1], scheme: "redblue", reverse: true },
    },
    tooltip: [{ field: "teacher" }, { field: "student" }, { field: "rho", format: ".3f" }],
  },
});

const lView = chart($("lshape"), {
  data: { name: "students" },
  mark: { type: "point", filled: true, size: 28, opacity: 0.7 },
  encoding: {
    x: {
      field: "rho",
      type: "quantitative",
      title: "best correlation with a teacher node",
      scale: { domain: [-0.2, 1] },
    },
    y: { field: "fanout", type: "quantitative", title: "fan-out norm" },
    color: {
      field: "teacher",
      type: "ordinal",
      title: "best teacher",
      scale: { scheme: "tableau10" },
    },
    tooltip: [{ field: "student" }, { field: "teacher" }, { field: "rho", format: ".3f" }, {
      field: "fanout",
      format: ".3f",
    }],
  },
});

function replace(view, name, rows) {
  return view.change(name, vega.changeset().remove(() => true).insert(rows)).runAsync();
}

let worker = null;
let history = [];

function stopWorker() {
  if (worker) worker.terminate();
  worker = null;
  $("start").disabled = false;
  $("stop").disabled = true;
}

function show(msg, settings) {
  const { epoch, trainMse, evalMse, teachers, students, corr, bestTeacher, bestCorr, fanout } = msg;
  replace(
    lossView,
    "loss",
    history = history.concat(
      [{ epoch, set: "train", mse: trainMse }, { epoch, set: "eval", mse: evalMse }],
    ),
  );
  // Student columns ordered by their best teacher, then by how well they match it.
  const order = Array.from({ length: students }, (_, k) => k)
    .sort((a, b) => bestTeacher[a] - bestTeacher[b] || bestCorr[b] - bestCorr[a]);
  const cells = [];
  order.forEach((k, column) => {
    for (let j = 0; j < teachers; j++) {
      cells.push({ column, student: k, teacher: j, rho: corr[j * students + k] });
    }
  });
  replace(heatView, "corr", cells);
  replace(
    lView,
    "students",
    order.map((k) => ({
      student: k,
      teacher: bestTeacher[k],
      rho: bestCorr[k],
      fanout: fanout[k],
    })),
  );
  let covered = 0;
  for (let j = 0; j < teachers; j++) {
    let best = -1;
    for (let k = 0; k < students; k++) best = Math.max(best, corr[j * students + k]);
    if (best > 0.95) covered++;
  }
  $("status").textContent = `epoch ${epoch}: train MSE ${trainMse.toExponential(3)}, eval MSE ` +
    `${evalMse.toExponential(3)}; teacher nodes matched (ρ > 0.95): ${covered} of ${teachers}` +
    ` (d ${settings.d}, m ${settings.widths[0]}, multi ${settings.multi}, p ${settings.p})`;
}

function start(event) {
  event?.preventDefault();
  stopWorker();
  history = [];
  const f = form.elements;
  const settings = {
    ...FIXED,
    d: Number(f.d.value),
    widths: [Number(f.m.value)],
    multi: Number(f.multi.value),
    p: Number(f.p.value),
    lr: Number(f.lr.value),
    batch: Number(f.batch.value),
    seed: Number(f.seed.value),
  };
  $("status").textContent = "starting…";
  worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
  $("start").disabled = true;
  $("stop").disabled = false;
  worker.onmessage = ({ data }) => {
    if (data.type === "epoch") show(data, settings);
    else if (data.type === "error") {
      $("status").textContent = `error: ${data.message}`;
      stopWorker();
    } else if (data.type === "done") stopWorker();
    onReport?.(data);
  };
  worker.onerror = (e) => {
    $("status").textContent = `error: ${e.message}`;
    stopWorker();
  };
  worker.postMessage({ settings });
}

form.addEventListener("submit", start);
$("stop").addEventListener("click", () => {
  stopWorker();
  $("status").textContent += " (stopped)";
});

// Test hook: ?autostart=1 presses start; with &report=N the page POSTs what its DOM shows to
// /result after epoch N (the status line then and at epoch 0, and the marks of each chart).
let onReport = null;
if (params.has("report")) {
  const after = Number(params.get("report"));
  let first = null;
  onReport = async (data) => {
    if (data.type !== "epoch") return;
    await Promise.all([lossView, heatView, lView].map((v) => v.runAsync()));
    const status = $("status").textContent;
    if (data.epoch === 0) first = status;
    if (data.epoch < after) return;
    onReport = null;
    const marks = (id, sel) => document.querySelectorAll(`#${id} svg ${sel}`).length;
    await fetch("/result", {
      method: "POST",
      body: JSON.stringify({
        first,
        last: status,
        heatmapCells: marks("heatmap", ".mark-rect.role-mark path"),
        lshapePoints: marks("lshape", ".mark-symbol.role-mark path"),
        lossLines: marks("loss", ".mark-line.role-mark path"),
        busy: $("start").disabled,
      }),
    });
  };
}
if (params.has("autostart")) start();
