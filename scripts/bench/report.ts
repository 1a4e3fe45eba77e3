/**
 * The machine a bench ran on, and the printed report: renders/s side by side, ratios, FLOPs per
 * render, achieved FLOP/s against the single-convolution peak and the FLOP floor.
 * `describeMachine` reads the system; `renderReport` is pure (returns the text).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { type Device, runtimeVersion } from '../../pipeline/models/runtime.ts';
import { type PeakResult, describeConv } from './peak.ts';
import type { Spread } from './stats.ts';
import type { ConfigResult } from './suite.ts';
import { analysisSection } from './analysis.ts';
import { prefixSection } from './prefix.ts';
import { type MapperBenchResult, mapperSection } from './mapper.ts';
import { type OptimiseBenchResult, optimiseSection } from './optimise.ts';

export interface Machine {
  cpu: string;
  cores: number;
  simd: string[];
  memoryGiB: number;
  node: string;
  onnxruntime: string;
  device: Device;
  threads: string;
}

function simdFlags(): string[] {
  try {
    const flags = new Set(/^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? []);
    return ['avx512f', 'avx2', 'fma', 'neon', 'asimd'].filter((f) => flags.has(f));
  } catch {
    return []; // not Linux: the model name alone
  }
}

export function describeMachine(device: Device): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    simd: simdFlags(),
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    onnxruntime: runtimeVersion(),
    device,
    threads: 'onnxruntime default (one per core)',
  };
}

export function loadAverage(): number {
  return loadavg()[0];
}

export interface BenchReport {
  machine: Machine;
  load: { start: number; end: number };
  /** Cores' worth of CPU other processes used during the whole bench (undefined off Linux). */
  othersCores?: number;
  peak: PeakResult[];
  configs: ConfigResult[];
  /** Method 1's seconds per optimisation step. */
  optimise: OptimiseBenchResult[];
  /** Method 2's seconds per training step. */
  mapper: MapperBenchResult[];
  skipped: { name: string; reason: string }[];
  seconds: number;
}

/** All timed repetitions of the peak convolution, before and after the configurations. */
export function peakFlopsPerSecond(peaks: readonly PeakResult[]): number {
  return Math.max(...peaks.map((p) => p.flopsPerSecond.median));
}

const si = (v: number, unit: string): string => {
  const [d, p] = v >= 1e12 ? [1e12, 'T'] : v >= 1e9 ? [1e9, 'G'] : v >= 1e6 ? [1e6, 'M'] : v >= 1e3 ? [1e3, 'k'] : [1, ''];
  return `${(v / d).toPrecision(3)} ${p}${unit}`;
};
const fixed = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const pct = (v: number): string => `${(100 * v).toFixed(v < 0.1 ? 1 : 0)}%`;
const spreadText = (s: Spread, f: (v: number) => string): string => (s.reps > 1 ? `[${f(s.min)}–${f(s.max)}]` : '');

const othersText = (cores: number | undefined, of: number): string =>
  cores === undefined ? 'other processes: unknown (not Linux)' : `other processes used ${cores.toFixed(2)} of ${of} cores`;

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function memoryText(c: ConfigResult): string {
  const each = c.runs.filter((r) => r.residentBytes !== undefined).map((r) => `${r.settings ? `${r.settings.render} batch ${r.settings.batch}` : 'naive'} ${gib(r.residentBytes!)}`);
  const peak = `peak resident set of the bench so far ${gib(c.maxRssBytes)}`;
  return each.length ? `resident set while measured: ${each.join(', ')}; ${peak}` : peak;
}

