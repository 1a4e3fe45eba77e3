#!/usr/bin/env node
// Runs a TypeScript script of this repository (benchmarks, fixture builders): node bin/run-ts.mjs FILE [ARGS…]
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { exitUnlessSupportedNode } from '../pipeline/cli/node-version.mjs';

exitUnlessSupportedNode();
const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bin/run-ts.mjs FILE.ts [ARGS…]');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(resolve(file)).href);
