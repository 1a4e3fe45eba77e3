/**
 * What killed writers leave behind, found by the pid in its name: `<name>.tmp-<pid>-*` (an output
 * being written) and `<name>.old-<pid>-*` (the previous output, moved aside a moment before the new
 * one moved in). A kill -9 runs no clean-up code, so the next writer of the same output does it.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Whether a pid on this host is a running process. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in `<prefix><pid>-…`, if `name` has that shape and the pid is another, dead process. */
export function deadPid(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid) ? pid : undefined;
}

/** Remove the entries of `dir` named `<prefix><pid>-…` whose pid is dead. */
export function removeDeadEntries(dir: string, prefix: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (deadPid(name, prefix) === undefined) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Tidy what dead writers left beside `path`: their temporaries go; a previous output they had moved
 * aside is put back when nothing is at `path` (they died between the two renames of a swap), and
 * removed otherwise.
 */
export function recoverSiblings(path: string): void {
  const parent = dirname(path);
  removeDeadEntries(parent, `${basename(path)}.tmp-`);
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    if (deadPid(name, `${basename(path)}.old-`) === undefined) continue;
    if (existsSync(path)) rmSync(join(parent, name), { recursive: true, force: true });
    else renameSync(join(parent, name), path);
  }
}
