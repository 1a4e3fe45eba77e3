/**
 * On a Node.js below the floor the entry points exit with E_NODE before anything native loads
 * (better-sqlite3 13 would segfault on Node 20): a coded error, status 1, no signal.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/bundles.ts';
import { oldNode } from '../helpers/old-node.ts';

const node = oldNode();

function run(args: string[]) {
  return spawnSync(node.path, args, { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
}

describe(`entry points on Node.js ${node.version}`, () => {
  for (const [name, args] of [
    ['styleatlas --help', [join(REPO, 'bin', 'styleatlas.mjs'), '--help']],
    // A command that would open SQLite and onnxruntime at once, were it allowed to start.
    ['styleatlas relevance', [join(REPO, 'bin', 'styleatlas.mjs'), 'relevance', '--generator', 'models/tiny', '--encoder', 'models/colour-world', '--out', join(REPO, 'test-artifacts', 'never')]],
    ['run-ts', [join(REPO, 'bin', 'run-ts.mjs'), 'scripts/bench.ts', '--help']],
  ] as const) {
    it(`${name} exits with E_NODE naming the version and how to get a supported one`, () => {
      const r = run([...args]);
      expect(r.signal).toBeNull();
      expect(r.status, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`E_NODE: Node.js ${node.version.replace(/^v/, '')} is older than StyleAtlas supports; it needs Node.js >=22.19.0 <27`);
      expect(r.stderr).toContain('npx styleatlas');
    });
  }
});
