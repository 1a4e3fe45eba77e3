#!/usr/bin/env node
// The `styleatlas` command. The Node.js check comes first (an unsupported Node gets E_NODE, not a
// crash in a native module); then tsx compiles the TypeScript sources on load.
import { exitUnlessSupportedNode } from '../pipeline/cli/node-version.mjs';

exitUnlessSupportedNode();
const { register } = await import('tsx/esm/api');
register();
const { runMain } = await import('../pipeline/cli/main.ts');
await runMain(process.argv.slice(2));