function configSection(c: ConfigResult, peak: number, cores: number): string[] {
  const f = c.flops;
  const lines = [
    `${c.generator} + ${c.encoder} — ${c.channels.length} channels × ${c.samples} samples × ± = ${c.renders} renders per measurement, ${c.runs[0].rendersPerSecond.reps} reps`,
    `  FLOPs per render   ${si(f.total, 'FLOP')} = synthesis ${si(f.synthesis, '')} + preprocessing MatMuls ${si(f.preprocess, '')} + image tower ${si(f.visual, '')}`,
    `  FLOP floor         ${fixed((1000 * f.total) / peak)} ms/render at the peak below (${fixed(peak / f.total)} renders/s)`,
    '',
    `  ${'run'.padEnd(50)} ${'renders/s median [min–max]'.padEnd(28)} ${'ms/render'.padStart(9)} ${'× floor'.padStart(8)} ${'× naive'.padStart(8)} ${'FLOP/s'.padStart(11)} ${'of peak'.padStart(8)}`,
  ];
  const floorMs = (1000 * f.total) / peak;
  const naive = c.runs[0].rendersPerSecond.median;
  for (const r of c.runs) {
    const m = r.rendersPerSecond.median;
    const rate = `${fixed(m)} ${spreadText(r.rendersPerSecond, fixed)}`;
    lines.push(
      `  ${r.label.padEnd(50)} ${rate.padEnd(28)} ${fixed(1000 / m).padStart(9)} ${(1000 / m / floorMs).toFixed(2).padStart(8)} ${(m / naive).toFixed(2).padStart(8)} ${si(m * f.total, 'FLOP/s').padStart(11)} ${pct((m * f.total) / peak).padStart(8)}`,
    );
  }
  for (const k of c.skipped) lines.push(`  ${k.label.padEnd(50)} skipped: ${k.reason}`);
  lines.push(`  (× floor: ms per render ÷ the FLOP floor of the full exact render, ${fixed(floorMs)} ms)`);
  const pipelines = c.runs.filter((r) => r.kind === 'pipeline');
  const ratio = (r: { rendersPerSecond: Spread }) => `${(r.rendersPerSecond.median / naive).toFixed(2)}×`;
  const byDefault = pipelines.find((r) => r.isDefault);
  const best = pipelines.length ? pipelines.reduce((a, b) => (b.rendersPerSecond.median > a.rendersPerSecond.median ? b : a)) : undefined;
  lines.push(
    '',
    `  ratio pipeline/naive (whole renders): ${byDefault ? `${ratio(byDefault)} at the default batch` : 'default batch not run'}${best ? `, ${ratio(best)} at the best (${best.label.replace('pipeline ', '').replace(' (default batch)', ', the default batch')})` : ''}${c.prefix && byDefault ? `; prefix reuse (the default): ${(byDefault.rendersPerSecond.median / naive / c.prefix.vsWhole).toFixed(2)}×` : ''}`,
    `  same work: max |Δi naive − Δi pipeline| = ${c.agreement.toExponential(1)} (JS float64 vs ONNX float32 preprocessing); models opened in ${c.setupSeconds.toFixed(1)} s`,
    `  noise: ${othersText(c.othersCores, cores)} while these reps ran (above ~0.1 the spread widens)`,
    `  memory: ${memoryText(c)}`,
    ...analysisSection(c.analyses, peak),
    ...(c.prefix ? prefixSection(c.prefix, peak, f.total, byDefault ? 1000 / byDefault.rendersPerSecond.median : undefined) : []),
  );
  return lines;
}

export function renderReport(r: BenchReport): string {
  const m = r.machine;
  const peak = peakFlopsPerSecond(r.peak);
  const lines = [
    'StyleAtlas bench — channel-relevance renders (synthesis → CLIP preprocessing → image tower)',
    '',
    `machine   ${m.cpu}, ${m.cores} cores${m.simd.length ? ` (${m.simd.join(', ')})` : ''}, ${m.memoryGiB.toFixed(1)} GiB; Node ${m.node}; onnxruntime-node ${m.onnxruntime}; device ${m.device}; threads: ${m.threads}`,
    `load      1-min load average ${r.load.start.toFixed(2)} before the bench, ${r.load.end.toFixed(2)} after it (its own threads count too); ${othersText(r.othersCores, m.cores)} during it`,
  ];
  r.peak.forEach((p, i) => {
    const s = p.flopsPerSecond;
    lines.push(
      `${i === 0 ? 'peak     ' : '         '} ${describeConv(p.shape)}, ${si(p.flops, 'FLOP')}/run, ${i === 0 ? 'before' : 'after '}: ${si(s.median, 'FLOP/s')} median [${si(s.min, '')}–${si(s.max, '')}] of ${s.reps} reps`,
    );
  });
  lines.push(`          peak used below: ${si(peak, 'FLOP/s')} (the higher median: the machine's capacity when least disturbed)`);
  for (const c of r.configs) lines.push('', ...configSection(c, peak, m.cores));
  for (const o of r.optimise) lines.push('', ...optimiseSection(o, peak));
  for (const o of r.mapper) lines.push('', ...mapperSection(o, peak));
  for (const s of r.skipped) lines.push('', `${s.name}: skipped — ${s.reason}`);
  lines.push('', `bench took ${r.seconds.toFixed(0)} s. Medians are compared; [min–max] is the spread over reps. No numbers here are asserted anywhere.`);
  return lines.join('\n');
}
