/**
 * One writer per folder. The lock is SQLite's own write lock (a POSIX record lock, which SQLite
 * relies on wherever it is safe to use, NFS with locking included) on `<name>` in the folder,
 * held for as long as the writer lives: the kernel drops it when the process dies, even by
 * kill -9, so a dead holder's lock is taken over by the next writer with no race and no
 * guessing from pids. Who holds it is written beside it (`<name>.holder`, JSON), so a second
 * writer can say which pid on which host it is waiting for.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fail } from '../core/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { processAlive } from './leftovers.ts';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  what: string;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined; // not written yet, or being replaced
  }
}

export class FolderLock {
  private constructor(
    private readonly db: Database.Database,
    private readonly holderPath: string,
    /** The holder this lock was taken over from (a process that died holding it), if any. */
    readonly tookOverFrom: LockHolder | undefined,
  ) {}

  /** The folder's lock, or E_LOCKED naming the pid and host that hold it. */
  static acquire(dir: string, what: string, name = 'build.lock'): FolderLock {
    const path = join(dir, name);
    const holderPath = `${path}.holder`;
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 0 });
    } catch (e) {
      fail('E_STORE', `cannot open the lock ${path}: ${(e as Error).message}`);
    }
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      db.close();
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') fail('E_STORE', `cannot take the lock ${path}: ${(e as Error).message}`);
      const h = readHolder(holderPath);
      const who = h ? `pid ${h.pid} on ${h.host} (${h.what}, since ${h.since})` : 'another process (it has not written its pid yet)';
      const hint =
        h && h.host === hostname()
          ? `wait for it to finish, or stop it (kill ${h.pid}); a lock of a process that died is taken over by itself`
          : 'wait for it to finish or stop it there; a lock of a process that died is released by the file system';
      fail('E_LOCKED', `${dir} is being written by ${who}`, hint);
    }
    const previous = existsSync(holderPath) ? readHolder(holderPath) : undefined;
    const stale = previous && !(previous.host === hostname() && previous.pid === process.pid) ? previous : undefined;
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what };
    writeFileAtomic(holderPath, `${JSON.stringify(me)}\n`);
    return new FolderLock(db, holderPath, stale);
  }

  /** A line for the log when the lock came from a process that had died, else undefined. */
  takeOverNote(): string | undefined {
    const h = this.tookOverFrom;
    if (!h) return undefined;
    const gone = h.host === hostname() ? (processAlive(h.pid) ? ' (that pid now belongs to another process)' : ' (no longer running)') : '';
    return `took over the lock left by pid ${h.pid} on ${h.host}${gone}`;
  }

  /** The holder file goes first, while the lock is still held: a next holder's file is never removed. */
  release(): void {
    if (!this.db.open) return;
    rmSync(this.holderPath, { force: true });
    this.db.exec('ROLLBACK');
    this.db.close();
  }
}
