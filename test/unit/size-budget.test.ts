import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BUDGET_LINES, longFiles, trackedFiles } from '../../scripts/size-budget.ts';
import { REPO } from '../helpers/bundles.ts';

it('finds files over the budget and reads the reason in their header', () => {
  const dir = mkdtempSync(join(tmpdir(), 'styleatlas-size-'));
  const body = (n: number) => Array.from({ length: n }, (_, i) => `const x${i} = ${i};`).join('\n');
  writeFileSync(join(dir, 'short.ts'), `${body(BUDGET_LINES)}\n`);
  writeFileSync(join(dir, 'long.ts'), `${body(BUDGET_LINES + 1)}\n`);
  writeFileSync(join(dir, 'why.ts'), `/** A table. Size budget: one table, read top to bottom. */\n${body(300)}\n`);
  expect(longFiles(dir, ['short.ts', 'long.ts', 'why.ts', 'notes.md'])).toEqual([
    { path: 'why.ts', lines: 301, reason: 'one table, read top to bottom. */' },
    { path: 'long.ts', lines: BUDGET_LINES + 1, reason: undefined },
  ]);
});

it('every tracked source file over the budget says why in its header', () => {
  const missing = longFiles(REPO, trackedFiles(REPO)).filter((f) => !f.reason);
  expect(missing.map((f) => `${f.path} (${f.lines} lines)`)).toEqual([]);
});
