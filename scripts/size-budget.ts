/**
 * The size budget (STYLE: files under ~250 lines): lists the tracked source files over the
 * budget, and fails when one of them does not say why in its header — a line with
 * "size budget:" in its first 20 lines. CI runs it (.ci/run); test/unit/size-budget.test.ts too.
 *
 *   node bin/run-ts.mjs scripts/size-budget.ts
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUDGET_LINES = 250;
const SOURCE = /\.(ts|mjs|astro|py|sh)$/;
const REASON = /size budget:/i;

export interface LongFile {
  path: string;
  lines: number;
  /** The header's reason, or undefined when it gives none. */
  reason?: string;
}

/** Files of `paths` (relative to `root`) over the budget, longest first, with their header's reason. */
export function longFiles(root: string, paths: readonly string[]): LongFile[] {
  const out: LongFile[] = [];
  for (const path of paths.filter((p) => SOURCE.test(p))) {
    const text = readFileSync(join(root, path), 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines <= BUDGET_LINES) continue;
    const reason = text.split('\n').slice(0, 20).find((l) => REASON.test(l));
    out.push({ path, lines, reason: reason?.slice(reason.search(REASON) + 'size budget:'.length).trim() });
  }
  return out.sort((a, b) => b.lines - a.lines || a.path.localeCompare(b.path));
}

export function trackedFiles(root: string): string[] {
  return execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const long = longFiles(root, trackedFiles(root));
  console.log(`size budget: ${long.length} source file${long.length === 1 ? '' : 's'} over ${BUDGET_LINES} lines`);
  for (const f of long) console.log(`  ${String(f.lines).padStart(5)}  ${f.path}  ${f.reason ? `— ${f.reason}` : '— NO REASON in its header'}`);
  if (long.some((f) => !f.reason)) {
    console.error(`size budget: give each file above a "size budget: <why>" line in its header, or split it`);
    process.exitCode = 1;
  }
}
