/**
 * Peak memory of the relevance stage, per conv layer, for each render graph asked for: for every
 * (graph, layer) pair a fresh child process opens the generator, the encoder and the render graph
 * as `styleatlas relevance` does (openRelevanceRenderer), computes one chunk of the layer's first
 * channels through the real loop (computeChunk, the default batch), and reports its peak resident
 * set (process.resourceUsage().maxRSS: the main thread and the worker together). A whole-render
 * graph renders the same model for every layer, so its rows differ only by noise; with prefix
 * reuse each layer opens its own models, and a build's peak is the largest row. The pairs run
 * alternated (graph inside layer), so the machine's drift falls on both.
 *
 *   node bin/run-ts.mjs scripts/relevance-memory.ts [--generator models/ffhq-arch] [--encoder models/vitb32-arch]
 *        [--graphs portable,auto] [--channels 1] [--samples 2] [--rounds 1]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Encoder } from '../pipeline/models/encoder.ts';
import { describeRenderGraph, openRelevanceRenderer, renderGraphFor } from '../pipeline/models/fused.ts';
import { Generator } from '../pipeline/models/generator.ts';
import { computeChunk } from '../pipeline/stages/relevance.ts';
import { type RelevanceConfig, type RenderGraphName, defaultBatch, parseRenderGraph } from '../pipeline/stages/relevance-plan.ts';
import { computeStyleStats } from '../pipeline/stages/stats.ts';

const { values } = parseArgs({
  options: {
    generator: { type: 'string', default: 'models/ffhq-arch' },
    encoder: { type: 'string', default: 'models/vitb32-arch' },
    graphs: { type: 'string', default: 'portable,auto' },
    channels: { type: 'string', default: '1' },
    samples: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    child: { type: 'string' },
  },
});

async function child(graph: RenderGraphName, layer: string): Promise<void> {
  const gen = await Generator.open(values.generator!);
  const enc = await Encoder.open(values.encoder!, { parts: [] });
  const render = await renderGraphFor(gen, 'cpu', graph);
  const slot = gen.layout.layers.find((l) => l.name === layer)!;
  const channels = Array.from({ length: Math.min(Number(values.channels), slot.channels) }, (_, i) => slot.offset + i);
  const batch = defaultBatch(gen.arch.resolution);
  const { mu, sigma } = await computeStyleStats(gen, { samples: 64, seed: 1_000_000, psi: 0.7 });
  const config = { samples: Number(values.samples), alphaP: 5, psi: 0.7, sampleSeed: 0, batch } as RelevanceConfig;
  const r = await openRelevanceRenderer(gen, enc, render, batch, {}, channels[0]);
  const t0 = performance.now();
  try {
    await computeChunk({ gen, config, mu, sigma, dim: enc.dim, inflight: 2, session: r.session, layers: r.layers, fixedBatch: r.fixedBatch }, { index: 0, channels });
  } finally {
    await r.release();
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ graph: describeRenderGraph(render), maxRssKiB: process.resourceUsage().maxRSS, seconds }) + '\n');
  await Promise.all([enc.release(), gen.release()]);
}

if (values.child) {
  const [graph, layer] = values.child.split(':');
  await child(parseRenderGraph(graph), layer);
} else {
  const graphs = values.graphs!.split(',').map(parseRenderGraph);
  const gen = await Generator.open(values.generator!);
  const layers = gen.layout.layers.filter((l) => l.kind === 'conv').map((l) => l.name);
  await gen.release();
  const me = fileURLToPath(import.meta.url);
  const runTs = fileURLToPath(new URL('../bin/run-ts.mjs', import.meta.url));
  const peak: Record<string, number> = {};
  console.log(`peak resident set of one chunk (${values.channels} channel(s), ${values.samples} samples) per conv layer, ${values.generator} + ${values.encoder}; GB = 1e9 bytes`);
  console.log(`${'layer'.padEnd(12)} ${graphs.map((g) => g.padStart(14)).join(' ')}`);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const layer of layers) {
      const row: string[] = [];
      for (const g of graphs) {
        const out = execFileSync(process.execPath, [runTs, me, ...process.argv.slice(2), '--child', `${g}:${layer}`], { encoding: 'utf8', env: { ...process.env, ORT_DISABLE_TELEMETRY: process.env.ORT_DISABLE_TELEMETRY ?? '1' } });
        const r = JSON.parse(out.trim().split('\n').pop()!) as { maxRssKiB: number; seconds: number };
        const gb = (r.maxRssKiB * 1024) / 1e9;
        peak[g] = Math.max(peak[g] ?? 0, gb);
        row.push(`${gb.toFixed(2)} GB ${r.seconds.toFixed(0).padStart(3)}s`.padStart(14));
      }
      console.log(`${layer.padEnd(12)} ${row.join(' ')}`);
    }
  }
  console.log(`${'peak'.padEnd(12)} ${graphs.map((g) => `${peak[g].toFixed(2)} GB`.padStart(14)).join(' ')}`);
}
