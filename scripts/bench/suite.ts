/**
 * One configuration (a generator + encoder pair and a workload), measured side by side: the
 * naive loop and each pipeline setting, warmed up, then timed. Two schedules:
 *   interleaved: one pipeline session for all settings; the runs are timed round-robin with the
 *                order rotated every repetition, so a change in the machine's load lands on all of
 *                them rather than one, and no run always follows the same other run;
 *   isolated:    (large models) each pipeline setting gets its own session, open only while its
 *                repetitions run, so its memory is measured on its own and given back before the
 *                next: onnxruntime's arena does not shrink, and a session that ran batches of 16
 *                FFHQ-1024 renders held 22.7 GiB.
 * A short pause precedes every timed run.
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RuntimeOptions, WorkerSession } from '../../pipeline/models/runtime.ts';
import { markCpu, othersCores } from './cpu.ts';
import { type RenderFlops, renderFlops } from './flops.ts';
import { type Spread, seconds, spread } from './stats.ts';
import { type Analysis, analyse } from './analysis.ts';
import { type PrefixResult, measurePrefix } from './prefix.ts';
import { BenchModels, type PipelineSettings, type Workload, maxDifference, naiveLoop, pipelineRun, rendersOf } from './workloads.ts';

export interface BenchConfig {
  name: string;
  generator: string;
  encoder: string;
  channels: number;
  samples: number;
  reps: number;
  /** The relevance command's default setting for a generator of this resolution (timed first). */
  defaultSetting: (resolution: number) => PipelineSettings;
  /** Other pipeline settings to time (one equal to the default is dropped). */
  settings: readonly PipelineSettings[];
  schedule: 'interleaved' | 'isolated';
  /** Also profile one render per operator, and time the synthesis alone, for each of these settings (analysis.ts). */
  analyse?: readonly PipelineSettings[];
  /** The default render graph, prefix reuse, per layer at the default batch (prefix.ts); `actualSamples` also times the real loop. */
  prefix?: { reps: number; actualSamples?: number };
}

export interface Measured {
  label: string;
  kind: 'naive' | 'pipeline';
  settings?: PipelineSettings;
  /** The relevance command's default setting. */
  isDefault: boolean;
  rendersPerSecond: Spread;
  /** Resident memory of the process after this run's repetitions (isolated schedule only). */
  residentBytes?: number;
}

export interface ConfigResult {
  name: string;
  generator: string;
  encoder: string;
  channels: number[];
  samples: number;
  renders: number;
  flops: RenderFlops;
  setupSeconds: number;
  runs: Measured[];
  /** max |Δi naive − Δi pipeline| over all channels and dimensions (first pipeline run; NaN if none ran). */
  agreement: number;
  /** The process's peak resident memory so far (worker included), in bytes. */
  maxRssBytes: number;
  /** Cores' worth of CPU other processes used while the reps ran (undefined off Linux). */
  othersCores?: number;
  /** Pipeline settings not run here, and why (too much memory for this machine). */
  skipped: { label: string; reason: string }[];
  /** Per-operator profile and synthesis alone, one per analysed setting (after the timed runs, in sessions of their own). */
  analyses: Analysis[];
  prefix?: PrefixResult;
}

/** Why a configuration cannot run here (a bundle not built), or undefined. */
export function missingBundles(root: string, c: Pick<BenchConfig, 'generator' | 'encoder'>): string | undefined {
  const missing = [c.generator, c.encoder].filter((id) => !existsSync(join(root, 'models', id, 'manifest.json')) || !existsSync(join(root, 'models', id, id === c.generator ? 'synthesis.onnx' : 'visual.onnx')));
  if (missing.length === 0) return undefined;
  return `models ${missing.join(', ')} not built: run \`node bin/styleatlas.mjs models build ${missing.join(' ')}\``;
}

const NAIVE_LABEL = 'naive (batch 1, JS preprocessing)';

/** Whole-render settings; the default batch is marked (the default render graph, prefix reuse, is timed per layer: prefix.ts). */
export function pipelineLabel(s: PipelineSettings, isDefault: boolean): string {
  return `pipeline ${s.render} batch ${s.batch}, inflight ${s.inflight}${isDefault ? ' (default batch)' : ''}`;
}

