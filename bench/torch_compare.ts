/**
 * Our kernels against PyTorch on the same workloads, side by side on this machine:
 * `deno task bench:torch [--rounds N] [--only ID,ID] [--run-ms MS]`.
 *
 * Each round times every workload of {@linkcode WORKLOADS} on our side (in this process), then
 * runs `bench/torch_bench.py` once for the same workloads (one thread: `torch.set_num_threads(1)`,
 * `OMP_NUM_THREADS=1`, `OPENBLAS_CORETYPE` / `OPENBLAS_L2_SIZE` removed from its environment
 * only, so OpenBLAS picks its kernels for this CPU, and glibc keeping freed memory: see
 * {@linkcode torchEnv}). Both sides time a call the same way (warm-up,
 * then the fastest of short batches); the table shows the median over rounds and the ratio
 * our speed ÷ theirs (> 1: we are faster), with the CPU's name, and the results go to
 * `bench/results/torch.json`.
 *
 * Nothing is installed: without a Python that imports torch it says how to get one (Debian:
 * `apt-get install python3-torch python3-numpy libopenblas0-pthread`) and exits with code 1.
 *
 * To add a workload, add a row to {@linkcode WORKLOADS}: our config (as `resolveConfig` settings),
 * what one timed call of ours does, and the PyTorch variants to compare with (see torch_bench.py).
 * @module
 */

import { evaluateTrainer } from "../src/analysis.ts";
import { type RawSettings, resolveConfig, type RunConfig } from "../src/config.ts";
import { layerSizes } from "../src/teacher.ts";
import { Trainer } from "../src/train.ts";
import { benchEnvironment, writeBenchResults } from "./_results.ts";
import { printTable, timeCall } from "./_timing.ts";

/** PyTorch variants of torch_bench.py. */
export type TorchVariant = "ref" | "fused" | "autograd" | "plain";

/** One workload, timed on both sides. */
export interface Workload {
  /** Short id (`--only`). */
  id: string;
  /** What it is, for the table. */
  what: string;
  /** A step (one SGD step) or an evaluation (one per-epoch evaluation). */
  kind: "step" | "eval";
  /** Our run's settings; the PyTorch side gets the same layer sizes, batch, precision, sizes. */
  settings: RawSettings;
  /** The PyTorch variants compared. */
  variants: TorchVariant[];
  /** One timed call of ours on a trainer of `settings`. */
  call: (t: Trainer) => () => void;
  /** Threads of our trainer (default 1; PyTorch always has one). */
  threads?: number;
}

const LR = 1e-3;
const step = (t: Trainer) => () => t.steps(1, LR);
const evaluation = (t: Trainer) => () => void evaluateTrainer(t, { observability: false });
const STEP_VARIANTS: TorchVariant[] = ["ref", "fused", "autograd"];
const MULTI = {
  d: 20,
  dataStd: 10,
  multi: 10,
  outputs: 100,
  batch: 64,
  nTrain: 10000,
  nEval: 1000,
};

/** The workloads, in table order. */
export const WORKLOADS: Workload[] = [
  {
    id: "two_f32_step",
    what: "two-layer step, f32 (d 100, 200 students, 50 outputs, batch 16)",
    kind: "step",
    settings: { precision: "f32", nEval: 1000 },
    variants: STEP_VARIANTS,
    call: step,
  },
  {
    id: "two_f64_step",
    what: "two-layer step, f64",
    kind: "step",
    settings: { precision: "f64", nEval: 1000 },
    variants: STEP_VARIANTS,
    call: step,
  },
  {
    id: "two_f32_eval",
    what: "two-layer per-epoch evaluation (10k + 10k), f32",
    kind: "eval",
    settings: { precision: "f32" },
    variants: ["plain"],
    call: evaluation,
  },
  {
    id: "two_f64_eval",
    what: "two-layer per-epoch evaluation (10k + 10k), f64",
    kind: "eval",
    settings: { precision: "f64" },
    variants: ["plain"],
    call: evaluation,
  },
  {
    id: "ml_small_step",
    what: "multi-layer step, teacher 10-15-20-25 ×10, batch 64, f32",
    kind: "step",
    settings: { ...MULTI, widths: [10, 15, 20, 25] },
    variants: STEP_VARIANTS,
    call: step,
  },
  {
    id: "ml_paper_step",
    what: "multi-layer step, teacher 50-75-100-125 ×10 (paper scale), batch 64, f32",
    kind: "step",
    settings: { ...MULTI, widths: [50, 75, 100, 125] },
    variants: STEP_VARIANTS,
    call: step,
  },
  {
    id: "ml_paper_step_2t",
    what: "the same on 2 threads (ours; PyTorch on 1)",
    kind: "step",
    settings: { ...MULTI, widths: [50, 75, 100, 125] },
    variants: ["ref"],
    call: step,
    threads: 2,
  },
];

