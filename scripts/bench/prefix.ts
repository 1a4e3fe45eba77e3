/**
 * The default render graph, prefix reuse (pipeline/models/prefix-render.ts), timed per style layer
 * and composed into what one render of a build of the conv channel set costs:
 *   for each conv layer l: its models opened as a build opens them (one worker, prefix + suffix →
 *   image tower), one warm-up, then `reps` timed runs of prefix(l) (one sample, batch 1) and of
 *   suffix(l) at the default batch B;
 *   ms per render of l = t_suffix / B + t_prefix / (2 · min(chunk, C_l)) — a chunk's channels of
 *   one layer share each sample's prefix — and the build's ms per render is the mean over the
 *   set's channels (each layer weighted by its channel count).
 * The composition leaves out the main thread's work between runs (the relevance loop overlaps it
 * with the worker's) and the layer switches (~10 s per layer at FFHQ-1024, once per layer per
 * build). On tiny, `actual` also times the real loop (computeChunk over every conv channel) so the
 * composition can be read against it.
 */
import { type RenderGraph, describeRenderGraph } from '../../pipeline/models/fused.ts';
import { LayerRenderer } from '../../pipeline/models/prefix-render.ts';
import { layerFlops, styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';
import { computeChunk } from '../../pipeline/stages/relevance.ts';
import { RELEVANCE_DEFAULTS, type RelevanceConfig, channelsOf } from '../../pipeline/stages/relevance-plan.ts';
import type { RenderFlops } from './flops.ts';
import { type Spread, seconds, spread } from './stats.ts';
import type { BenchModels } from './workloads.ts';
import { openPeakConv } from './peak.ts';
import { type DefaultSynthesis, analyseDefaultSynthesis, synthesisRow } from './analysis.ts';
import { rolesSection } from './roles.ts';

export interface PrefixLayer {
  name: string;
  resolution: number;
  channels: number;
  prefixMs: Spread;
  suffixMs: Spread;
  msPerRender: number;
  /** FLOPs of one render of this layer's channels: its suffix, preprocessing and the image tower. */
  flopsPerRender: number;
  /** ms per render ÷ a whole render's, from suffix runs each paired with a whole render. */
  vsWhole: number;
  /** ms per render ÷ the full exact render's FLOP floor at the peak rate measured just before each rep's runs. */
  vsFloorPaired: number;
}

export interface PrefixResult {
  batch: number;
  chunk: number;
  reps: number;
  /** describeRenderGraph of the default here (its layout: NCHWc on the CPU provider). */
  graph: string;
  /** The default's synthesis alone (its first layer's suffix without preprocessing: analysis.ts). */
  synthesis: DefaultSynthesis;
  layers: PrefixLayer[];
  /** Channel-weighted means over the conv set. */
  msPerRender: number;
  flopsPerRender: number;
  vsWhole: number;
  vsFloorPaired: number;
  /** tiny only: renders/s of computeChunk over every conv channel (the real loop), both ways. */
  actual?: { renders: number; prefix: Spread; portable?: Spread; whole: Spread };
  residentBytes: number;
  seconds: number;
}

export async function measurePrefix(m: BenchModels, flops: RenderFlops, opts: { batch: number; reps: number; actualSamples?: number }, log: (msg: string) => void): Promise<PrefixResult> {
  const t0 = performance.now();
  const render = await m.renderGraph('auto');
  if (render.kind !== 'prefix') throw new Error('prefix reuse: the bench needs a synthesis it can cut');
  log(`  the default render graph here: ${describeRenderGraph(render)}`);
  const synthesis = await analyseDefaultSynthesis(m, opts.batch, log);
  const { gen } = m;
  const all = styleLayers(gen.arch);
  const chunk = RELEVANCE_DEFAULTS.chunk;
  const own = await gen.stylesForSeeds([0], 0.7);
  const wholeCodes = new Float32Array(opts.batch * gen.layout.total);
  for (let r = 0; r < opts.batch; r++) wholeCodes.set(own, r * gen.layout.total);
  const wholeFeeds = gen.synthesisFeeds(wholeCodes, opts.batch);
  const whole = await m.openPipeline({ batch: opts.batch, inflight: RELEVANCE_DEFAULTS.inflight, render: 'portable' });
  const peak = await openPeakConv(m.runtime);
  for (let k = 0; k < 2; k++) await peak.time();
  for (let k = 0; k < 2; k++) await whole.run(wholeFeeds, ['image_embeds']);
  const layers: PrefixLayer[] = [];
  for (const slot of gen.layout.layers.filter((l) => l.kind === 'conv')) {
    const index = all.findIndex((l) => l.name === slot.name);
    const renderer = new LayerRenderer(gen, m.enc, render.folded, undefined, m.runtime, render.layout, opts.batch);
    try {
      const runs = await renderer.open(index);
      const variants = new Float32Array(opts.batch * slot.channels);
      for (let r = 0; r < opts.batch; r++) {
        variants.set(own.subarray(slot.offset, slot.offset + slot.channels), r * slot.channels);
        variants[r * slot.channels + (r >> 1)] = m.mu[slot.offset + (r >> 1)] + (r % 2 ? -5 : 5) * m.sigma[slot.offset + (r >> 1)];
      }
      let seam = await runs.seam(own);
      // Warm-up: a fresh session's first runs are up to ~1.7× slower (the arena grows, pages fault in).
      for (let k = 0; k < 2; k++) await runs.embed(seam, variants, opts.batch, own);
      const pre: number[] = [];
      const suf: number[] = [];
      const ratios: number[] = [];
      const peakRates: number[] = [];
      for (let r = 0; r < opts.reps; r++) {
        peakRates.push(await peak.rate());
        pre.push(1000 * (await seconds(async () => (seam = await runs.seam(own)))));
        // Each suffix run paired with a whole render of the same batch right before it: the
        // machine's speed drifts by up to 2× over minutes here, the pair's ratio does not.
        const tw = await seconds(() => whole.run(wholeFeeds, ['image_embeds']));
        const ts = await seconds(() => runs.embed(seam, variants, opts.batch, own));
        suf.push(1000 * ts);
        ratios.push(ts / tw);
      }
      const [prefixMs, suffixMs, vsWhole] = [spread(pre), spread(suf), spread(ratios)];
      const pairs = Math.min(chunk, slot.channels);
      // A chunk's channels of one layer share each sample's prefix (none before the first layer).
      const perRender = (suffix: number, prefix: number) => suffix / opts.batch + (index === 0 ? 0 : prefix / (2 * pairs));
      const msPerRender = perRender(suffixMs.median, prefixMs.median);
      const flopsPerRender = all.slice(index).reduce((s, l) => s + layerFlops(l), 0) + flops.preprocess + flops.visual;
      // The layer's ms per render against a whole render's, from the paired runs.
      const ratio = vsWhole.median * (msPerRender / (suffixMs.median / opts.batch));
      // Against the floor at the peak measured just before each rep's runs (1000 · FLOPs / rate: ms).
      const vsFloorPaired = spread(suf.map((t, r) => perRender(t, pre[r]) / ((1000 * flops.total) / peakRates[r]))).median;
      layers.push({ name: slot.name, resolution: slot.resolution, channels: slot.channels, prefixMs, suffixMs, msPerRender, flopsPerRender, vsWhole: ratio, vsFloorPaired });
      log(`  prefix reuse ${slot.name}: prefix ${prefixMs.median.toFixed(1)} ms, suffix batch ${opts.batch} ${suffixMs.median.toFixed(1)} ms → ${msPerRender.toFixed(2)} ms/render, ${ratio.toFixed(2)}× a whole render's`);
    } finally {
      await renderer.release();
    }
  }
  await whole.release();
  await peak.release();
  const weight = layers.reduce((s, l) => s + l.channels, 0);
  const mean = (f: (l: PrefixLayer) => number) => layers.reduce((s, l) => s + l.channels * f(l), 0) / weight;
  const actual = opts.actualSamples ? await actualLoop(m, render, opts.batch, opts.actualSamples) : undefined;
  return {
    batch: opts.batch,
    chunk,
    reps: opts.reps,
    graph: describeRenderGraph(render),
    synthesis,
    layers,
    msPerRender: mean((l) => l.msPerRender),
    flopsPerRender: mean((l) => l.flopsPerRender),
    vsWhole: mean((l) => l.vsWhole),
    vsFloorPaired: mean((l) => l.vsFloorPaired),
    actual,
    residentBytes: process.memoryUsage().rss,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * computeChunk over every conv channel, chunk by chunk as a build runs them, with prefix reuse and
 * with the whole portable render, alternated (two rounds each, after one warm-up chunk each).
 */
async function actualLoop(m: BenchModels, render: Extract<RenderGraph, { kind: 'prefix' }>, batch: number, samples: number): Promise<PrefixResult['actual']> {
  const channels = channelsOf(m.gen.layout, 'conv');
  const chunk = RELEVANCE_DEFAULTS.chunk;
  const config = { samples, alphaP: 5, psi: 0.7, sampleSeed: 0, batch } as RelevanceConfig;
  const layers = new LayerRenderer(m.gen, m.enc, render.folded, undefined, m.runtime, render.layout, batch);
  // The default in the portable layout too, where the default is the blocked one (what --render-graph prefix runs).
  const portable = render.layout.kind === 'portable' ? undefined : new LayerRenderer(m.gen, m.enc, render.folded, undefined, m.runtime, { kind: 'portable' }, batch);
  const session = await m.openPipeline({ batch, inflight: RELEVANCE_DEFAULTS.inflight, render: 'portable' });
  const rates = { prefix: [] as number[], portable: [] as number[], whole: [] as number[] };
  const modes = portable ? (['prefix', 'portable', 'whole'] as const) : (['prefix', 'whole'] as const);
  try {
    for (const round of [0, 1, 2]) {
      for (const mode of modes) {
        let renders = 0;
        const how = mode === 'prefix' ? { layers } : mode === 'portable' ? { layers: portable } : { session };
        const ctx = { gen: m.gen, config, mu: m.mu, sigma: m.sigma, dim: m.enc.dim, inflight: RELEVANCE_DEFAULTS.inflight, onRenders: (n: number) => (renders += n), ...how };
        const todo = round === 0 ? channels.slice(0, chunk) : channels; // round 0 warms up
        const s = await seconds(async () => {
          for (let i = 0; i < todo.length; i += chunk) await computeChunk(ctx, { index: i, channels: todo.slice(i, i + chunk) });
        });
        if (round > 0) rates[mode].push(renders / s);
      }
    }
  } finally {
    await layers.release();
    await portable?.release();
    await session.release();
  }
  return { renders: 2 * samples * channels.length, prefix: spread(rates.prefix), ...(portable ? { portable: spread(rates.portable) } : {}), whole: spread(rates.whole) };
}

const f2 = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The report's lines: per layer, then the composed default against the full exact render's floor. */
export function prefixSection(p: PrefixResult, peak: number, fullFlops: number, wholeMsPerRender?: number): string[] {
  const floorFull = (1000 * fullFlops) / peak;
  const lines = [
    '',
    `  prefix reuse (the default render graph: ${p.graph}), per conv layer: ${p.reps} timed rounds each after two warm-up runs, batch ${p.batch}, chunk ${p.chunk}; ms per render = suffix/B + prefix/(2·min(chunk, C_l)):`,
    `    ${'layer'.padEnd(12)} ${'C_l'.padStart(5)} ${'prefix ms'.padStart(10)} ${'suffix ms'.padStart(10)} ${'ms/render'.padStart(10)} ${'GFLOP/render'.padStart(13)} ${'FLOPs ÷ whole'.padStart(14)} ${'time ÷ whole'.padStart(13)} ${'× floor, paired'.padStart(16)}`,
  ];
  for (const l of p.layers) {
    lines.push(
      `    ${l.name.padEnd(12)} ${String(l.channels).padStart(5)} ${f2(l.prefixMs.median).padStart(10)} ${f2(l.suffixMs.median).padStart(10)} ${f2(l.msPerRender).padStart(10)} ${(l.flopsPerRender / 1e9).toPrecision(3).padStart(13)} ${(l.flopsPerRender / fullFlops).toFixed(2).padStart(14)} ${l.vsWhole.toFixed(2).padStart(13)} ${l.vsFloorPaired.toFixed(2).padStart(16)}`,
    );
  }
  const s = p.synthesis;
  lines.push(
    `    the default's synthesis alone (the first layer's suffix, without preprocessing: the whole synthesis in the form every cut graph takes), batch ${s.batch}:`,
    synthesisRow('  default', s, peak),
    ...rolesSection(s.roles, s.stream, peak, s.flopsPerRender, s.batch),
  );
  const byDefault = wholeMsPerRender === undefined ? undefined : p.vsWhole * wholeMsPerRender;
  lines.push(
    `    (time ÷ whole: each suffix run paired with a whole render of the same batch just before it, so the machine's drift cancels; the prefix share added)`,
    `    conv set (channel-weighted): ${p.vsWhole.toFixed(2)}× a whole render's time for ${((100 * p.flopsPerRender) / fullFlops).toFixed(0)}% of its FLOPs (${(p.flopsPerRender / 1e9).toPrecision(3)} GFLOP/render)` +
      (byDefault === undefined ? '' : `; applied to the whole render's ${f2(wholeMsPerRender!)} ms/render above: ${f2(byDefault)} ms/render = ${(byDefault / floorFull).toFixed(2)}× the full exact render's floor (${f2(floorFull)} ms)`),
    `    composed from this section's own times: ${f2(p.msPerRender)} ms/render (taken later than the rows above, so at the machine's speed then)`,
    `    against the floor at the peak measured right before each layer's runs (× floor, paired: the median of 3 peak runs before each rep; channel-weighted): ${p.vsFloorPaired.toFixed(2)}× the full exact render's floor`,
  );
  if (p.actual) {
    const a = p.actual;
    const text = (r: Spread) => `${f2(r.median)} renders/s [${f2(r.min)}–${f2(r.max)}] = ${f2(1000 / r.median)} ms/render = ${(1000 / r.median / floorFull).toFixed(2)}× floor`;
    lines.push(
      `    the real loop, computeChunk over every conv channel in chunks of ${p.chunk} (${a.renders} renders, layer switches included), alternated, ${a.prefix.reps} rounds:`,
      `      prefix reuse ${text(a.prefix)} (composition above: ${f2(p.msPerRender)} ms)`,
      ...(a.portable ? [`      prefix reuse, portable layout ${text(a.portable)}; default/portable-layout ${(a.prefix.median / a.portable.median).toFixed(2)}×`] : []),
      `      whole render ${text(a.whole)}; prefix/whole ${(a.prefix.median / a.whole.median).toFixed(2)}×`,
    );
  }
  lines.push(`    took ${p.seconds.toFixed(0)} s; resident set after it ${(p.residentBytes / 2 ** 30).toFixed(1)} GiB`);
  return lines;
}
