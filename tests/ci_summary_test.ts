/** `.ci/summary.sh`: the one line CI ends with, read from Deno's last summary line. */
import { assertEquals } from "./assert.ts";

const SCRIPT = new URL("../.ci/summary.sh", import.meta.url).pathname;

const CASES: [string, string[], number, string][] = [
  ["plain", ["a ... ok", "ok | 12 passed | 0 failed (3s)"], 0, "12 passed, 0 failed"],
  ["with steps", ["ok | 446 passed (1 step) | 0 failed (4m40s)"], 0, "446 passed, 0 failed"],
  [
    "failures, steps and ignored",
    ["FAILED | 11 passed (2 steps) | 1 failed (3 steps) | 2 ignored (3s)"],
    1,
    "11 passed, 1 failed",
  ],
  [
    "a test printed a summary-shaped line before the real one",
    ["ok | 999 passed | 7 failed (1s)", "FAILED | 5 passed | 2 failed (9s)"],
    1,
    "5 passed, 2 failed",
  ],
  ["no summary, failing status", ["error: Type checking failed"], 1, "0 passed, 1 failed"],
  [
    "summary says 0 failed, status failing",
    ["ok | 3 passed | 0 failed (1s)"],
    1,
    "3 passed, 1 failed",
  ],
];

for (const [what, lines, status, expected] of CASES) {
  Deno.test(`.ci/summary.sh: ${what}`, async () => {
    const log = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(log, lines.join("\n") + "\n");
      const out = await new Deno.Command("bash", { args: [SCRIPT, log, String(status)] }).output();
      assertEquals(new TextDecoder().decode(out.stdout), `${expected}\n`);
    } finally {
      await Deno.remove(log);
    }
  });
}