/** A job for torch_bench.py: a workload's shapes and one variant. */
export function torchJob(w: Workload, variant: TorchVariant, c: RunConfig, runMs: number) {
  const sizes = layerSizes(c);
  return {
    id: `${w.id}/${variant}`,
    kind: w.kind,
    variant,
    sizes: sizes.student,
    teacher: sizes.teacher,
    batch: c.batch,
    dtype: c.precision,
    n_train: c.nTrain,
    n_eval: c.nEval,
    warm_ms: Math.min(300, runMs / 3),
    run_ms: runMs,
  };
}

/** The Debian packages the PyTorch side needs. */
export const INSTALL_HINT =
  "sudo apt-get install python3-torch python3-numpy libopenblas0-pthread (Debian/Ubuntu)";

const SCRIPT = new URL("./torch_bench.py", import.meta.url).pathname;

/**
 * The environment of the PyTorch command: one thread, OpenBLAS free to pick its kernels for this
 * CPU, and glibc told to keep freed memory (no mmap per large tensor, no trimming), so that
 * PyTorch's temporaries are not page-faulted in again at every call; page faults are slow on
 * virtual machines, and our side allocates its memory once.
 */
export function torchEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return {
    ...env,
    OMP_NUM_THREADS: "1",
    OPENBLAS_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
    MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20),
    MALLOC_TRIM_THRESHOLD_: String(2 ** 32),
    MALLOC_TOP_PAD_: String(256 * 2 ** 20),
  };
}

/** The first Python that imports torch, or null. */
export async function findPython(): Promise<string | null> {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      const r = await new Deno.Command(py, {
        args: ["-c", "import torch"],
        env: torchEnv(),
        clearEnv: true,
        stdout: "null",
        stderr: "null",
      }).output();
      if (r.success) return py;
    } catch {
      // not found: try the next
    }
  }
  return null;
}

/** What one run of torch_bench.py measured: seconds per call by job id, and its PyTorch. */
export interface TorchOutput {
  seconds: Map<string, number>;
  info: { torch: string; threads: number; blas: string };
}

