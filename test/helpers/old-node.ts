/**
 * A Node.js below the supported floor, to show that the entry points refuse it with E_NODE.
 * STYLEATLAS_TEST_OLD_NODE names one (.ci/run fetches node@20 from the npm registry);
 * otherwise the system's /usr/bin/node, which is Node 20 on the machines this project targets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nodeVersionProblem } from '../../pipeline/cli/node-version.mjs';

export function oldNode(): { path: string; version: string } {
  const path = process.env.STYLEATLAS_TEST_OLD_NODE || '/usr/bin/node';
  const how = 'set STYLEATLAS_TEST_OLD_NODE to a Node.js below 22.19 (docs/runtime.md: fetching a runtime from the npm registry, e.g. node@20)';
  if (!existsSync(path)) throw new Error(`no Node.js at ${path}; ${how}`);
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (nodeVersionProblem(version) === undefined) throw new Error(`${path} is Node.js ${version}, which is supported; ${how}`);
  return { path, version };
}
