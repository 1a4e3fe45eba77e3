import { resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { CHANNEL_SETS, RELEVANCE_DEFAULTS, RENDER_GRAPHS, parseChannelSet, parseRenderGraph, parseShard } from '../../stages/relevance-plan.ts';
import { runRelevanceBuild } from '../../stages/relevance-build.ts';
import { flag, int, num, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';
import { formatDuration, progressPrinter } from '../progress.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';

export default defineCommand({
  path: ['relevance'],
  summary: 'measure every channel\'s relevance Δi_c (the fs3 matrix) for a generator and an encoder',
  usage: '--generator DIR --encoder DIR --out DIR [--stats FILE] [--samples N] [--alpha-p X] [--psi X] [--channels SET] [--shard i/n] [--resume]',
  details: `For each channel c and sample n, renders s with s_c := μ_c ± α_p σ_c, encodes both images, and
averages the normalised embedding differences (DESIGN §1). Channels are perturbed independently
from each sample's own codes. Style statistics μ, σ come from --stats FILE (\`styleatlas stats\`:
give every shard of a build the same file), or are computed once into --out/stats.npz.

Outputs in --out: relevance.arrow (one row per channel), fs3.npy (float32 [C, D]) and
build.sqlite (progress, provenance, and where each chunk ran: provider, onnxruntime, CPU/GPU,
threads, host). Progress commits after every chunk of channels: a killed build continues with
--resume and gives the same bytes as an uninterrupted one. One process writes a folder at a
time: a second one stops with E_LOCKED naming the first one's pid and host (build.lock).

  --generator DIR       generator bundle (e.g. models/tiny)
  --encoder DIR         encoder bundle (e.g. models/tiny-clip, models/colour-world)
  --out DIR             build folder
  --samples N           samples per channel (default ${RELEVANCE_DEFAULTS.samples})
  --alpha-p X           perturbation in σ units (default ${RELEVANCE_DEFAULTS.alphaP})
  --psi X               truncation ψ (default ${RELEVANCE_DEFAULTS.psi})
  --seed S              samples use seeds S … S+N−1 (default ${RELEVANCE_DEFAULTS.sampleSeed})
  --stats FILE          μ, σ from a statistics file (styleatlas stats); its sha256 is recorded
  --stats-samples M     without --stats: samples for μ, σ (default ${RELEVANCE_DEFAULTS.statsSamples})
  --stats-seed S        without --stats: their first seed (default ${RELEVANCE_DEFAULTS.statsSeed})
  --channels SET        ${Object.entries(CHANNEL_SETS).map(([k, v]) => `${k}: ${v}`).join('\n                        ')}
                        (default ${RELEVANCE_DEFAULTS.channelSet})
  --shard i/n           compute only chunks i, i+n, i+2n, … (merge shards with \`styleatlas merge\`)
  --resume              continue the build already in --out
  --chunk K             channels per committed chunk (default ${RELEVANCE_DEFAULTS.chunk})
  --batch B|auto        renders per onnxruntime call, even (default auto: 16 up to 256 px, 4 at
                        512 px, 2 at 1024 px, which keeps memory to a few GiB)
  --inflight K          onnxruntime calls in flight while the next batch is prepared (default ${RELEVANCE_DEFAULTS.inflight})
  --render-graph NAME   ${Object.entries(RENDER_GRAPHS).map(([k, v]) => `${k}: ${v}`).join('\n                        ')}
                        (default ${RELEVANCE_DEFAULTS.renderGraph}; the one that ran is recorded in relevance.arrow's
                        config and in build.sqlite's runs)
  --render-to R         approximate, opt-in: channels of layers at ≤ R² are measured on block R's
                        image (resized for CLIP) instead of the full render; later layers render in
                        full. Recorded in the config; fidelity per layer in docs/render-to.md
  --json                print a machine-readable summary on stdout
  --quiet               no progress output
${runtimeOptionHelp}`,
  options: {
    generator: { type: 'string' },
    encoder: { type: 'string' },
    out: { type: 'string' },
    samples: { type: 'string' },
    'alpha-p': { type: 'string' },
    psi: { type: 'string' },
    seed: { type: 'string' },
    stats: { type: 'string' },
    'stats-samples': { type: 'string' },
    'stats-seed': { type: 'string' },
    channels: { type: 'string' },
    shard: { type: 'string' },
    resume: { type: 'boolean' },
    chunk: { type: 'string' },
    batch: { type: 'string' },
    inflight: { type: 'string' },
    'render-graph': { type: 'string' },
    'render-to': { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    ...runtimeOptionSpec,
  },
  async run({ values, io }) {
    const d = RELEVANCE_DEFAULTS;
    const quiet = flag(values, 'quiet');
    const printer = progressPrinter(io, { quiet });
    const shardRaw = str(values, 'shard');
    const statsFile = str(values, 'stats');
    if (statsFile && (str(values, 'stats-samples') !== undefined || str(values, 'stats-seed') !== undefined)) {
      fail('E_USAGE', '--stats FILE already fixes the statistics; --stats-samples and --stats-seed cannot be given with it');
    }
    const summary = await runRelevanceBuild({
      generatorDir: requireStr(values, 'generator'),
      encoderDir: requireStr(values, 'encoder'),
      outDir: resolve(io.cwd, requireStr(values, 'out')),
      config: {
        samples: int(values, 'samples', d.samples),
        alphaP: num(values, 'alpha-p', d.alphaP),
        psi: num(values, 'psi', d.psi),
        sampleSeed: int(values, 'seed', d.sampleSeed, [0, 2 ** 31]),
        statsSamples: statsFile ? undefined : int(values, 'stats-samples', d.statsSamples),
        statsSeed: statsFile ? undefined : int(values, 'stats-seed', d.statsSeed, [0, 2 ** 31]),
        channelSet: parseChannelSet(str(values, 'channels') ?? d.channelSet),
        chunkChannels: int(values, 'chunk', d.chunk),
        batch: str(values, 'batch') === undefined || str(values, 'batch') === 'auto' ? 'auto' : int(values, 'batch', 16),
        renderGraph: parseRenderGraph(str(values, 'render-graph') ?? d.renderGraph),
        ...(str(values, 'render-to') === undefined ? {} : { renderTo: int(values, 'render-to', 0, [4, 1 << 16]) }),
      },
      statsFile: statsFile ? resolve(io.cwd, statsFile) : undefined,
      shard: shardRaw ? parseShard(shardRaw) : undefined,
      resume: flag(values, 'resume'),
      runtime: runtimeOptions(values, io),
      inflight: int(values, 'inflight', d.inflight, [1, 64]),
      onProgress: printer.onProgress,
      log: quiet ? undefined : (m) => io.err(m),
    });
    printer.finish();
    if (flag(values, 'json')) {
      io.out(JSON.stringify(summary, null, 2));
      return;
    }
    const what = summary.complete ? `done → ${summary.outputs?.arrow}` : `${summary.chunksDone}/${summary.chunksTotal} chunks (resumable)`;
    const where = summary.execution ? ` on ${summary.execution.provider}` : '';
    io.err(
      `relevance: ${summary.channels} channels, ${summary.renders} renders${where} in ${formatDuration(summary.seconds)} (${summary.rendersPerSecond.toFixed(0)} renders/s); ${what}`,
    );
    io.out(summary.outDir);
  },
});
