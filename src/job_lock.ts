/**
 * The lock of one sweep job, `runs/<hash>.lock`: two processes (an array task started twice, a
 * second shell on the same shard, a sweep restarted after a kill) never run the same job at once,
 * and a lock left behind by a killed process never keeps a restarted sweep from its jobs. Deno only.
 *
 * The lock file holds its holder as JSON: `host` (the machine's name, null when not readable),
 * `pid`, `start` (the process's start time in clock ticks since boot from `/proc/<pid>/stat`, null
 * where there is no /proc), `since` (ISO time) and `osLock`. Its holder keeps an exclusive OS lock
 * (flock; `osLock` says whether the file system gave one) on the file for as long as it lives, and
 * touches its modification time every minute (heartbeat).
 *
 * A lock found in place is stale, and taken over, when
 * - its host is this machine's and its holder is gone: the OS lock can be taken (the kernel drops a
 *   dead process's locks, whatever its pid namespace, so a reused pid never fools it); where the
 *   file system has no such locks, `/proc/<pid>` is absent or belongs to a process started at
 *   another time, or else `Deno.kill(pid, 0)` finds no process (with `--allow-run`);
 * - it comes from another machine, or its host is unknown, and its heartbeat is older than
 *   {@linkcode LOCK_STALE_SECONDS} (OS locks on a shared file system need not reach other machines).
 *
 * Anything else is a live lock: the job is "running elsewhere", which is not a failure.
 * @module
 */

/** Seconds after which a lock from another machine whose holder stopped refreshing it is stale. */
export const LOCK_STALE_SECONDS = 300;

/** Seconds between the heartbeats of a held lock (well below {@linkcode LOCK_STALE_SECONDS}). */
const HEARTBEAT_SECONDS = 60;

/** Who holds a job lock, as written in the lock file. */
export interface LockHolder {
  /** The holder's machine name; null when it could not be read (no permission). */
  host: string | null;
  /** Its process id on that machine. */
  pid: number;
  /** Its start time in clock ticks since boot (`/proc/<pid>/stat`), null where unknown. */
  start: number | null;
  /** When the lock was taken (ISO 8601). */
  since: string;
  /** Whether the holder holds an OS lock (flock) on the file; false where the file system has none. */
  osLock: boolean;
}

/** A lock taken: {@linkcode JobLock.release} frees it (idempotent). */
export interface JobLock {
  /** The lock file. */
  path: string;
  /** Stops the heartbeat, removes the file (if it is still this lock) and drops the OS lock. */
  release(): Promise<void>;
}

/** The outcome of {@linkcode lockJob}: the lock, or who holds it (null: unreadable lock file). */
export type LockOutcome = { lock: JobLock } | { heldBy: LockHolder | null };

/** Options of {@linkcode lockJob}, for tests: this machine's name, the staleness threshold. */
export interface LockOptions {
  /** This machine's name [default: {@linkcode thisHost}]. */
  host?: string | null;
  /** Heartbeat age after which another machine's lock is stale [default: LOCK_STALE_SECONDS]. */
  staleSeconds?: number;
  /** Makes a hard link [default: `Deno.link`]; a file system without hard links makes it throw
   * (anything but AlreadyExists), and the lock file is then created in place. */
  link?: (target: string, path: string) => Promise<void>;
}

const granted = (d: Deno.PermissionDescriptor) => Deno.permissions.querySync(d).state === "granted";

/**
 * This machine's name: `Deno.hostname()` with `--allow-sys=hostname`, else `/etc/hostname` when it
 * may be read, else null (locks then rely on the heartbeat alone).
 */
export function thisHost(): string | null {
  try {
    if (granted({ name: "sys", kind: "hostname" })) return Deno.hostname();
    if (granted({ name: "read", path: "/etc/hostname" })) {
      return Deno.readTextFileSync("/etc/hostname").trim() || null;
    }
  } catch { /* no such file: unknown */ }
  return null;
}

/** A process's start time in clock ticks since boot, from /proc; null where unreadable. */
function procStart(pid: number | "self"): number | null {
  const file = `/proc/${pid}/stat`;
  try {
    if (!granted({ name: "read", path: file })) return null;
    const text = Deno.readTextFileSync(file);
    const start = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[19]);
    return Number.isSafeInteger(start) ? start : null;
  } catch {
    return null;
  }
}

/**
 * Whether a process of this machine is alive without asking its OS lock: true, false, or null
 * when nothing here can tell (no /proc readable and no `--allow-run`).
 */
function processAlive(h: LockHolder): boolean | null {
  if (h.pid === Deno.pid) return true;
  if (granted({ name: "read", path: "/proc" })) {
    try {
      Deno.statSync("/proc/self"); // /proc is mounted here
      const start = procStart(h.pid);
      return start !== null && (h.start === null || start === h.start);
    } catch { /* no /proc on this system */ }
  }
  if (granted({ name: "run" })) {
    try {
      Deno.kill(h.pid, 0);
      return true;
    } catch (e) {
      return !(e instanceof Deno.errors.NotFound);
    }
  }
  return null;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text);
    if (!Number.isSafeInteger(h?.pid)) return null;
    return {
      host: typeof h.host === "string" ? h.host : null,
      pid: h.pid,
      start: Number.isSafeInteger(h.start) ? h.start : null,
      since: String(h.since ?? ""),
      osLock: h.osLock === true,
    };
  } catch {
    return null;
  }
}