export const sameSettings = (a: PipelineSettings, b: PipelineSettings): boolean => a.batch === b.batch && a.inflight === b.inflight && a.render === b.render;

/** Idle time before each timed run, so the previous run's onnxruntime threads stop spinning. */
const SETTLE_MS = 200;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A full garbage collection, so no run pays for the previous one's garbage: without it the
 * pipeline run right after the naive loop (thousands of small typed arrays) was up to ~20% slower.
 * `gc` is exposed at run time because `npm run bench` starts node without --expose-gc.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * Resident memory one render of a pipeline batch holds, measured here with onnxruntime 1.30 on
 * FFHQ-1024: the process held 22.7 GiB after batches of 16 (the session grew again on its second
 * run), ~1.4 GiB per render; assumed to scale with the pixels.
 */
const RESIDENT_PER_1024_RENDER = 1.4 * 2 ** 30;

/** A setting is skipped when its estimated resident memory exceeds this share of the machine's. */
const MEMORY_SHARE = 0.5;

export function residentEstimate(resolution: number, batch: number): number {
  return batch * RESIDENT_PER_1024_RENDER * (resolution / 1024) ** 2;
}

/** A workload of exactly one batch of `batch` renders, cut from `w`. */
function oneBatch(w: Workload, batch: number): Workload {
  const pairs = batch / 2;
  if (pairs <= w.channels.length) return { ...w, channels: w.channels.slice(0, pairs), samples: 1 };
  return { ...w, samples: Math.ceil(pairs / w.channels.length) };
}

/** What a schedule runs: the settings that fit this machine, the default among them if it fits. */
interface Schedule {
  reps: number;
  byDefault: PipelineSettings;
  settings: readonly PipelineSettings[];
}

interface Job {
  label: string;
  kind: 'naive' | 'pipeline';
  settings?: PipelineSettings;
  run: () => Promise<Float32Array[]>;
  rates: number[];
  result?: Float32Array[];
  residentBytes?: number;
}

async function timeRep(job: Job, renders: number, rep: string, log: (m: string) => void): Promise<void> {
  collectGarbage();
  await pause(SETTLE_MS);
  const s = await seconds(async () => (job.result = await job.run()));
  job.rates.push(renders / s);
  log(`  rep ${rep} ${job.label}: ${(renders / s).toFixed(1)} renders/s`);
}

async function interleaved(models: BenchModels, c: Schedule, w: Workload, log: (m: string) => void): Promise<Job[]> {
  // One session per model: the portable one takes any batch, an NCHWc one is written for its batch.
  const sessions = new Map<string, WorkerSession>();
  const sessionFor = (s: PipelineSettings) => (s.render === 'nchwc' ? `nchwc ${s.batch}` : s.render);
  try {
    for (const s of c.settings) if (!sessions.has(sessionFor(s))) sessions.set(sessionFor(s), await models.openPipeline(s));
    const jobs: Job[] = [
      { label: NAIVE_LABEL, kind: 'naive', run: () => naiveLoop(models, w), rates: [] },
      ...c.settings.map((s): Job => ({ label: pipelineLabel(s, s === c.byDefault), kind: 'pipeline', settings: s, run: () => pipelineRun(models, sessions.get(sessionFor(s))!, w, s), rates: [] })),
    ];
    // Two rounds: after the first, a run could still be slow once its batch size followed a larger one.
    for (let k = 0; k < 2; k++) for (const j of jobs) await j.run();
    for (let r = 0; r < c.reps; r++) {
      for (let k = 0; k < jobs.length; k++) await timeRep(jobs[(k + r) % jobs.length], rendersOf(w), `${r + 1}/${c.reps}`, log);
    }
    return jobs;
  } finally {
    for (const session of sessions.values()) await session.release();
  }
}

