/**
 * The browser build: `dist/specialize.js` is exactly what `deno task bundle` builds from the
 * sources (banner hash included), it loads in headless Chromium, trains students there with the
 * same bits as Deno (f64 and f32), and the file-system functions fail there with one clear error.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { CHROMIUM, openInChromium } from "./browser.ts";
import { buildBundle, BUNDLE_PATH, bundleIntact } from "../src/build_bundle.ts";
import { staticHandler } from "../src/serve.ts";
import { resolveConfig, type RunConfig, Trainer } from "../mod.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("dist/specialize.js is up to date with the sources (run `deno task bundle`)", async () => {
  const committed = await Deno.readTextFile(new URL(BUNDLE_PATH, ROOT));
  assertOk(await bundleIntact(committed), "the banner's sha256 does not match the code");
  const fresh = await buildBundle();
  assertOk(fresh === committed, `${BUNDLE_PATH} is stale: run \`deno task bundle\``);
  assertOk(!/\bfrom\s+["']|import\(/.test(committed.replace(/^\/\/.*$/gm, "")), "imports left");
});

/** Settings the page and Deno both train (tiny, both precisions, SGD and momentum). */
const CASES = [
  { d: 8, widths: [4], outputs: 3, multi: 3, nTrain: 300, nEval: 200, iters: 60, epochs: 3 },
  {
    d: 6,
    widths: [3, 4],
    outputs: 2,
    multi: 2,
    nTrain: 200,
    nEval: 100,
    iters: 40,
    epochs: 2,
    precision: "f32",
    momentum: 0.9,
  },
];

/** train and eval MSE before training and after every epoch, as hex of the f64 bits. */
function lossesHex(config: RunConfig): string {
  const t = new Trainer(config);
  const out: number[] = [];
  const add = () => {
    const m = t.evaluate();
    out.push(m.trainMse, m.evalMse);
  };
  add();
  for (let e = 0; e < config.epochs; e++) {
    t.trainEpoch();
    add();
  }
  return Array.from(
    new Uint8Array(Float64Array.from(out).buffer),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>bundle test</title>
<script>addEventListener("error", (e) => fetch("/result", { method: "POST",
  body: JSON.stringify({ pageError: String(e.message) }) }));</script>
<script type="module">
import { resolveConfig, runToFolder, Trainer } from "/dist/specialize.js";
const hex = (xs) => Array.from(new Uint8Array(Float64Array.from(xs).buffer),
  (b) => b.toString(16).padStart(2, "0")).join("");
const out = { losses: [] };
try {
  for (const settings of ${JSON.stringify(CASES)}) {
    const config = resolveConfig({ settings });
    const t = new Trainer(config);
    const xs = [];
    const add = () => { const m = t.evaluate(); xs.push(m.trainMse, m.evalMse); };
    add();
    for (let e = 0; e < config.epochs; e++) { t.trainEpoch(); add(); }
    out.losses.push(hex(xs));
  }
  try {
    await runToFolder(resolveConfig({ settings: ${JSON.stringify(CASES[0])} }), { out: "runs/x" });
    out.fsError = "none";
  } catch (e) {
    out.fsError = e.name + ": " + e.message;
  }
} catch (e) {
  out.pageError = String(e && e.stack || e);
}
await fetch("/result", { method: "POST", body: JSON.stringify(out) });
</script>`;

Deno.test({
  name:
    "the bundle trains in headless Chromium with Deno's bits; file functions say they need Deno",
  ignore: !CHROMIUM,
  async fn() {
    const files = staticHandler(ROOT);
    const handler = (req: Request) =>
      new URL(req.url).pathname === "/bundle_test.html"
        ? new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } })
        : files(req);
    const got = await openInChromium(handler, "/bundle_test.html") as {
      losses?: string[];
      fsError?: string;
      pageError?: string;
    };
    assertEquals(got.pageError, undefined);
    const expected = CASES.map((s) => lossesHex(resolveConfig({ settings: s })));
    assertEquals(got.losses, expected);
    assertOk(
      /^NeedsDenoError: runToFolder reads or writes files and needs Deno/.test(got.fsError ?? ""),
      String(got.fsError),
    );
  },
});
