import { join, resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { type CatalogueRun, runCatalogue } from '../../stages/catalogue.ts';
import { METHOD1_CATALOGUE_DEFAULTS } from '../../stages/method1-catalogue.ts';
import { GALLERY_DEFAULTS } from '../../stages/galleries.ts';
import { flag, int, parseIntList, requireStr, str } from '../args.ts';
import { type CommandContext, defineCommand } from '../command.ts';
import { progressPrinter } from '../progress.ts';
import { promptsPath } from '../../store/prompts.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';
import { textCacheOptionHelp, textCacheOptionSpec, textCachePath } from '../text-cache-options.ts';

const SEEDS = GALLERY_DEFAULTS.seeds;

function method1(values: CommandContext['values']): CatalogueRun['method1'] {
  const on = flag(values, 'method1');
  if (!on && (str(values, 'method1-prompts') || str(values, 'method1-steps'))) fail('E_USAGE', '--method1-prompts and --method1-steps need --method1');
  if (!on) return undefined;
  const prompts = str(values, 'method1-prompts')?.split(',').map((p) => p.trim()).filter(Boolean);
  return { settings: { ...METHOD1_CATALOGUE_DEFAULTS, steps: int(values, 'method1-steps', METHOD1_CATALOGUE_DEFAULTS.steps, [1, 100_000]) }, prompts };
}
const DEFAULT_SEEDS = `${SEEDS[0]}-${SEEDS[SEEDS.length - 1]}`;

export default defineCommand({
  path: ['catalogue'],
  summary: 'compute every direction (and mapper) of a prompt file on a build: Δs, galleries, measurements, downloads',
  usage: '--build DIR --prompts FILE|NAME [--out DIR] [--models-dir DIR] [--gallery-seeds LIST] [--columns N] [--method1] [--force]',
  details: `For each prompt pair: Δt over the 79 templates, Δs with its β (given or automatic), a gallery of
fixed samples × a row of α values (WebP), the mean CLIP score of the target text and the mean
pixel colour along α, and downloads (.safetensors, .npz, .json). Writes catalogue.sqlite (with
full-text search over prompts) and assets/ in --out. Directions whose inputs did not change are
not recomputed; directions no longer in the prompt file are removed.

Prompts of kind "mapper" ("kinds": ["direction", "mapper"] in the prompt file, or in its
defaults) also get a latent mapper (StyleCLIP method 2, docs/latent-mapper.md): trained in
--out/work/mappers (a killed catalogue continues from the mapper's checkpoint), its gallery (the
gallery samples at a row of strengths), its held-out scores and its downloads (.safetensors,
.onnx). Mapper settings come from "mapper": {steps, lr, batch, lambdaL2, seed, trainSamples,
testSamples, checkpointEvery, strengths}; left out, the official trainer's.

  --build DIR           a finished relevance build
  --prompts FILE|NAME   a prompt catalogue: a file (relative to the current folder), or the name
                        of one that ships with StyleAtlas (colour-world, faces), found wherever
                        the command runs
  --out DIR             catalogue folder (default data/build/catalogue)
  --models-dir DIR      where the build's bundles are (default models)
  --gallery-seeds LIST  sample seeds of the gallery rows (default ${DEFAULT_SEEDS})
  --columns N           α values per gallery row (default ${GALLERY_DEFAULTS.columns})
${textCacheOptionHelp}
  --method1             also run method 1 (latent optimisation, the official defaults) on the gallery
                        samples of each prompt, for the comparison with the global directions
  --method1-prompts IDS only these prompts (comma-separated slugs)
  --method1-steps N     Adam steps of method 1 (default ${METHOD1_CATALOGUE_DEFAULTS.steps})
  --force               recompute every direction
  --quiet               no progress output
${runtimeOptionHelp}`,
  options: {
    build: { type: 'string' },
    prompts: { type: 'string' },
    out: { type: 'string' },
    'models-dir': { type: 'string' },
    'gallery-seeds': { type: 'string' },
    columns: { type: 'string' },
    ...textCacheOptionSpec,
    method1: { type: 'boolean' },
    'method1-prompts': { type: 'string' },
    'method1-steps': { type: 'string' },
    force: { type: 'boolean' },
    quiet: { type: 'boolean' },
    ...runtimeOptionSpec,
  },
  async run({ values, io }) {
    const printer = progressPrinter(io, { quiet: flag(values, 'quiet') });
    const summary = await runCatalogue({
      buildDir: resolve(io.cwd, requireStr(values, 'build')),
      promptsFile: promptsPath(requireStr(values, 'prompts'), io.cwd),
      outDir: resolve(io.cwd, str(values, 'out') ?? join('data', 'build', 'catalogue')),
      modelsDir: resolve(io.cwd, str(values, 'models-dir') ?? 'models'),
      gallerySeeds: parseIntList(str(values, 'gallery-seeds') ?? DEFAULT_SEEDS, '--gallery-seeds'),
      galleryColumns: int(values, 'columns', GALLERY_DEFAULTS.columns, [2, 64]),
      textCachePath: textCachePath(values, io),
      runtime: runtimeOptions(values, io),
      method1: method1(values),
      force: flag(values, 'force'),
      onProgress: printer.onProgress,
    });
    printer.finish();
    io.err(
      `catalogue: ${summary.promptSet} on ${summary.build}: ${summary.computed.length} computed, ${summary.unchanged.length} unchanged, ${summary.removed} removed` +
        `${summary.mappers.computed.length + summary.mappers.unchanged.length + summary.mappers.removed > 0 ? `; mappers ${summary.mappers.computed.length} trained, ${summary.mappers.unchanged.length} unchanged, ${summary.mappers.removed} removed` : ''} → ${summary.catalogue}`,
    );
    io.err(`catalogue: ${summary.liveText}`);
    for (const line of summary.liveLeftOut) io.err(`catalogue: warning: ${line}`);
    if (summary.method1) io.err(`catalogue: method 1: ${summary.method1.computed.length} computed, ${summary.method1.unchanged.length} unchanged`);
    io.out(summary.catalogue);
  },
});