async function isolated(models: BenchModels, c: Schedule, w: Workload, log: (m: string) => void): Promise<Job[]> {
  const naive: Job = { label: NAIVE_LABEL, kind: 'naive', run: () => naiveLoop(models, w), rates: [] };
  // Sessions reach full speed on their second or third run (the arena grows, pages fault in).
  await naiveLoop(models, { ...w, channels: w.channels.slice(0, 2), samples: 1 });
  for (let r = 0; r < c.reps; r++) await timeRep(naive, rendersOf(w), `${r + 1}/${c.reps}`, log);
  naive.residentBytes = process.memoryUsage().rss;
  const jobs = [naive];
  for (const s of c.settings) {
    const session = await models.openPipeline(s);
    try {
      const job: Job = { label: pipelineLabel(s, s === c.byDefault), kind: 'pipeline', settings: s, run: () => pipelineRun(models, session, w, s), rates: [] };
      // Two full batches first: a cold batch of 1024² renders ran up to ~3× slower (page faults).
      for (let k = 0; k < 2; k++) await pipelineRun(models, session, oneBatch(w, s.batch), s);
      for (let r = 0; r < c.reps; r++) await timeRep(job, rendersOf(w), `${r + 1}/${c.reps}`, log);
      job.residentBytes = process.memoryUsage().rss;
      jobs.push(job);
    } finally {
      await session.release();
    }
  }
  return jobs;
}

export async function runConfig(root: string, c: BenchConfig, runtime: RuntimeOptions, log: (m: string) => void): Promise<ConfigResult> {
  const t0 = performance.now();
  const models = await BenchModels.open(join(root, 'models', c.generator), join(root, 'models', c.encoder), runtime, 256);
  try {
    const workload: Workload = { channels: models.spreadChannels(c.channels), samples: c.samples, sampleSeed: 0, psi: 0.7, alphaP: 5 };
    const setupSeconds = (performance.now() - t0) / 1000;
    log(`${c.name}: models open in ${setupSeconds.toFixed(1)} s; ${rendersOf(workload)} renders per measurement, ${c.reps} reps, ${c.schedule}`);
    const resolution = models.gen.arch.resolution;
    const byDefault = c.defaultSetting(resolution);
    const settings = [byDefault, ...c.settings.filter((s) => !sameSettings(s, byDefault))];
    const budget = MEMORY_SHARE * totalmem();
    const skipped = settings
      .map((s) => ({ label: pipelineLabel(s, s === byDefault), need: residentEstimate(resolution, s.batch) }))
      .filter((x) => x.need > budget)
      .map((x) => ({ label: x.label, reason: `would hold ~${(x.need / 2 ** 30).toFixed(0)} GiB resident, over ${MEMORY_SHARE * 100}% of this machine's ${(totalmem() / 2 ** 30).toFixed(1)} GiB` }));
    const runnable: Schedule = { reps: c.reps, byDefault, settings: settings.filter((s) => residentEstimate(resolution, s.batch) <= budget) };
    for (const x of skipped) log(`${c.name}: skipping ${x.label}: ${x.reason}`);
    const cpu = markCpu();
    const jobs = await (c.schedule === 'interleaved' ? interleaved : isolated)(models, runnable, workload, log);
    const others = othersCores(cpu);
    const analyses: Analysis[] = [];
    for (const s of c.analyse ?? []) analyses.push(await analyse(models, s, log));
    const flops = renderFlops(models.gen.arch, models.enc.manifest);
    const prefix = c.prefix ? await measurePrefix(models, flops, { batch: byDefault.batch, ...c.prefix }, log) : undefined;
    return {
      name: c.name,
      generator: c.generator,
      encoder: c.encoder,
      channels: [...workload.channels],
      samples: c.samples,
      renders: rendersOf(workload),
      flops,
      setupSeconds,
      runs: jobs.map((j) => ({
        label: j.label,
        kind: j.kind,
        settings: j.settings,
        isDefault: j.settings === byDefault,
        rendersPerSecond: spread(j.rates),
        residentBytes: j.residentBytes,
      })),
      agreement: jobs.length > 1 ? maxDifference(jobs[0].result!, jobs[1].result!) : Number.NaN,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      othersCores: others,
      skipped,
      analyses,
      prefix,
    };
  } finally {
    await models.release();
  }
}
