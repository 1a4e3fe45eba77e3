/**
 * The text-embedding cache options, one spelling in every command that encodes prompts (delta-t,
 * catalogue, edit): `--text-cache FILE` or `--no-cache`. The old `--cache` of delta-t is refused
 * with the new name rather than read, so no script keeps a spelling that other commands reject.
 */
import { resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import { DEFAULT_TEXT_CACHE } from '../store/text-cache.ts';
import { flag, str } from './args.ts';
import type { CliIO, CommandContext, OptionSpec } from './command.ts';

export const textCacheOptionSpec: OptionSpec = {
  'text-cache': { type: 'string' },
  'no-cache': { type: 'boolean' },
  // Parsed only to be refused by name (textCachePath).
  cache: { type: 'string' },
};

export const textCacheOptionHelp = `  --text-cache FILE
                    text-embedding cache (default ${DEFAULT_TEXT_CACHE})
  --no-cache        neither read nor write the text-embedding cache`;

/** The cache file the options name, resolved against the working folder; undefined for --no-cache. */
export function textCachePath(values: CommandContext['values'], io: Pick<CliIO, 'cwd'>): string | undefined {
  if (values.cache !== undefined) {
    fail('E_USAGE', '--cache is now --text-cache FILE (one spelling in every command)', 'give --text-cache FILE, or --no-cache to use none');
  }
  const file = str(values, 'text-cache');
  if (flag(values, 'no-cache') && file !== undefined) fail('E_USAGE', 'give --text-cache FILE or --no-cache, not both');
  return flag(values, 'no-cache') ? undefined : resolve(io.cwd, file ?? DEFAULT_TEXT_CACHE);
}
