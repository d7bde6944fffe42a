/**
 * Headless Chromium for the browser tests: find it, serve pages on 127.0.0.1 (port 0), open a page
 * and wait for the JSON it POSTs to `/result`. A test whose browser is missing is ignored with a
 * message saying so (CI installs Debian's `chromium` through `.ci/run`).
 * @module
 */

/** The Chromium executable on PATH, or null. */
export async function findChromium(): Promise<string | null> {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const r = await new Deno.Command(name, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (r.success) return name;
    } catch {
      // not installed under this name
    }
  }
  return null;
}

/** Found once for every browser test file. */
export const CHROMIUM = await findChromium();

/** Why a browser test is ignored, printed once when Chromium is missing. */
export const NO_CHROMIUM = "browser tests ignored: no chromium on PATH (Debian: apt-get install " +
  "chromium; CI installs it with .ci/debian_packages.sh)";
if (!CHROMIUM) console.warn(NO_CHROMIUM);

/**
 * Opens `path` of the handler's site in headless Chromium and resolves with the JSON the page
 * POSTs to `/result` (or a page error it POSTs there), or rejects after `timeoutMs`. The server
 * answers `/result` itself; every other request goes to `handler`. Chromium is stopped (SIGTERM,
 * then SIGKILL) before this returns.
 */
export async function openInChromium(
  handler: (req: Request) => Response | Promise<Response>,
  path: string,
  timeoutMs = 60_000,
): Promise<unknown> {
  let deliver!: (v: unknown) => void;
  const result = new Promise<unknown>((resolve) => (deliver = resolve));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (new URL(req.url).pathname === "/result" && req.method === "POST") {
      deliver(await req.json());
      return new Response("ok");
    }
    return await handler(req);
  });
  const profile = await Deno.makeTempDir({ prefix: "specialize_chromium_" });
  const child = new Deno.Command(CHROMIUM!, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-extensions",
      `--user-data-dir=${profile}`,
      `http://127.0.0.1:${server.addr.port}${path}`,
    ],
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      result,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the page did not report within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    child.kill("SIGTERM");
    const killer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 5000);
    await child.status;
    clearTimeout(killer);
    await server.shutdown();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