/**
 * Creates the lock file holding `me` with its OS lock already taken (recorded in `osLock`), or
 * returns null if a lock file exists.
 */
async function create(
  path: string,
  me: Omit<LockHolder, "osLock">,
  link: (target: string, path: string) => Promise<void>,
): Promise<Deno.FsFile | null> {
  const text = (osLock: boolean) => JSON.stringify({ ...me, osLock }) + "\n";
  const enc = new TextEncoder();
  // Written and locked under a private name first, then linked into place: no other process ever
  // sees the lock file empty or without its OS lock.
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { read: true, write: true, createNew: true });
  try {
    await file.write(enc.encode(text(await file.tryLock(true).catch(() => false))));
    try {
      await link(tmp, path);
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) {
        file.close();
        return null;
      }
      // No hard links on this file system: create in place (a moment without the OS lock).
      const direct = await Deno.open(path, { read: true, write: true, createNew: true }).catch(
        (e2) => {
          if (e2 instanceof Deno.errors.AlreadyExists) return null;
          throw e2;
        },
      );
      file.close();
      if (!direct) return null;
      await direct.write(enc.encode(text(await direct.tryLock(true).catch(() => false))));
      return direct;
    }
    return file;
  } catch (e) {
    file.close();
    throw e;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

const ageSeconds = (mtime: Date | null) => mtime ? (Date.now() - mtime.getTime()) / 1000 : 0;

/** The whole content of an open file, from its start. */
async function readAll(file: Deno.FsFile): Promise<string> {
  await file.seek(0, Deno.SeekMode.Start);
  const dec = new TextDecoder();
  const buf = new Uint8Array(4096);
  let text = "";
  for (let n; (n = await file.read(buf)) !== null;) {
    text += dec.decode(buf.subarray(0, n), { stream: true });
  }
  return text + dec.decode();
}

/**
 * Takes the lock of job `hash` in the sweep folder `out` (`out/runs/<hash>.lock`; `out/runs` must
 * exist): `{ lock }` on success, else `{ heldBy }`, the live holder ("running elsewhere"). A stale
 * lock (see the module documentation) is taken over in place, under its OS lock, so of several
 * processes taking it over at once one wins. Needs read and write access to the folder;
 * `--allow-sys=hostname` (or read access to /etc/hostname) lets a dead holder on this machine be
 * recognised at once rather than after {@linkcode LOCK_STALE_SECONDS}.
 */
export async function lockJob(
  out: string,
  hash: string,
  opts: LockOptions = {},
): Promise<LockOutcome> {
  const path = `${out}/runs/${hash}.lock`;
  const host = opts.host === undefined ? thisHost() : opts.host;
  const staleSeconds = opts.staleSeconds ?? LOCK_STALE_SECONDS;
  const me = { host, pid: Deno.pid, start: procStart("self"), since: new Date().toISOString() };
  let holder: LockHolder | null = null;
  for (let attempt = 0; attempt < 4; attempt++) {
    const created = await create(path, me, opts.link ?? Deno.link);
    if (created) return { lock: held(path, created, me) };
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // released meanwhile
      throw e;
    }
    let keep = false;
    try {
      // true: its holder is gone (or never had one) and we hold it now; false: a live process
      // holds it (this one too, through another open file); null: no OS locks here
      const osFree = await file.tryLock(true).catch(() => null);
      const seen = await readAll(file);
      holder = parseHolder(seen);
      if (osFree === false) break;
      const info = await file.stat();
      const now = await Deno.stat(path).catch(() => null);
      if (!now || (info.ino !== null && now.ino !== info.ino)) continue; // replaced meanwhile
      let stale: boolean | null = null;
      if (holder && host !== null && holder.host === host) {
        stale = holder.osLock && osFree
          ? true
          : ((x) => x === null ? null : !x)(processAlive(holder));
      }
      stale ??= ageSeconds(info.mtime) > staleSeconds;
      if (!stale) break;
      // without OS locks, a last look narrows the window in which two takers both win
      if (osFree === null && (await readAll(file)) !== seen) continue;
      await file.truncate(0);
      await file.seek(0, Deno.SeekMode.Start);
      await file.write(
        new TextEncoder().encode(JSON.stringify({ ...me, osLock: !!osFree }) + "\n"),
      );
      const t = new Date();
      await Deno.utime(path, t, t);
      keep = true;
      return { lock: held(path, file, me) };
    } finally {
      if (!keep) file.close();
    }
  }
  return { heldBy: holder };
}

/** A lock taken: heartbeat, and a release that removes the file only while it still names us. */
function held(path: string, file: Deno.FsFile, me: Omit<LockHolder, "osLock">): JobLock {
  const beat = setInterval(() => {
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }, HEARTBEAT_SECONDS * 1000);
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      try {
        const h = parseHolder(await readAll(file));
        // remove the file first, then drop the OS lock (closing): a process that opened the old
        // file in between finds it replaced when it checks
        if (h && h.pid === me.pid && h.since === me.since && h.host === me.host) {
          await Deno.remove(path);
        }
      } catch { /* already gone */ }
      file.close();
    },
  };
}
