import { resolve } from 'node:path';
import { describeExecution } from '../../models/devices.ts';
import { Generator } from '../../models/generator.ts';
import { runtimeExecution } from '../../models/runtime.ts';
import { writeStyleStats } from '../../stages/stats.ts';
import { flag, int, num, requireStr } from '../args.ts';
import { defineCommand } from '../command.ts';
import { formatDuration, progressPrinter } from '../progress.ts';
import { RELEVANCE_DEFAULTS } from '../../stages/relevance-plan.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';
import { checkOutputFile } from '../../store/output-errors.ts';

export default defineCommand({
  path: ['stats'],
  summary: 'compute μ, σ of every style channel once, for every shard of a build (relevance --stats)',
  usage: '--generator DIR --out FILE [--samples M] [--psi X] [--seed S]',
  details: `Streams M seeded samples through mapping → truncation → styles and writes μ_c, σ_c of every
style channel in float64 to FILE, a NumPy .npz (members provenance, mu, sigma). The file holds
only what determines the numbers (generator, M, seed, ψ, tool version), so the same statistics
give the same bytes. Prints "<sha256>  FILE" on stdout (the format of sha256sum): every shard
given --stats FILE records that sha256, and merge refuses shards whose statistics differ.

  --generator DIR   generator bundle (e.g. models/tiny)
  --out FILE        the statistics file (written atomically), e.g. stats.npz
  --samples M       samples (default ${RELEVANCE_DEFAULTS.statsSamples}, as the reference)
  --psi X           truncation ψ, the same as the relevance build's (default ${RELEVANCE_DEFAULTS.psi})
  --seed S          samples use seeds S … S+M−1 (default ${RELEVANCE_DEFAULTS.statsSeed})
  --quiet           no progress output
${runtimeOptionHelp}`,
  options: {
    generator: { type: 'string' },
    out: { type: 'string' },
    samples: { type: 'string' },
    psi: { type: 'string' },
    seed: { type: 'string' },
    quiet: { type: 'boolean' },
    ...runtimeOptionSpec,
  },
  async run({ values, io }) {
    const out = resolve(io.cwd, requireStr(values, 'out'));
    checkOutputFile(out);
    const samples = int(values, 'samples', RELEVANCE_DEFAULTS.statsSamples, [2, 100_000_000]);
    const psi = num(values, 'psi', RELEVANCE_DEFAULTS.psi, [0, 1]);
    const seed = int(values, 'seed', RELEVANCE_DEFAULTS.statsSeed, [0, 2 ** 31]);
    const runtime = runtimeOptions(values, io);
    const quiet = flag(values, 'quiet');
    const gen = await Generator.open(resolve(io.cwd, requireStr(values, 'generator')), runtime);
    try {
      if (!quiet) io.err(`stats: ${gen.layout.total} style channels of ${gen.manifest.id} over ${samples} samples, on ${describeExecution(runtimeExecution(runtime))}`);
      const printer = progressPrinter(io, { quiet });
      const st = await writeStyleStats(gen, { samples, seed, psi, onProgress: printer.onProgress }, out);
      printer.finish();
      if (!quiet) io.err(`stats: ${samples} samples in ${formatDuration(st.seconds)} → ${out}`);
      io.out(`${st.file.sha256}  ${out}`);
    } finally {
      await gen.release();
    }
  },
});
