// The text-embedding cache has one spelling in every command that encodes prompts.
import { describe, expect, it } from 'vitest';
import { renderUsage } from '../../pipeline/cli/command.ts';
import type { CliIO } from '../../pipeline/cli/command.ts';
import { commands } from '../../pipeline/cli/commands/index.ts';
import { textCachePath } from '../../pipeline/cli/text-cache-options.ts';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { thrownBy } from '../helpers/errors.ts';

const named = (name: string) => commands.find((c) => c.path.join(' ') === name)!;
const io: CliIO = { out: () => {}, err: () => {}, isTTY: false, env: {}, cwd: '/nowhere' };

/** Enough of each command's required options that it reaches the cache options; nothing is read. */
const ARGS: Record<string, Record<string, string>> = {
  'delta-t': { encoder: '/nowhere/enc', neutral: 'face', target: 'smiling face' },
  catalogue: { build: '/nowhere/build', prompts: '/nowhere/prompts.json' },
  edit: { build: '/nowhere/build', neutral: 'face', target: 'smiling face', out: '/nowhere/x.png' },
};

describe('--text-cache FILE / --no-cache', () => {
  it('are the cache options of exactly delta-t, catalogue and edit, and each --help lists both', () => {
    const withCache = commands.filter((c) => Object.keys(c.options).some((k) => k.includes('cache') && k !== 'cache-dir'));
    expect(withCache.map((c) => c.path.join(' ')).sort()).toEqual(['catalogue', 'delta-t', 'edit']);
    for (const c of withCache) {
      const help = renderUsage(c);
      expect(help, c.path.join(' ')).toMatch(/^ {2}--text-cache FILE\n {20}text-embedding cache \(default data\/cache\/text-embeddings\.sqlite\)$/m);
      expect(help, c.path.join(' ')).toMatch(/^ {2}--no-cache {8}neither read nor write/m);
      expect(help, c.path.join(' ')).not.toMatch(/--cache /);
    }
  });

  it.each(Object.keys(ARGS))('%s refuses the old --cache FILE with E_USAGE naming --text-cache, before any work', async (name) => {
    const err = await named(name).run({ values: { ...ARGS[name], cache: 'x.sqlite' }, positionals: [], io }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StyleAtlasError);
    expect((err as StyleAtlasError).code).toBe('E_USAGE');
    expect((err as StyleAtlasError).message).toBe('--cache is now --text-cache FILE (one spelling in every command)');
  });

  it('resolve against the working folder, refuse both at once, and --no-cache means none', () => {
    expect(textCachePath({}, { cwd: '/w' })).toBe('/w/data/cache/text-embeddings.sqlite');
    expect(textCachePath({ 'text-cache': 'c.sqlite' }, { cwd: '/w' })).toBe('/w/c.sqlite');
    expect(textCachePath({ 'no-cache': true }, { cwd: '/w' })).toBeUndefined();
    const e = thrownBy(() => textCachePath({ 'no-cache': true, 'text-cache': 'c.sqlite' }, { cwd: '/w' }));
    expect([e.code, e.message]).toEqual(['E_USAGE', 'give --text-cache FILE or --no-cache, not both']);
  });
});
