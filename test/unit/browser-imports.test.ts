/**
 * The site's browser scripts share the pipeline's maths; everything they reach must be free of
 * Node built-ins (node:fs, node:path, …), or the browser bundle breaks at run time.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers/bundles.ts';

function scripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? scripts(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Every module reachable from `entry` through relative imports (type-only imports excluded), with what it imports. */
function reachable(entries: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const todo = [...entries];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    const src = readFileSync(file, 'utf8');
    const specs = [...src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith('.') && s.endsWith('.ts')) todo.push(resolve(dirname(file), s));
  }
  return seen;
}

it('site scripts reach no Node built-in through the pipeline modules they share', () => {
  const graph = reachable(scripts(join(REPO, 'site', 'src', 'scripts')));
  const shared = [...graph.keys()].filter((f) => f.includes(`${join(REPO, 'pipeline')}`));
  expect(shared.length).toBeGreaterThan(5); // the site really does share the pipeline's code
  const offenders = [...graph].flatMap(([file, specs]) => specs.filter((s) => s.startsWith('node:')).map((s) => `${file.slice(REPO.length)} imports ${s}`));
  expect(offenders).toEqual([]);
});
