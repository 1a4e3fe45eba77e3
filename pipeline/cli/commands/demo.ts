import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildSite } from '../../site/build-site.ts';
import { runCatalogue } from '../../stages/catalogue.ts';
import { GALLERY_DEFAULTS } from '../../stages/galleries.ts';
import { METHOD1_CATALOGUE_DEFAULTS } from '../../stages/method1-catalogue.ts';
import { runRelevanceBuild } from '../../stages/relevance-build.ts';
import { RELEVANCE_DEFAULTS } from '../../stages/relevance-plan.ts';
import { SHIPPED_PROMPTS_DIR } from '../../store/prompts.ts';
import { DEFAULT_TEXT_CACHE } from '../../store/text-cache.ts';
import { flag, str } from '../args.ts';
import { type CliIO, defineCommand } from '../command.ts';
import { formatDuration, progressPrinter } from '../progress.ts';
import modelsBuild from './models-build.ts';
import siteServe from './site-serve.ts';

/**
 * The demo's two builds: the tiny generator measured by the colour-world oracle (directions with
 * a known right answer) and by tiny-clip (the real CLIP architecture with random weights: the
 * face prompts run end to end, but their directions mean nothing).
 */
const DEMO_BUILDS = [
  { id: 'tiny-colour-world', encoder: 'colour-world', prompts: 'colour-world.json', samples: 32, method1: ['red', 'blue', 'bright'] },
  { id: 'tiny-tiny-clip', encoder: 'tiny-clip', prompts: 'faces.json', samples: 16, method1: [] },
] as const;

/** Method 1 beside method 3 on a few oracle prompts, at a third of the official 300 steps (seconds, not minutes). */
const DEMO_METHOD1_STEPS = 100;

async function step<T>(io: CliIO, title: string, fn: () => Promise<T>): Promise<T> {
  io.err(`\n== ${title}`);
  const t0 = performance.now();
  const out = await fn();
  io.err(`   (${formatDuration((performance.now() - t0) / 1000)})`);
  return out;
}

export default defineCommand({
  path: ['demo'],
  summary: 'the whole job on the embedded tiny models: models, relevance, catalogue, website',
  usage: '[--data-dir DIR] [--no-serve] [--port N]',
  details: `Builds the bundled tiny models (random or hand-built weights, real architectures; nothing is
downloaded), runs two relevance builds on the tiny generator (with the colour-world oracle encoder
and with tiny-clip), computes the catalogues of data/prompts/colour-world.json and faces.json
(with method 1, latent optimisation, beside the global directions of three colour-world prompts),
builds the website and serves it on localhost. Re-running skips finished work.

  --data-dir DIR   builds and catalogue go here (default data/build)
  --no-serve       stop after building the site (site/dist)
  --port N         port for the site (default 4321)`,
  options: { 'data-dir': { type: 'string' }, 'no-serve': { type: 'boolean' }, port: { type: 'string' } },
  async run({ values, io }) {
    const t0 = performance.now();
    const data = str(values, 'data-dir') ?? join(io.cwd, 'data', 'build');
    const models = join(io.cwd, 'models');
    const catalogueDir = join(data, 'catalogue');
    await step(io, 'models: tiny, tiny-clip, colour-world, tiny-ir-se', () => modelsBuild.run({ values: {}, positionals: [], io: { ...io, out: () => {} } }));
    for (const b of DEMO_BUILDS) {
      const outDir = join(data, b.id);
      const printer = progressPrinter(io);
      const s = await step(io, `relevance: tiny × ${b.encoder} (${b.samples} samples per channel)`, () =>
        runRelevanceBuild({
          generatorDir: join(models, 'tiny'),
          encoderDir: join(models, b.encoder),
          outDir,
          config: {
            samples: b.samples,
            alphaP: RELEVANCE_DEFAULTS.alphaP,
            psi: RELEVANCE_DEFAULTS.psi,
            sampleSeed: RELEVANCE_DEFAULTS.sampleSeed,
            statsSamples: 20_000,
            statsSeed: RELEVANCE_DEFAULTS.statsSeed,
            channelSet: 'conv',
            chunkChannels: RELEVANCE_DEFAULTS.chunk,
            batch: RELEVANCE_DEFAULTS.batch,
          },
          resume: existsSync(join(outDir, 'build.sqlite')),
          runtime: {},
          onProgress: printer.onProgress,
        }),
      );
      printer.finish();
      io.err(s.renders > 0 ? `   ${s.channels} channels, ${s.renders} renders, ${s.rendersPerSecond.toFixed(0)} renders/s` : '   already built');
      const printer2 = progressPrinter(io);
      const c = await step(io, `catalogue: data/prompts/${b.prompts} on ${b.id}`, () =>
        runCatalogue({
          buildDir: outDir,
          promptsFile: join(SHIPPED_PROMPTS_DIR, b.prompts), // shipped data: from the package, not the current folder
          outDir: catalogueDir,
          modelsDir: models,
          gallerySeeds: GALLERY_DEFAULTS.seeds,
          galleryColumns: GALLERY_DEFAULTS.columns,
          textCachePath: join(io.cwd, DEFAULT_TEXT_CACHE),
          method1: b.method1.length ? { settings: { ...METHOD1_CATALOGUE_DEFAULTS, steps: DEMO_METHOD1_STEPS }, prompts: b.method1 } : undefined,
          runtime: {},
          onProgress: printer2.onProgress,
        }),
      );
      printer2.finish();
      io.err(`   ${c.computed.length} computed, ${c.unchanged.length} unchanged${c.method1 ? `; method 1 on ${b.method1.join(', ')} (${DEMO_METHOD1_STEPS} steps): ${c.method1.computed.length} computed, ${c.method1.unchanged.length} unchanged` : ''}` +
        `${c.mappers.computed.length + c.mappers.unchanged.length > 0 ? `; mappers (method 2): ${c.mappers.computed.length} trained, ${c.mappers.unchanged.length} unchanged` : ''}`);
    }
    const siteDir = join(io.cwd, 'site', 'dist');
    const site = await step(io, 'website (Astro)', () => buildSite({ catalogueDir, outDir: siteDir, env: io.env }));
    io.err(`   ${site.pages} pages → ${site.outDir}`);
    io.err(`\ndemo built in ${formatDuration((performance.now() - t0) / 1000)}`);
    if (flag(values, 'no-serve')) {
      io.out(site.outDir);
      return;
    }
    await siteServe.run({ values: { dir: siteDir, port: str(values, 'port') ?? '4321' }, positionals: [], io });
  },
});
