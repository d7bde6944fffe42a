/**
 * A static file server for the repository, with the content types Deno and browsers need
 * (`.ts` as TypeScript, `.js` as JavaScript, `.wasm`, `.html`, `.css`, `.json`): the library by
 * URL (`http://HOST:PORT/mod.ts`) and the playground (`/playground/`). Read-only, one folder, no
 * directory listings. Not part of the library.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1:8000 --allow-read=. src/serve.ts            # http://127.0.0.1:8000/
 * deno run --allow-net --allow-read=. src/serve.ts --port 9000 --hostname 0.0.0.0
 * ```
 * @module
 */

/** Content types by file extension; anything else is `application/octet-stream`. */
export const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".ts": "application/typescript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".md": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/** A request handler serving the files under the folder `root` (`/dir/` serves `dir/index.html`). */
export function staticHandler(root: URL): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return new Response("bad path", { status: 400 });
    }
    if (path.split("/").some((s) => s === ".." || s.startsWith("."))) {
      return new Response("not found", { status: 404 });
    }
    const file = new URL("." + (path.endsWith("/") ? path + "index.html" : path), root);
    try {
      const body = await Deno.readFile(file);
      const name = file.pathname;
      const ext = name.slice(name.lastIndexOf("."));
      return new Response(req.method === "HEAD" ? null : body, {
        headers: {
          "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream",
          "cache-control": "no-cache",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  };
}

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

if (import.meta.main) {
  const port = Number(flag(Deno.args, "port", "8000"));
  const hostname = flag(Deno.args, "hostname", "127.0.0.1");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(
      `error: Invalid --port ${JSON.stringify(flag(Deno.args, "port", ""))}: ` +
        "expected an integer from 0 to 65535",
    );
    Deno.exit(2);
  }
  const root = new URL("../", import.meta.url);
  Deno.serve({
    hostname,
    port,
    onListen: ({ port }) => {
      const base = `http://${hostname}:${port}`;
      console.log(`serving ${root.pathname} at ${base}/`);
      console.log(`  playground: ${base}/playground/`);
      console.log(
        `  library:    import { Trainer } from "${base}/mod.ts" (deno run --allow-import=${hostname}:${port})`,
      );
    },
  }, staticHandler(root));
}
