/**
 * Golden hashes: the bits of a tiny run, pinned. A change here means every earlier result of the
 * tool would come out different: do it only when an issue requires it, update the table in the
 * same commit (the failure message prints the new table) and say why in the commit message.
 *
 * What is hashed, per precision:
 * - every `.npy` file of weights and data (teacher, student initial and final weights, training
 *   and eval inputs and outputs), byte for byte;
 * - from `metrics.csv`, only the FIXED column list {@linkcode METRIC_COLUMNS}, as the float64 bits
 *   of the parsed values (so other columns may be added and number formatting may change without
 *   touching the goldens; a changed loss or gradient norm still fails).
 *
 * And one test runs the same configuration under another Deno 2.x (fetched from the npm registry
 * with `npx`, as the README's set-up does) and compares every file byte for byte (`config.json`'s
 * `meta` and `result.json`'s `timing` and runtime versions apart). It is ignored, saying why, when
 * `npx` or the registry is not reachable.
 */
import { assertEquals } from "./assert.ts";
import { runCli, TINY } from "./run_cli.ts";

/** The tiny run: two layers, p = 1.5 so the teacher's strength decay calls pow. */
const RUN = [...TINY, "--epochs", "2", "--iters", "100", "--p", "1.5", "--quiet"];

/** The `.npy` files hashed byte for byte. */
const NPY = [
  "teacher_w0",
  "teacher_w1",
  "student_init_w0",
  "student_init_w1",
  "student_final_w0",
  "student_final_w1",
  "train_x",
  "train_y",
  "eval_x",
  "eval_y",
];

/** The metrics.csv columns hashed (a fixed list: new columns do not change the goldens). */
const METRIC_COLUMNS = ["epoch", "lr", "train_mse", "eval_mse", "grad_norm_0", "grad_norm_1"];

/** sha256 (first 16 hex digits) of each file, per precision. */
const GOLDEN: Record<"f32" | "f64", Record<string, string>> = {
  f64: {
    "teacher_w0.npy": "2423da42370bfbce",
    "teacher_w1.npy": "ceac7bce402ecd30",
    "student_init_w0.npy": "717b59f70c053b1e",
    "student_init_w1.npy": "98fe9da6f425e6bd",
    "student_final_w0.npy": "987e466c4cf89542",
    "student_final_w1.npy": "8b555e3bc1e9dbae",
    "train_x.npy": "674ecbd857732126",
    "train_y.npy": "bd5d35886a34dc54",
    "eval_x.npy": "135eb0c57e898690",
    "eval_y.npy": "61270b2e88b49efc",
    "metrics.csv": "4e5c8898b7e4605f",
  },
  f32: {
    "teacher_w0.npy": "fb9fb5cadc594ef2",
    "teacher_w1.npy": "0cf478fc1ed4217a",
    "student_init_w0.npy": "71b5bccf703f0c24",
    "student_init_w1.npy": "19a5c8b5387c33c9",
    "student_final_w0.npy": "00047d46265bb48c",
    "student_final_w1.npy": "db1b82c55b54e782",
    "train_x.npy": "32957430f43fd754",
    "train_y.npy": "1358e70b89b14d10",
    "eval_x.npy": "49836a3526b157c4",
    "eval_y.npy": "d3ab214bfd2b5647",
    "metrics.csv": "786832ed950832c3",
  },
};

async function sha(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The float64 bits of the fixed metrics columns, row by row. */
function metricBits(csv: string): Uint8Array<ArrayBuffer> {
  const [head, ...rows] = csv.trim().split("\n");
  const cols = head.split(",");
  const idx = METRIC_COLUMNS.map((c) => {
    const i = cols.indexOf(c);
    if (i < 0) throw new Error(`metrics.csv has no column ${c}: ${head}`);
    return i;
  });
  const out = new Float64Array(rows.length * idx.length);
  rows.forEach((r, k) => {
    const v = r.split(",");
    idx.forEach((i, j) => out[k * idx.length + j] = Number(v[i]));
  });
  return new Uint8Array(out.buffer);
}

async function runHashes(dir: string): Promise<Record<string, string>> {
  const h: Record<string, string> = {};
  for (const n of NPY) h[`${n}.npy`] = await sha(await Deno.readFile(`${dir}/${n}.npy`));
  h["metrics.csv"] = await sha(metricBits(await Deno.readTextFile(`${dir}/metrics.csv`)));
  return h;
}

for (const precision of ["f64", "f32"] as const) {
  Deno.test(`golden hashes of a tiny ${precision} run`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await runCli(["train", ...RUN, "--precision", precision, "--out", `${dir}/run`]);
      assertEquals(r.code, 0, r.stderr);
      const got = await runHashes(`${dir}/run`);
      assertEquals(
        got,
        GOLDEN[precision],
        `the bits of the tiny run changed; if that is intended, the new ${precision} table is\n` +
          JSON.stringify(got, null, 2),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/** Another Deno 2.x, with a V8 whose Math.log/exp/pow differ from today's in the last bit. */
const OTHER_DENO = "deno@2.8.3";

async function otherDenoAvailable(): Promise<string | null> {
  try {
    const out = await new Deno.Command("npx", {
      args: ["-y", OTHER_DENO, "--version"],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(180_000),
    }).output();
    if (out.success) return null;
    return `npx -y ${OTHER_DENO} failed: ${
      new TextDecoder().decode(out.stderr).trim().slice(-200)
    }`;
  } catch (e) {
    return `cannot run npx -y ${OTHER_DENO}: ${(e as Error).message}`;
  }
}

const unavailable = await otherDenoAvailable();
if (unavailable) console.warn(`IGNORED cross-runtime test: ${unavailable}`);

/** The files of a run folder, with the parts that name the runtime or the time removed. */
async function comparable(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const bytes = await Deno.readFile(`${dir}/${e.name}`);
    let key = await sha(bytes);
    if (e.name === "config.json" || e.name === "result.json") {
      const j = JSON.parse(new TextDecoder().decode(bytes));
      delete j.meta?.deno, delete j.meta?.v8, delete j.timing;
      delete j.provenance?.deno, delete j.provenance?.v8;
      key = JSON.stringify(j);
    }
    files.set(e.name, key);
  }
  return files;
}

Deno.test({
  name: `the same bytes under ${OTHER_DENO} (from npm) as under this Deno` +
    (unavailable ? ` (IGNORED: ${unavailable.split("\n")[0]})` : ""),
  ignore: unavailable !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const cli = new URL("../cli.ts", import.meta.url).pathname;
      for (const precision of ["f64", "f32"]) {
        const args = ["train", ...RUN, "--precision", precision];
        const here = await runCli([...args, "--out", `${dir}/here-${precision}`]);
        assertEquals(here.code, 0, here.stderr);
        const other = await new Deno.Command("npx", {
          args: ["-y", OTHER_DENO, "run", "--quiet", "--allow-read", "--allow-write", cli, ...args]
            .concat(["--out", `${dir}/other-${precision}`]),
          stdout: "piped",
          stderr: "piped",
        }).output();
        assertEquals(other.code, 0, new TextDecoder().decode(other.stderr));
        const a = await comparable(`${dir}/here-${precision}`);
        const b = await comparable(`${dir}/other-${precision}`);
        assertEquals([...b.keys()].sort(), [...a.keys()].sort());
        const differ = [...a.keys()].filter((k) => a.get(k) !== b.get(k));
        assertEquals(differ, [], `${precision}: files that differ between the runtimes`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
