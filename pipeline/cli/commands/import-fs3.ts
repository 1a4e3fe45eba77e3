import { resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { importFs3 } from '../../stages/fs3-import.ts';
import { flag, int, num, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';
import { progressPrinter } from '../progress.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';
import { RELEVANCE_DEFAULTS } from '../../stages/relevance-plan.ts';

export default defineCommand({
  path: ['import', 'fs3'],
  summary: 'turn an existing reference fs3.npy (+ S_mean_std) into a StyleAtlas build',
  usage: '<fs3.npy> --generator DIR --encoder DIR --out DIR [--stats S_mean_std] [--psi X] [--force]',
  details: `Makes a build folder (build.sqlite, relevance.arrow, fs3.npy) from an fs3.npy computed with
the StyleCLIP reference code (or HyperStyle's), so it can be catalogued, browsed and downloaded like
a build StyleAtlas measured. The rows must belong to the generator bundle given: their count says
which channels they are (the reference's conv layers up to 128², every conv layer, or every layer).
Effect and consistency are not in an fs3 file; they are published as NaN. The build's config
records both files' names and sha256. Nothing is written on failure.

  <fs3.npy>            float32 [C, D], unit rows
  --generator DIR      the generator bundle the file was computed for (e.g. import the same .pkl/.pt)
  --encoder DIR        the CLIP it was measured with (D must match)
  --out DIR            the build folder to create
  --stats FILE         the reference's S_mean_std (pickle of [m, std]); without it μ, σ are
                       computed over --stats-samples seeded samples at --psi
  --psi X              truncation ψ of the build's seeded samples and computed statistics
                       (default ${RELEVANCE_DEFAULTS.psi}, the reference's)
  --stats-samples M    (default ${RELEVANCE_DEFAULTS.statsSamples}) and --stats-seed S (default ${RELEVANCE_DEFAULTS.statsSeed})
  --force              replace an existing --out folder
  --quiet              no progress output
${runtimeOptionHelp}

See docs/reference-files.md.`,
  options: {
    generator: { type: 'string' }, encoder: { type: 'string' }, out: { type: 'string' }, stats: { type: 'string' },
    psi: { type: 'string' }, 'stats-samples': { type: 'string' }, 'stats-seed': { type: 'string' },
    force: { type: 'boolean' }, quiet: { type: 'boolean' }, ...runtimeOptionSpec,
  },
  positionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) fail('E_USAGE', `expected one fs3.npy file, got ${positionals.length}`, 'styleatlas import fs3 --help');
    const quiet = flag(values, 'quiet');
    const printer = progressPrinter(io, { quiet });
    const stats = str(values, 'stats');
    const r = await importFs3({
      fs3File: resolve(io.cwd, positionals[0]),
      statsFile: stats === undefined ? undefined : resolve(io.cwd, stats),
      generatorDir: resolve(io.cwd, requireStr(values, 'generator')),
      encoderDir: resolve(io.cwd, requireStr(values, 'encoder')),
      outDir: resolve(io.cwd, requireStr(values, 'out')),
      psi: num(values, 'psi', RELEVANCE_DEFAULTS.psi, [0, 2]),
      statsSamples: int(values, 'stats-samples', RELEVANCE_DEFAULTS.statsSamples, [2, 1e9]),
      statsSeed: int(values, 'stats-seed', RELEVANCE_DEFAULTS.statsSeed, [0, 2 ** 31]),
      runtime: runtimeOptions(values),
      force: flag(values, 'force'),
      onProgress: printer.onProgress,
      log: quiet ? undefined : (m) => io.err(m),
    });
    printer.finish();
    io.out(r.outDir);
  },
});
