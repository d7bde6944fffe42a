/**
 * The playground in headless Chromium: the page served as `deno task playground` serves it, started
 * with URL settings, trains in its Web Worker, and after a few epochs its DOM shows a falling loss
 * (the status line's eval MSE), a full teacher × student heatmap, one L-shape point per student
 * node and the loss lines. Also: everything it loads is in the repository (works offline).
 */
import { assertEquals, assertOk } from "./assert.ts";
import { CHROMIUM, openInChromium } from "./browser.ts";
import { staticHandler } from "../src/serve.ts";
import { pinnedVersions, sha256Hex, VENDORED } from "../src/vendor_playground.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("the playground page loads only files of the repository", async () => {
  const html = await Deno.readTextFile(new URL("playground/index.html", ROOT));
  const app = await Deno.readTextFile(new URL("playground/app.js", ROOT));
  const worker = await Deno.readTextFile(new URL("playground/worker.js", ROOT));
  const refs = [
    ...html.matchAll(/(?:src|href)="([^"]+)"/g),
    ...`${app}\n${worker}`.matchAll(/(?:from\s+|new URL\()\s*"([^"]+)"/g),
  ].map((m) => m[1]);
  assertOk(refs.length >= 5, refs.join(" "));
  for (const ref of refs) {
    assertOk(!/^[a-z]+:/.test(ref), `loads ${ref} from the network`);
    await Deno.stat(new URL(ref, new URL("playground/", ROOT))); // throws if missing
  }
});

Deno.test("the vendored Vega and Vega-Lite are the versions deno.json pins, unmodified", async () => {
  const record = JSON.parse(
    await Deno.readTextFile(new URL("playground/vendor/VERSIONS.json", ROOT)),
  );
  const versions = await pinnedVersions();
  assertEquals(Object.keys(record).sort(), VENDORED.map((v) => v.name).sort());
  for (const v of VENDORED) {
    const bytes = await Deno.readFile(new URL(`playground/vendor/${v.name}`, ROOT));
    assertEquals(record[v.name].version, versions[v.pkg], `${v.name}: run \`deno task vendor\``);
    assertEquals(record[v.name].sha256, await sha256Hex(bytes), `${v.name} was modified`);
  }
});

Deno.test({
  name: "the playground trains in a worker: falling loss, heatmap and L-shape in the DOM",
  ignore: !CHROMIUM,
  async fn() {
    const query = "d=10&m=4&multi=3&p=1&lr=0.05&batch=16&seed=2&autostart=1&report=4";
    const got = await openInChromium(staticHandler(ROOT), `/playground/?${query}`) as {
      first: string;
      last: string;
      heatmapCells: number;
      lshapePoints: number;
      lossLines: number;
    };
    const mse = (s: string) => Number(s.match(/eval MSE ([0-9.e+-]+)/)?.[1]);
    assertOk(/^epoch 0: /.test(got.first), got.first);
    assertOk(/^epoch [4-9]\d*: /.test(got.last), got.last);
    assertOk(mse(got.last) < mse(got.first) / 2, `${got.first} → ${got.last}`);
    assertEquals(got.heatmapCells, 4 * 12);
    assertEquals(got.lshapePoints, 12);
    assertEquals(got.lossLines, 2);
  },
});
