/**
 * Where a render's time goes, for one pipeline setting, measured after the timed runs and in
 * sessions of their own (profiling slows every kernel, so it never touches a timed session):
 *   profile:   onnxruntime's profiler over the fused render+encode model the setting runs, two
 *              warm-ups and `PROFILED` profiled runs of one batch; kernel time grouped by op type,
 *              per render;
 *   synthesis: the setting's synthesis alone (no preprocessing, no image tower), timed around
 *              onnxruntime's run() at the setting's batch; its FLOPs are synthesisFlops', so its
 *              FLOP/s reads against the one-convolution peak of the same bench run.
 */
import { buildSynthesisModel, describeRenderGraph, renderBatch } from '../../pipeline/models/fused.ts';
import { suffixOptions } from '../../pipeline/models/prefix-render.ts';
import { buildSuffixImageGraph } from '../../pipeline/models/render-graphs.ts';
import { type ProfileEvent, type SetModelOptions, type TensorValue, float32, lastRunKernels, openTimedModel, profileModelRuns } from '../../pipeline/models/runtime.ts';
import { styleLayers, synthesisFlops } from '../../pipeline/onnx/stylegan2/arch.ts';
import { styleInputName } from '../../pipeline/onnx/stylegan2/graphs.ts';
import { openPeakConv } from './peak.ts';
import { type RoleTime, measureStream, roleSplit } from './roles.ts';
import { type Spread, spread } from './stats.ts';
import type { BenchModels, PipelineSettings } from './workloads.ts';

/**
 * Runs profiled after two warm-up runs (their kernel times are averaged): a session's first two
 * runs are the slow ones (the arena grows; with a memory pattern the second run lays it out), so
 * one warm-up put those costs into the profiled ops — e.g. a 1024² Concat at 245 ms, 13 ms after.
 */
const PROFILED = 2;
const PROFILE_WARMUP = 2;
const SYNTHESIS_RUNS = { warmup: 2, timed: 5 };

export interface OpTime {
  /** The node's op type as onnxruntime ran it (after its graph rewrites: fused and NCHWc nodes included). */
  op: string;
  /** Kernel time per render, ms. */
  ms: number;
  /** Nodes of this type that ran. */
  nodes: number;
}

export interface Analysis {
  settings: PipelineSettings;
  /** Wall time of one profiled run per render (model_run), ms; kernels are the part inside nodes. */
  runMs: number;
  kernelMs: number;
  ops: OpTime[];
  /** The synthesis alone: seconds per render of each timed run, its FLOPs per render, and against the paired peak. */
  synthesis: SynthesisTiming;
}

/** Kernel time by op type in the last `runs` model runs of a trace, ms per render. */
export function opSplit(events: readonly ProfileEvent[], runs: number, renders: number): { runMs: number; kernelMs: number; ops: OpTime[] } {
  const { runs: last, kernels } = lastRunKernels(events, runs);
  const per = 1000 * runs * renders; // µs summed over runs → ms per render
  const byOp = new Map<string, { us: number; nodes: Set<string> }>();
  for (const e of kernels) {
    const op = String(e.args?.op_name ?? 'unknown');
    const entry = byOp.get(op) ?? { us: 0, nodes: new Set<string>() };
    entry.us += e.dur;
    entry.nodes.add(e.name);
    byOp.set(op, entry);
  }
  const ops = [...byOp].map(([op, v]) => ({ op, ms: v.us / per, nodes: v.nodes.size })).sort((a, b) => b.ms - a.ms);
  return { runMs: last.reduce((t, r) => t + r.dur, 0) / per, kernelMs: ops.reduce((t, o) => t + o.ms, 0), ops };
}

