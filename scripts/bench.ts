/**
 * `npm run bench`: renders/s of the channel-relevance work done naively (batch 1, separate
 * sessions, JS preprocessing) and by the pipeline (fused model in a worker, batched, in flight),
 * side by side in one run, with FLOPs per render counted from the architecture and the FLOP/s
 * onnxruntime reaches on one large convolution here. See docs/benchmarks.md.
 *
 *   npm run bench [-- --quick | --full] [--device cpu|webgpu|cuda] [--json FILE]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { StyleAtlasError } from '../pipeline/core/errors.ts';
import { parseDevice, resolveDevice } from '../pipeline/models/devices.ts';
import { RELEVANCE_DEFAULTS, defaultBatch } from '../pipeline/stages/relevance-plan.ts';
import type { PipelineSettings } from './bench/workloads.ts';
import { markCpu, othersCores } from './bench/cpu.ts';
import { measurePeakConv } from './bench/peak.ts';
import { type BenchReport, describeMachine, loadAverage, renderReport } from './bench/report.ts';
import { type BenchConfig, missingBundles, runConfig } from './bench/suite.ts';
import { type MapperBenchConfig, runMapperBench } from './bench/mapper.ts';
import { type OptimiseBenchConfig, runOptimiseBench } from './bench/optimise.ts';

const USAGE = `usage: npm run bench [-- OPTIONS]
  --quick          tiny + tiny-clip only
  --full           more samples and repetitions, more pipeline settings
  --device NAME    cpu (default), webgpu, cuda or auto; a GPU device never falls back to the CPU
  --pair NAME      only this relevance configuration (tiny or ffhq), and no method 1/2 benches
  --json FILE      also write the results as JSON
  --help           this text`;

/** The relevance command's own defaults for a generator of this resolution: what a user's build runs with. */
function defaultSetting(resolution: number): PipelineSettings {
  const batch = RELEVANCE_DEFAULTS.batch;
  // Whole renders with the bundle's graph at the default batch; the default render graph, prefix reuse, is timed per layer (bench/prefix.ts).
  return { batch: batch === 'auto' ? defaultBatch(resolution) : batch, inflight: RELEVANCE_DEFAULTS.inflight, render: 'portable' };
}

function benchConfigs(mode: 'quick' | 'standard' | 'full'): BenchConfig[] {
  const full = mode === 'full';
  const tiny: BenchConfig = {
    name: 'tiny',
    generator: 'tiny',
    encoder: 'tiny-clip',
    channels: 16,
    samples: full ? 32 : 8,
    reps: full ? 7 : 5,
    defaultSetting,
    settings: [
      ...[{ batch: 16, inflight: 2 }, { batch: 16, inflight: 1 }, { batch: 4, inflight: 2 }, { batch: 64, inflight: 2 }, ...(full ? [{ batch: 256, inflight: 2 }] : [])].map((s) => ({ ...s, render: 'portable' as const })),
      { batch: 16, inflight: 2, render: 'nchwc' },
      { batch: 4, inflight: 2, render: 'nchwc' },
    ],
    schedule: 'interleaved',
    prefix: { reps: 5, actualSamples: full ? 32 : 16 },
    analyse: [
      { batch: 16, inflight: 2, render: 'portable' },
      { batch: 16, inflight: 2, render: 'nchwc' },
    ],
  };
  // ~0.7 s per 1024² render on 2 cores; 4 channels × 2 samples fill one batch of 16, which needs
  // ~22 GiB resident and is skipped on machines with less than twice that (suite.ts).
  const ffhq: BenchConfig = {
    name: 'ffhq',
    generator: 'ffhq-arch',
    encoder: 'vitb32-arch',
    channels: 4,
    samples: full ? 4 : 2,
    reps: full ? 3 : 2,
    defaultSetting,
    settings: [
      { batch: 2, inflight: 2, render: 'portable' },
      { batch: 4, inflight: 2, render: 'portable' },
      { batch: 16, inflight: 2, render: 'portable' },
      { batch: 2, inflight: 2, render: 'nchwc' },
      { batch: 4, inflight: 2, render: 'nchwc' },
    ],
    schedule: 'isolated',
    prefix: { reps: full ? 3 : 2 },
    analyse: [
      { batch: 2, inflight: 2, render: 'portable' },
      { batch: 2, inflight: 2, render: 'nchwc' },
    ],
  };
  return mode === 'quick' ? [tiny] : [tiny, ffhq];
}

