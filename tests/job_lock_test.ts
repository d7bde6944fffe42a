/**
 * Job locks (src/job_lock.ts): a live holder keeps its job, a dead one on this machine loses it at
 * once, another machine's lock counts by its heartbeat; of several processes taking over one stale
 * lock exactly one wins.
 */
import { LOCK_STALE_SECONDS, type LockHolder, lockJob, thisHost } from "../src/job_lock.ts";
import { assertEquals, assertOk } from "./assert.ts";

const LOCK_TS = new URL("../src/job_lock.ts", import.meta.url).href;
const HOST = thisHost();

/** A Deno process that takes the lock of job `hash` in `out` and keeps it until killed. */
async function holderProcess(out: string, hash: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { lockJob } from "${LOCK_TS}";
       const r = await lockJob(${JSON.stringify(out)}, ${JSON.stringify(hash)});
       console.log("lock" in r ? "held" : "refused");
       setInterval(() => {}, 1e6);`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const line = (await reader.read()).value?.trim();
  reader.releaseLock();
  assertEquals(line, "held", "the helper process took the lock");
  return {
    pid: child.pid,
    async kill() {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

/** A process that is alive (no lock of its own), for the file systems-without-flock rows. */
function sleeper() {
  const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
  return {
    pid: child.pid,
    async kill() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

function procStart(pid: number): number {
  const t = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[19]);
}

async function writeLock(path: string, holder: Partial<LockHolder> | string, ageSeconds = 0) {
  await Deno.writeTextFile(path, typeof holder === "string" ? holder : JSON.stringify(holder));
  const t = new Date(Date.now() - ageSeconds * 1000);
  await Deno.utime(path, t, t);
}

const OLD = LOCK_STALE_SECONDS + 60;
const since = new Date().toISOString();

interface Row {
  name: string;
  /** Prepares `path` (the lock file of job "job" in `out`); returns a clean-up. */
  setup: (out: string, path: string) => Promise<(() => Promise<void>) | void>;
  /** This machine's name as the contender sees it (default: the real one). */
  host?: string | null;
  expect: "taken" | "running elsewhere";
}

const ROWS: Row[] = [
  { name: "no lock file", setup: async () => {}, expect: "taken" },
  {
    name: "live holder on this machine (another process)",
    setup: async (out) => (await holderProcess(out, "job")).kill,
    expect: "running elsewhere",
  },
  {
    name: "holder on this machine killed (SIGKILL), heartbeat fresh",
    setup: async (out) => await (await holderProcess(out, "job")).kill(),
    expect: "taken",
  },
  {
    name: "this process holds it already",
    setup: async (out) => {
      const r = await lockJob(out, "job");
      assertOk("lock" in r);
      return r.lock.release;
    },
    expect: "running elsewhere",
  },
  {
    name: "holder without OS lock (file system without flock), pid alive",
    setup: async (_, path) => {
      const s = sleeper();
      await writeLock(path, { host: HOST, pid: s.pid, start: procStart(s.pid), since });
      return s.kill;
    },
    expect: "running elsewhere",
  },
  {
    name: "holder without OS lock, pid gone",
    setup: async (_, path) => {
      const s = sleeper();
      await s.kill();
      await writeLock(path, { host: HOST, pid: s.pid, start: null, since });
    },
    expect: "taken",
  },
  {
    name: "holder without OS lock, pid reused by a process started at another time",
    setup: async (_, path) => {
      const s = sleeper();
      await writeLock(path, { host: HOST, pid: s.pid, start: procStart(s.pid) - 1, since });
      return s.kill;
    },
    expect: "taken",
  },
  {
    name: "other machine, heartbeat fresh",
    setup: (_, path) => writeLock(path, { host: "node-b", pid: 1, since, osLock: true }),
    expect: "running elsewhere",
  },
  {
    name: "other machine, heartbeat older than LOCK_STALE_SECONDS",
    setup: (_, path) => writeLock(path, { host: "node-b", pid: 1, since, osLock: true }, OLD),
    expect: "taken",
  },
  {
    name: "other machine whose pid is dead here: still by heartbeat",
    setup: (_, path) => writeLock(path, { host: "node-b", pid: 2 ** 30, since }, 10),
    expect: "running elsewhere",
  },
  {
    name: "holder's machine unknown, heartbeat fresh",
    setup: (_, path) => writeLock(path, { host: null, pid: 2 ** 30, since }),
    expect: "running elsewhere",
  },
  {
    name: "this machine's name unknown (no permission): a dead holder waits for the heartbeat",
    setup: async (out) => await (await holderProcess(out, "job")).kill(),
    host: null,
    expect: "running elsewhere",
  },
  {
    name: "this machine's name unknown, heartbeat old",
    setup: (_, path) => writeLock(path, { host: HOST, pid: 2 ** 30, since }, OLD),
    host: null,
    expect: "taken",
  },
  {
    name: "unreadable lock file, fresh",
    setup: (_, path) => writeLock(path, "{ half a lock"),
    expect: "running elsewhere",
  },
  {
    name: "unreadable lock file, old",
    setup: (_, path) => writeLock(path, "", OLD),
    expect: "taken",
  },
];

/** A file system without hard links: every link fails as on such a file system. */
const noLinks = () => Promise.reject(new Deno.errors.NotSupported("hard links not supported"));

Deno.test({
  name: "job locks: live holders keep the job, dead or stale ones lose it (table, with and " +
    "without hard links)",
  ignore: Deno.build.os !== "linux" || HOST === null,
  fn: async () => {
    for (const [row, links] of ROWS.flatMap((r) => [[r, true], [r, false]] as const)) {
      const out = await Deno.makeTempDir();
      await Deno.mkdir(`${out}/runs`);
      const path = `${out}/runs/job.lock`;
      const cleanup = await row.setup(out, path);
      const r = await lockJob(out, "job", {
        ...(row.host === undefined ? {} : { host: row.host }),
        ...(links ? {} : { link: noLinks }),
      });
      const name = `${row.name}${links ? "" : " (no hard links)"}`;
      assertEquals("lock" in r ? "taken" : "running elsewhere", row.expect, name);
      if ("lock" in r) {
        const holder = JSON.parse(await Deno.readTextFile(path));
        assertEquals(
          [holder.pid, holder.host, holder.osLock],
          [Deno.pid, row.host === undefined ? HOST : row.host, true],
          `${name}: the lock names its new holder`,
        );
        await r.lock.release();
        await r.lock.release();
        assertEquals(await Deno.stat(path).then(() => true, () => false), false, name);
      }
      if (cleanup) await cleanup();
      const left = [];
      for await (const e of Deno.readDir(`${out}/runs`)) left.push(e.name);
      assertOk(left.every((n) => n === "job.lock"), `${name}: no temporary files: ${left}`);
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("job locks: of five takers of one stale lock exactly one wins; released locks free", async () => {
  const out = await Deno.makeTempDir();
  await Deno.mkdir(`${out}/runs`);
  await writeLock(`${out}/runs/job.lock`, { host: "node-b", pid: 7, since }, OLD);
  const all = await Promise.all(Array.from({ length: 5 }, () => lockJob(out, "job")));
  const winners = all.filter((r) => "lock" in r);
  assertEquals(winners.length, 1);
  // the same without hard links, on a fresh job: five takers at once, one wins
  const fresh = await Promise.all(
    Array.from({ length: 5 }, () => lockJob(out, "fresh", { link: noLinks })),
  );
  assertEquals(fresh.filter((r) => "lock" in r).length, 1, "without hard links");
  for (const r of fresh) if ("lock" in r) await r.lock.release();
  const other = await lockJob(out, "other");
  assertOk("lock" in other, "locks are per job");
  for (const r of [...winners, other]) if ("lock" in r) await r.lock.release();
  assertOk(
    "lock" in await lockJob(out, "job").then(async (r) => {
      if ("lock" in r) await r.lock.release();
      return r;
    }),
    "free again after release",
  );
  await Deno.remove(out, { recursive: true });
});