export async function analyse(models: BenchModels, s: PipelineSettings, log: (m: string) => void): Promise<Analysis> {
  const { gen } = models;
  const render = await models.renderGraph(s.render);
  const batch = s.batch;
  // The samples' own codes: which channel a batch perturbs changes no kernel's work.
  const feeds = gen.synthesisFeeds(await gen.stylesForSeeds(Array.from({ length: batch }, (_, i) => i), 0.7), batch);
  log(`  profiling ${s.render} batch ${batch}: ${PROFILE_WARMUP} warm-up + ${PROFILED} profiled runs`);
  const events = await profileModelRuns(await models.fusedModel(s), feeds, { warmup: PROFILE_WARMUP, profiled: PROFILED }, models.runtime);
  const split = opSplit(events, PROFILED, batch);
  log(`  timing the ${s.render} synthesis alone at batch ${batch}`);
  return { settings: s, ...split, synthesis: await timeSynthesis(models, buildSynthesisModel(gen, render, renderBatch(render, batch)), feeds, batch, {}) };
}

/**
 * The default render graph's synthesis alone: prefix reuse's suffix of the first style layer (the
 * whole synthesis in the form every cut graph takes: the perturbed layer's styles [B, C], every
 * later layer's the sample's [1, C]) in the default's layout, without preprocessing, at `batch`.
 * Timed in a bare session opened as a build opens its suffix (suffixOptions: the blocked layout
 * without a memory pattern).
 */
export async function analyseDefaultSynthesis(models: BenchModels, batch: number, log: (m: string) => void): Promise<DefaultSynthesis> {
  const { gen } = models;
  const render = await models.renderGraph('auto');
  if (render.kind !== 'prefix') throw new Error('the default render graph here is not prefix reuse');
  const all = styleLayers(gen.arch);
  const own = await gen.stylesForSeeds([0], 0.7);
  const feeds = Object.fromEntries(
    gen.layout.layers.map((l) => {
      const s = own.slice(l.offset, l.offset + l.channels);
      if (l.name !== all[0].name) return [styleInputName(l.name), float32(s, [1, l.channels])];
      const rows = new Float32Array(batch * l.channels);
      for (let r = 0; r < batch; r++) rows.set(s, r * l.channels);
      return [styleInputName(l.name), float32(rows, [batch, l.channels])];
    }),
  );
  log(`  timing the default's synthesis alone (suffix of ${all[0].name}) at batch ${batch}`);
  const model = buildSuffixImageGraph(render.folded(), render.layout, { first: 0, renderTo: gen.arch.resolution, batch }).toBytes();
  const timing = await timeSynthesis(models, model, feeds, batch, suffixOptions(render.layout));
  log(`  profiling it by pass role (${PROFILE_WARMUP} warm-up + ${PROFILED} profiled runs), then the DRAM stream rate`);
  const roles = roleSplit(await profileModelRuns(model, feeds, { warmup: PROFILE_WARMUP, profiled: PROFILED }, models.runtime, suffixOptions(render.layout)), PROFILED, batch);
  return { graph: describeRenderGraph(render), ...timing, roles, stream: await measureStream(models.runtime) };
}

/**
 * A synthesis model timed at `batch`, each timed run right after three runs of the peak convolution (their median rate):
 * the pair's FLOP/s ratio cancels the machine's drift, which the run's one peak (measured minutes
 * away) does not.
 */
async function timeSynthesis(models: BenchModels, model: Uint8Array, feeds: Record<string, TensorValue>, batch: number, each: SetModelOptions): Promise<SynthesisTiming> {
  const flopsPerRender = synthesisFlops(models.gen.arch);
  const [synth, peak] = [await openTimedModel(model, feeds, models.runtime, each), await openPeakConv(models.runtime)];
  try {
    for (let i = 0; i < SYNTHESIS_RUNS.warmup; i++) {
      await synth.time();
      await peak.time();
    }
    const times: number[] = [];
    const ofPeak: number[] = [];
    for (let i = 0; i < SYNTHESIS_RUNS.timed; i++) {
      const rate = await peak.rate();
      const ts = await synth.time();
      times.push(ts);
      ofPeak.push((flopsPerRender * batch) / ts / rate);
    }
    return { secondsPerRender: spread(times.map((t) => t / batch)), flopsPerRender, batch, ofPeakPaired: spread(ofPeak) };
  } finally {
    await synth.release();
    await peak.release();
  }
}