/** Method 1's step: tiny at batch 1 (the official script's one code) and 8; FFHQ-1024 + ViT-B/32 at batch 1 (+ IR-SE50 with --full). */
function optimiseConfigs(mode: 'quick' | 'standard' | 'full'): OptimiseBenchConfig[] {
  const tiny: OptimiseBenchConfig = { name: 'tiny', generator: 'tiny', encoder: 'tiny-clip', steps: mode === 'full' ? 30 : 10, batches: [1, 8] };
  const ffhq: OptimiseBenchConfig = { name: 'ffhq', generator: 'ffhq-arch', encoder: 'vitb32-arch', steps: mode === 'full' ? 4 : 2, batches: [1] };
  const withId: OptimiseBenchConfig = { ...ffhq, name: 'ffhq + identity', identity: 'ir-se50-arch' };
  return mode === 'quick' ? [tiny] : mode === 'full' ? [tiny, ffhq, withId] : [tiny, ffhq];
}

/** Method 2's training step: tiny at the official batch 2 and 8; FFHQ-1024 + ViT-B/32 at batch 2. */
function mapperConfigs(mode: 'quick' | 'standard' | 'full'): MapperBenchConfig[] {
  const tiny: MapperBenchConfig = { name: 'tiny', generator: 'tiny', encoder: 'tiny-clip', steps: mode === 'full' ? 30 : 10, batches: [2, 8] };
  const ffhq: MapperBenchConfig = { name: 'ffhq', generator: 'ffhq-arch', encoder: 'vitb32-arch', steps: mode === 'full' ? 4 : 2, batches: [2] };
  return mode === 'quick' ? [tiny] : [tiny, ffhq];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, full: { type: 'boolean' }, device: { type: 'string' }, pair: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.quick && values.full) throw new StyleAtlasError('E_USAGE', '--quick and --full exclude each other');
  const { device, reason } = resolveDevice(parseDevice(values.device ?? 'cpu'));
  const runtime = { device };
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const log = (m: string) => console.error(m);
  // Sessions run on this provider alone (runtime.ts): the device printed is the one that ran.
  log(`device: ${device} (${reason})`);
  const t0 = performance.now();
  const loadStart = loadAverage();
  const cpu = markCpu();
  const peakRuns = { warmup: 2, timed: 7 };

  log(`peak: timing ${peakRuns.timed} runs of one large convolution`);
  const peak = [await measurePeakConv(runtime, peakRuns)];
  const report: BenchReport = { machine: describeMachine(device), load: { start: loadStart, end: 0 }, peak, configs: [], optimise: [], mapper: [], skipped: [], seconds: 0 };
  const mode = values.quick ? 'quick' : values.full ? 'full' : 'standard';
  const pair = values.pair;
  if (pair !== undefined && !benchConfigs('standard').some((c) => c.name === pair)) throw new StyleAtlasError('E_USAGE', `--pair ${pair}: valid pairs are ${benchConfigs('standard').map((c) => c.name).join(', ')}`);
  for (const c of benchConfigs(pair ? 'standard' : mode).filter((c) => pair === undefined || c.name === pair)) {
    const missing = missingBundles(root, c);
    if (missing) {
      report.skipped.push({ name: `${c.generator} + ${c.encoder}`, reason: missing });
      continue;
    }
    report.configs.push(await runConfig(root, c, runtime, log));
  }
  for (const c of pair ? [] : optimiseConfigs(mode)) {
    const noIdentity = c.identity && !existsSync(join(root, 'models', c.identity, 'network.onnx')) ? `model ${c.identity} not built: run \`npx styleatlas models build ${c.identity}\`` : undefined;
    const missing = missingBundles(root, c) ?? noIdentity;
    if (missing) {
      report.skipped.push({ name: `method 1: ${c.name}`, reason: missing });
      continue;
    }
    report.optimise.push(await runOptimiseBench(root, c, runtime, log));
  }
  for (const c of pair ? [] : mapperConfigs(mode)) {
    const missing = missingBundles(root, c);
    if (missing) {
      report.skipped.push({ name: `method 2: ${c.name}`, reason: missing });
      continue;
    }
    report.mapper.push(await runMapperBench(root, c, runtime, log));
  }
  log('peak: timing it again (the load may have changed)');
  peak.push(await measurePeakConv(runtime, peakRuns));
  report.load.end = loadAverage();
  report.othersCores = othersCores(cpu);
  report.seconds = (performance.now() - t0) / 1000;

  console.log(renderReport(report));
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`results → ${values.json}`);
  }
}

main().catch((e: unknown) => {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) console.error(`E_USAGE: ${(e as Error).message}\n${USAGE}`);
  else if (e instanceof StyleAtlasError) console.error(`${e.code}: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}`);
  else console.error(e);
  process.exitCode = 1;
});
