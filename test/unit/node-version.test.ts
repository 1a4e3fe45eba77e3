import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_NODE_RANGE, nodeVersionProblem, nodeVersionReport } from '../../pipeline/cli/node-version.mjs';
import { REPO } from '../helpers/bundles.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));

describe('supported Node.js versions', () => {
  it('accepts 22.19 up to the last 26.x, and refuses what lies outside', () => {
    for (const v of ['v22.19.0', 'v22.23.3', '22.19.1', 'v23.11.0', 'v24.0.0', 'v24.21.0', 'v26.10.0', 'v26.99.99']) {
      expect(nodeVersionProblem(v), v).toBeUndefined();
    }
    expect(nodeVersionProblem('v20.20.2')).toMatch(/^Node\.js 20\.20\.2 is older than StyleAtlas supports; it needs Node\.js >=22\.19\.0 <27/);
    expect(nodeVersionProblem('v22.18.9')).toMatch(/^Node\.js 22\.18\.9 is older/);
    expect(nodeVersionProblem('v22.9.0')).toMatch(/^Node\.js 22\.9\.0 is older/);
    expect(nodeVersionProblem('v21.99.99')).toMatch(/is older/);
    expect(nodeVersionProblem('v8.17.0')).toMatch(/is older/);
    expect(nodeVersionProblem('v27.0.0')).toMatch(/^Node\.js 27\.0\.0 is newer than StyleAtlas has been tested on/);
    expect(nodeVersionProblem('nonsense')).toMatch(/cannot read the Node\.js version "nonsense"/);
  });

  it('the report is a coded error that says how to get a supported Node', () => {
    const r = nodeVersionReport('Node.js 20.20.2 is older than StyleAtlas supports');
    expect(r).toMatch(/^E_NODE: Node\.js 20\.20\.2 is older/);
    expect(r).toContain('npx styleatlas');
    expect(r).toContain('docs/runtime.md');
  });

  it('package.json engines, the pinned runtime and the check agree', () => {
    expect(pkg.engines.node).toBe(SUPPORTED_NODE_RANGE);
    // The runtime that `npm ci` puts in node_modules/.bin (npm run, npx) must itself be supported,
    // pinned exactly, and its install script the one that allowScripts approves.
    const pinned = pkg.devDependencies.node;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(nodeVersionProblem(pinned)).toBeUndefined();
    expect(Object.entries(pkg.allowScripts).filter(([, allowed]) => allowed)).toEqual([['node', true]]);
  });
});
