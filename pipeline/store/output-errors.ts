/**
 * What the file system says when an output cannot be written, as coded errors that name the path
 * and say what to do: a full disk (ENOSPC, and SQLite's "database or disk is full"), a folder the
 * user may not write, a read-only file system, a directory where a file goes, a file where a
 * folder goes.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fail, isStyleAtlasError } from '../core/errors.ts';

const REASONS: Readonly<Record<string, [string, string]>> = Object.freeze({
  ENOSPC: ['the disk is full', 'free some space on that disk, or write somewhere else'],
  SQLITE_FULL: ['the disk is full', 'free some space on that disk, or write somewhere else'],
  EDQUOT: ['the disk quota is used up', 'free some space, or write somewhere else'],
  EFBIG: ['the file is larger than this process may write (ulimit -f) or the file system holds', 'raise the limit, or write somewhere else'],
  EACCES: ['permission denied', 'choose a folder you may write to'],
  EPERM: ['permission denied', 'choose a folder you may write to'],
  SQLITE_READONLY: ['the database cannot be written (read-only file or folder)', 'choose a folder you may write to'],
  SQLITE_CANTOPEN: ['the database cannot be created or opened there', 'choose a folder you may write to'],
  EROFS: ['the file system is read-only', 'choose a folder on a writable disk'],
  EISDIR: ['it is a directory', 'give a file name, not a folder'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'choose a path whose folders are folders'],
  // What mkdir -p says on a read-only mount where the folder does not exist yet.
  ENOENT: ['a folder on the way cannot be created (a read-only or vanished mount?)', 'choose a folder on a writable disk'],
  // What mkdir -p says when a part of the path is a file.
  EEXIST: ['a part of the path is a file, not a folder', 'choose a path whose folders are folders'],
});

const FULL = new Set(['ENOSPC', 'SQLITE_FULL', 'EDQUOT', 'EFBIG']);

/** A write that failed for want of space (the file system's or SQLite's word for it). */
export function isDiskFull(e: unknown): boolean {
  return FULL.has((e as { code?: string })?.code ?? '');
}

/**
 * The coded error for a failed write of `path`, or `e` itself when it is not a write failure.
 * `hint` replaces the generic one (e.g. to say that a build resumes).
 */
export function outputError(e: unknown, path: string, hint?: string): unknown {
  if (isStyleAtlasError(e)) return e;
  const code = (e as { code?: unknown })?.code;
  const reason = typeof code === 'string' ? REASONS[code] : undefined;
  if (!reason) return e;
  try {
    fail('E_OUTPUT', `cannot write ${path}: ${reason[0]} (${code})`, hint ?? reason[1]);
  } catch (coded) {
    return coded;
  }
}

/** Refuse an output file path that is a directory, or whose folder is a file, before any work. */
export function checkOutputFile(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) fail('E_OUTPUT', `${path} is a directory, not a file`, 'give a file name, not a folder');
  const parent = dirname(path);
  if (existsSync(parent) && !statSync(parent).isDirectory()) fail('E_OUTPUT', `cannot write ${path}: ${parent} is a file, not a folder`, 'choose a path whose folders are folders');
}

/** Refuse an output folder path that is a file, before any work. */
export function checkOutputDir(path: string): void {
  if (existsSync(path) && !statSync(path).isDirectory()) fail('E_OUTPUT', `${path} is a file, not a folder`, 'give a folder for --out (a new one, or one this command wrote)');
  const parent = dirname(path);
  if (existsSync(parent) && !statSync(parent).isDirectory()) fail('E_OUTPUT', `cannot write ${path}: ${parent} is a file, not a folder`, 'choose a path whose folders are folders');
}
