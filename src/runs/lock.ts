/**
 * One writer per run directory. A lock file made with O_EXCL holds the
 * owner's pid, host and start time; a lock whose process is gone (same host,
 * no such pid) is stale and taken over; any other is refused with a message
 * that says who holds it.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

/** What a lock file holds: the owner's pid and host, and when it took the lock (ISO time). */
export interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** Whether a process recorded on this host still runs (on another host it cannot be told, so it counts as alive). */
export function processAlive(pid: number | undefined, host: string | undefined): boolean {
  if (pid === undefined || host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined; // being written this instant, or torn by a crash: judged on the next try
  }
}

/** Held by this process until release(); also released when the process exits. */
export class RunLock {
  #released = false;
  readonly #onExit = () => this.release();

  private constructor(readonly path: string) {
    process.once('exit', this.#onExit);
  }

  /** Takes the lock at path for `what` (named in the error), or throws saying who holds it. */
  static acquire(path: string, what: string): RunLock {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
        writeSync(fd, JSON.stringify(owner));
        closeSync(fd);
        return new RunLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = readOwner(path);
      if (owner !== undefined && processAlive(owner.pid, owner.host)) {
        throw new Error(
          `${what} is in use by process ${owner.pid} on ${owner.host} (since ${owner.since}): ` +
            'wait for it to finish or stop it; one process writes a run at a time',
        );
      }
      if (owner !== undefined) rmSync(path, { force: true }); // stale: its process is gone
    }
    throw new Error(`${what}: could not take the lock ${path}; if no skipstudio process uses it, delete that file`);
  }

  /** Deletes the lock file; calling it again does nothing. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    process.removeListener('exit', this.#onExit);
    rmSync(this.path, { force: true });
  }
}