export interface SynthesisTiming {
  secondsPerRender: Spread;
  flopsPerRender: number;
  batch: number;
  /** FLOP/s ÷ the one-conv peak's, each run against the peak's rate just before it (PeakConv.rate). */
  ofPeakPaired: Spread;
}

export interface DefaultSynthesis extends SynthesisTiming {
  graph: string;
  /** Its profile split by pass role (roles.ts), per render at the same batch. */
  roles: RoleTime[];
  /** The DRAM stream rate, bytes/s, measured right after (roles.ts). */
  stream: Spread;
}

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const pct = (v: number): string => `${(100 * v).toFixed(v < 0.1 ? 1 : 0)}%`;
const gflops = (v: number): string => `${(v / 1e9).toFixed(v >= 1e11 ? 0 : 1)} GFLOP/s`;
/** Op types under this share of every profiled run's kernel time are summed into one row. */
const MINOR = 0.01;

/**
 * One line of the synthesis alone: ms per render, FLOP/s, its share of the run's one-conv peak,
 * and its share of the peak rate measured just before each of its runs (median [min–max]).
 */
export function synthesisRow(label: string, t: SynthesisTiming, peak: number): string {
  const rate = t.flopsPerRender / t.secondsPerRender.median;
  const s = t.secondsPerRender;
  const p = t.ofPeakPaired;
  return `    ${label.padEnd(14)} ${ms(1000 * s.median).padStart(7)} ms/render [${ms(1000 * s.min)}–${ms(1000 * s.max)}]  ${gflops(rate).padStart(14)}  ${pct(rate / peak).padStart(4)} of the run's one-conv peak; paired ${pct(p.median).padStart(4)} [${pct(p.min)}–${pct(p.max)}]`;
}

export function analysisSection(analyses: readonly Analysis[], peak: number): string[] {
  if (analyses.length === 0) return [];
  const name = (a: Analysis) => `${a.settings.render} b${a.settings.batch}`;
  const lines = ['', `  synthesis alone (its own session at the setting's batch, ${SYNTHESIS_RUNS.timed} runs timed around run(), after ${SYNTHESIS_RUNS.warmup} warm-up; paired: each run's FLOP/s ÷ the one-conv peak's median of 3 runs just before it):`];
  for (const a of analyses) lines.push(synthesisRow(name(a), a.synthesis, peak));
  const major = new Set(analyses.flatMap((a) => a.ops.filter((o) => o.ms >= MINOR * a.kernelMs).map((o) => o.op)));
  const order = [...major].sort((x, y) => Math.max(...analyses.map((a) => opMs(a, y))) - Math.max(...analyses.map((a) => opMs(a, x))));
  const cell = (a: Analysis, v: number) => `${ms(v).padStart(8)} ${pct(v / a.kernelMs).padStart(5)}`;
  lines.push(
    '',
    `  where one render's time goes (onnxruntime profiler on the fused model, a session of its own; ${PROFILE_WARMUP} warm-up + ${PROFILED} profiled runs; kernel ms per render and share):`,
    `    ${'op type'.padEnd(22)}${analyses.map((a) => name(a).padStart(15)).join('')}`,
  );
  for (const op of order) lines.push(`    ${op.padEnd(22)}${analyses.map((a) => cell(a, opMs(a, op))).join('')}`);
  lines.push(`    ${'other op types'.padEnd(22)}${analyses.map((a) => cell(a, a.ops.filter((o) => !major.has(o.op)).reduce((t, o) => t + o.ms, 0))).join('')}`);
  lines.push(`    ${'all kernels'.padEnd(22)}${analyses.map((a) => cell(a, a.kernelMs)).join('')}`);
  lines.push(`    ${'whole run (profiled)'.padEnd(22)}${analyses.map((a) => `${ms(a.runMs).padStart(8)}      `).join('')}`);
  return lines;
}

function opMs(a: Analysis, op: string): number {
  return a.ops.find((o) => o.op === op)?.ms ?? 0;
}