/** Runs torch_bench.py once on `jobs` (see {@linkcode torchJob}) in {@linkcode torchEnv}. */
export async function runTorch(python: string, jobs: unknown[]): Promise<TorchOutput> {
  const child = new Deno.Command(python, {
    args: [SCRIPT],
    env: torchEnv(),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(jobs)));
  await w.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`torch_bench.py failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  const seconds = new Map<string, number>();
  let info = { torch: "?", threads: 0, blas: "?" };
  for (const line of text.trim().split("\n")) {
    const o = JSON.parse(line);
    if (o.id !== undefined) seconds.set(o.id, o.seconds);
    else info = o;
  }
  return { seconds, info };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function parseArgs(args: string[]): { rounds: number; only: string[] | null; runMs: number } {
  let rounds = 5, only: string[] | null = null, runMs = 1000;
  for (let i = 0; i < args.length; i++) {
    const v = args[i + 1];
    if (args[i] === "--rounds" && Number.isInteger(Number(v)) && Number(v) > 0) rounds = +v;
    else if (args[i] === "--only" && v) only = v.split(",");
    else if (args[i] === "--run-ms" && Number(v) > 0) runMs = +v;
    else {
      throw new Error(
        `Unknown or invalid argument ${JSON.stringify(args[i])}: accepted --rounds N, ` +
          `--only ${WORKLOADS.map((w) => w.id).join(",")}, --run-ms MS`,
      );
    }
    i++;
  }
  const unknown = (only ?? []).filter((id) => !WORKLOADS.some((w) => w.id === id));
  if (unknown.length) {
    throw new Error(
      `Unknown workload ${unknown.join(", ")}: expected some of ` +
        WORKLOADS.map((w) => w.id).join(", "),
    );
  }
  return { rounds, only, runMs };
}

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseArgs(Deno.args);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  const python = await findPython();
  if (!python) {
    console.error(`error: no python3 that imports torch; install it with: ${INSTALL_HINT}`);
    return 1;
  }
  const env = benchEnvironment();
  const workloads = WORKLOADS.filter((w) => !opts.only || opts.only.includes(w.id));
  const prepared = workloads.map((w) => {
    const config = resolveConfig({ settings: w.settings });
    const trainer = new Trainer(config, { threads: w.threads ?? 1 });
    return { w, config, trainer, fn: w.call(trainer) };
  });
  const jobs = prepared.flatMap(({ w, config }) =>
    w.variants.map((v) => torchJob(w, v, config, opts.runMs))
  );
  console.log(
    `${env.cpu}, ${env.cores} cores; ${opts.rounds} rounds, each: ours then PyTorch (1 thread, ` +
      `${python})`,
  );
  const ours = new Map<string, number[]>(), theirs = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) =>
    m.set(k, [...(m.get(k) ?? []), v]);
  let info: TorchOutput["info"] | null = null;
  const loadAtStart = env.loadAverage;
  for (let r = 0; r < opts.rounds; r++) {
    for (const { w, fn } of prepared) {
      push(ours, w.id, timeCall(fn, Math.min(300, opts.runMs / 3), opts.runMs));
    }
    const t = await runTorch(python, jobs);
    for (const [id, s] of t.seconds) push(theirs, id, s);
    info = t.info;
    console.log(`  round ${r + 1}/${opts.rounds} done`);
  }
  const variants: TorchVariant[] = ["ref", "fused", "autograd", "plain"];
  const names = {
    ref: "reference-style",
    fused: "hand-fused",
    autograd: "autograd",
    plain: "plain",
  };
  const head = ["workload", "ours µs"];
  for (const v of variants) head.push(`${names[v]} µs`, `÷ ${names[v]}`);
  const table = [head];
  const records = [];
  for (const { w } of prepared) {
    const o = median(ours.get(w.id)!), oMin = Math.min(...ours.get(w.id)!);
    const row = [w.what, (o * 1e6).toFixed(1)];
    const rec: Record<string, unknown> = {
      id: w.id,
      what: w.what,
      oursMicros: o * 1e6,
      oursFastestMicros: oMin * 1e6,
    };
    for (const v of variants) {
      const ts = theirs.get(`${w.id}/${v}`);
      if (!ts) {
        row.push("", "");
        continue;
      }
      const t = median(ts), tMin = Math.min(...ts);
      row.push((t * 1e6).toFixed(1), `${(t / o).toFixed(2)}× (${(tMin / oMin).toFixed(2)}×)`);
      // median over rounds, and the fastest round of each side (the least disturbed)
      rec[v] = {
        micros: t * 1e6,
        ratio: t / o,
        fastestMicros: tMin * 1e6,
        fastestRatio: tMin / oMin,
      };
    }
    table.push(row);
    records.push(rec);
  }
  console.log(
    `\nmedian seconds per call over ${opts.rounds} rounds; ratio = our speed ÷ PyTorch's ` +
      `(in parentheses: fastest round ÷ fastest round) ` +
      `(> 1: ours is faster). CPU: ${env.cpu}; PyTorch ${info?.torch}, ${info?.threads} thread, ` +
      `${info?.blas}`,
  );
  printTable(table);
  await writeBenchResults("torch", {
    what: "our kernels vs PyTorch (1 thread) on the same workloads; ratio = our speed ÷ theirs",
    rounds: opts.rounds,
    runMs: opts.runMs,
    loadAverageAtStart: loadAtStart,
    torch: info,
    python,
    rows: records,
    raw: { ours: Object.fromEntries(ours), torch: Object.fromEntries(theirs) },
  });
  for (const p of prepared) p.trainer.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
