/**
 * The tool's version has one value: `VERSION` (recorded in every run's provenance) equals
 * deno.json's `version` (the published package's).
 */
import { VERSION } from "../src/version.ts";
import { assertEquals } from "./assert.ts";

Deno.test("VERSION equals deno.json's version", async () => {
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { version: string };
  assertEquals(VERSION, denoJson.version);
});
