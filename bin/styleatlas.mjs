#!/usr/bin/env node
// The `styleatlas` command. The sources are TypeScript; tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
const { runMain } = await import('../pipeline/cli/main.ts');
await runMain(process.argv.slice(2));
