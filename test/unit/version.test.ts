import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { TOOL_VERSION, VERSION } from '../../pipeline/version.ts';

it('the version module and package.json name the same version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(VERSION).toBe(pkg.version);
  expect(TOOL_VERSION).toBe(`styleatlas ${pkg.version}`);
});
