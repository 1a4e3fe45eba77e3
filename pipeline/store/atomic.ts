/**
 * Outputs appear whole or not at all: written in a temporary sibling (`<path>.tmp-<pid>-…`), then
 * renamed into place. A failed write removes its temporary; a killed one leaves it, and the next
 * writer of the same folder output removes it (leftovers.ts).
 *
 * A folder that already exists is replaced by two renames (old → `<path>.old-<pid>-…`, new → path),
 * since Node has no renameat2(RENAME_EXCHANGE). If the second rename fails the old folder is put
 * back; if the process is killed between the two, the next writer puts it back before anything
 * else. So at every point either the previous output or the new one is whole at `path` or, for the
 * moment between two renames, whole beside it under a name the next run recognises.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { recoverSiblings } from './leftovers.ts';
import { checkOutputDir, outputError } from './output-errors.ts';

const suffix = () => `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

export function tempSibling(path: string): string {
  return `${path}.tmp-${suffix()}`;
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = tempSibling(path);
  let opened = false;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, 'w');
    opened = true;
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    if (opened) rmSync(tmp, { force: true });
    throw outputError(e, path);
  }
}

/**
 * Move the finished folder `ready` to `path`, replacing what is there only once `ready` is in
 * place; on failure `ready` is removed and the previous `path` is where it was.
 */
export function replaceDir(ready: string, path: string): void {
  const old = `${path}.old-${suffix()}`;
  let movedAside = false;
  try {
    if (existsSync(path)) {
      renameSync(path, old);
      movedAside = true;
    }
    renameSync(ready, path);
  } catch (e) {
    if (movedAside) renameSync(old, path);
    rmSync(ready, { recursive: true, force: true });
    throw outputError(e, path);
  }
  if (movedAside) rmSync(old, { recursive: true, force: true });
}

/**
 * A temporary sibling folder for a new version of `path`, after tidying what killed writers of
 * `path` left (their temporaries; a previous output moved aside and not yet put back).
 */
export function tempDirFor(path: string): string {
  checkOutputDir(path);
  const tmp = tempSibling(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    recoverSiblings(path);
    mkdirSync(tmp);
  } catch (e) {
    throw outputError(e, path);
  }
  return tmp;
}

/**
 * Build a directory in a temporary sibling and move it into place when `fill` succeeds.
 * An existing directory at `path` is replaced only after the new one is complete.
 */
export async function writeDirAtomic(path: string, fill: (tmpDir: string) => Promise<void> | void): Promise<void> {
  const tmp = tempDirFor(path);
  try {
    await fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw outputError(e, path);
  }
  replaceDir(tmp, path);
}
