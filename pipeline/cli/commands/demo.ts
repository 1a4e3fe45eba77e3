import { join } from 'node:path';
import { type CliIO, type Command, defineCommand } from '../command.ts';
import modelsBuild from './models-build.ts';
import render from './render.ts';

/** Run another command in-process, as if typed. */
async function sub(io: CliIO, c: Command, values: Record<string, string>, positionals: string[] = []): Promise<void> {
  await c.run({ values, positionals, io });
}

export default defineCommand({
  path: ['demo'],
  summary: 'the whole job on the embedded tiny models: build them and render samples',
  usage: '[--out-dir DIR]',
  details: `Builds the bundled tiny models (random weights, real architectures; nothing is downloaded)
and renders a contact sheet of generator samples. Re-running skips finished work.

  --out-dir DIR   where outputs go (default: data/build/demo)`,
  options: { 'out-dir': { type: 'string' } },
  async run({ values, io }) {
    const outDir = typeof values['out-dir'] === 'string' ? values['out-dir'] : join(io.cwd, 'data', 'build', 'demo');
    await sub(io, modelsBuild, {});
    await sub(io, render, { generator: join(io.cwd, 'models', 'tiny'), seeds: '0-15', out: join(outDir, 'samples.png') });
  },
});
