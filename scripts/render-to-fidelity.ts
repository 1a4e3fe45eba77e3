/**
 * How close `relevance --render-to R` comes to the exact render (docs/render-to.md).
 *
 * For one generator + encoder pair and each R, every conv style layer at resolution ≤ R (toRGB
 * layers skipped), plus the first conv layer above R: K channels spread evenly across the layer,
 * Δi_c computed by the relevance stage's own computeChunk with a LayerRenderer, once with the full
 * render (renderTo undefined) and once with renderTo R (N samples, α_p 5, ψ 0.7, μ/σ over a few
 * stats samples from seed 1 000 000). One chunk per layer, so each layer's models open once per
 * setting. Prints, per R, a markdown table: min / median cosine(Δi render-to, Δi full) over the
 * layer's channels and the median effect ratio (mean ‖d_n‖, render-to / full); asserts that the
 * layer above R gives the full render's bytes (cosine exactly 1). Then the wall seconds of each
 * setting (model open and compute, apart) over the same layers, and their ratio.
 *
 *   node bin/run-ts.mjs scripts/render-to-fidelity.ts --pair tiny --r 32,16 --k 16 --samples 8
 *   node bin/run-ts.mjs scripts/render-to-fidelity.ts --pair ffhq --r 256,128 --k 4 --samples 3
 * Options: --pair tiny|ffhq, --r R,R…, --k K (0: every channel), --samples N, --stats-samples M,
 * --max-res X (only conv layers up to X², plus the one above the largest R; default: the largest R),
 * --generator DIR / --encoder DIR (another bundle in place of the pair's, e.g. trained weights).
 */
import { strict as assert } from 'node:assert';
import { parseArgs } from 'node:util';
import { Encoder } from '../pipeline/models/encoder.ts';
import { renderGraphFor } from '../pipeline/models/fused.ts';
import { Generator } from '../pipeline/models/generator.ts';
import { LayerRenderer } from '../pipeline/models/prefix-render.ts';
import { type StyleLayer, styleLayers } from '../pipeline/onnx/stylegan2/arch.ts';
import { computeChunk } from '../pipeline/stages/relevance.ts';
import { RELEVANCE_DEFAULTS, type RelevanceConfig, defaultBatch } from '../pipeline/stages/relevance-plan.ts';
import { computeStyleStats } from '../pipeline/stages/stats.ts';
import type { ChannelResultRow } from '../pipeline/store/build-db.ts';

const PAIRS = {
  tiny: { gen: 'models/tiny', enc: 'models/colour-world', r: '32,16', k: 16, samples: 8, statsSamples: 256 },
  ffhq: { gen: 'models/ffhq-arch', enc: 'models/vitb32-arch', r: '256,128', k: 4, samples: 3, statsSamples: 64 },
} as const;

const { values } = parseArgs({
  options: {
    pair: { type: 'string', default: 'tiny' },
    r: { type: 'string' },
    k: { type: 'string' },
    samples: { type: 'string' },
    'stats-samples': { type: 'string' },
    'max-res': { type: 'string' },
    generator: { type: 'string' },
    encoder: { type: 'string' },
  },
});
const pairName = values.pair as keyof typeof PAIRS;
const pair = PAIRS[pairName];
if (!pair) throw new Error(`--pair must be one of ${Object.keys(PAIRS).join(', ')}`);
const rs = (values.r ?? pair.r).split(',').map(Number);
const K = Number(values.k ?? pair.k);
const samples = Number(values.samples ?? pair.samples);
const statsSamples = Number(values['stats-samples'] ?? pair.statsSamples);
const maxRes = Number(values['max-res'] ?? Math.max(...rs));
const STATS_SEED = 1_000_000;

const t0 = performance.now();
const runtime = {};
const gen = await Generator.open(values.generator ?? pair.gen, runtime);
const enc = await Encoder.open(values.encoder ?? pair.enc, { ...runtime, parts: [] });
const random = [gen.manifest, enc.manifest].filter((m) => m.origin.type === 'random').map((m) => m.id);
console.log(`# render-to fidelity: ${gen.manifest.id} + ${enc.manifest.id}`);
if (random.length) console.log(`\n**${random.join(' and ')}: RANDOM weights** (the real architecture, not a trained model).`);
const { mu, sigma } = await computeStyleStats(gen, { samples: statsSamples, seed: STATS_SEED, psi: RELEVANCE_DEFAULTS.psi });

const config: RelevanceConfig = {
  generator: { id: gen.manifest.id, manifestSha256: gen.bundle.manifestSha256 },
  encoder: { id: enc.manifest.id, manifestSha256: enc.bundle.manifestSha256 },
  samples,
  alphaP: RELEVANCE_DEFAULTS.alphaP,
  psi: RELEVANCE_DEFAULTS.psi,
  sampleSeed: RELEVANCE_DEFAULTS.sampleSeed,
  statsSamples,
  statsSeed: STATS_SEED,
  statsSha256: '',
  channelSet: 'conv',
  chunkChannels: 1 << 20,
  batch: defaultBatch(gen.arch.resolution),
  renderGraph: 'prefix',
};
console.log(`\nN = ${samples} samples (seeds 0…${samples - 1}), α_p = ${config.alphaP}, ψ = ${config.psi}, μ/σ over ${statsSamples} samples from seed ${STATS_SEED}, batch ${config.batch}, inflight ${RELEVANCE_DEFAULTS.inflight}`);

// The layers: conv layers up to maxRes², then the first conv layer above each R (and above maxRes).
const convs = styleLayers(gen.arch).filter((l) => l.kind === 'conv');
const above = (r: number) => convs.find((l) => l.resolution > r);
const measured = new Set<StyleLayer>(convs.filter((l) => l.resolution <= maxRes));
for (const r of rs) if (above(r)) measured.add(above(r)!);
const layers = convs.filter((l) => measured.has(l));
const slotOf = (l: StyleLayer) => gen.layout.layers.find((q) => q.name === l.name)!;
const channelsOf = (l: StyleLayer): number[] => {
  const s = slotOf(l);
  const n = K > 0 ? Math.min(K, s.channels) : s.channels;
  return Array.from({ length: n }, (_, i) => s.offset + Math.floor(((i + 0.5) * s.channels) / n));
};

// Settings: the full render, and each R; a setting runs only the layers it is compared on.
const settings = [undefined, ...rs];
const render = await Promise.all(settings.map((r) => renderGraphFor(gen, 'cpu', 'prefix', r)));
const renderers = render.map((g, i) => {
  if (g.kind !== 'prefix') throw new Error(`${gen.manifest.id} cannot be cut`);
  return new LayerRenderer(gen, enc, g.folded, settings[i], runtime);
});
const inSetting = (r: number | undefined, l: StyleLayer) => r === undefined || l.resolution <= r || l === above(r);
type Result = { rows: ChannelResultRow[]; openS: number; computeS: number };
const results = new Map<string, Result>(); // `${layer}@${R|full}`
const key = (l: StyleLayer, r: number | undefined) => `${l.name}@${r ?? 'full'}`;

for (const l of layers) {
  const chunk = { index: 0, channels: channelsOf(l) };
  const index = styleLayers(gen.arch).findIndex((q) => q.name === l.name);
  // Settings interleaved per layer, so a slow spell of the machine hits them alike.
  for (const [i, r] of settings.entries()) {
    if (!inSetting(r, l)) continue;
    const lr = renderers[i];
    const a = performance.now();
    await lr.open(index);
    const b = performance.now();
    const rows = await computeChunk({ gen, layers: lr, config, mu, sigma, dim: enc.dim, inflight: RELEVANCE_DEFAULTS.inflight }, chunk);
    const c = performance.now();
    await lr.release();
    results.set(key(l, r), { rows, openS: (b - a) / 1000, computeS: (c - b) / 1000 });
    process.stderr.write(`${key(l, r)}: open ${((b - a) / 1000).toFixed(1)} s, ${chunk.channels.length} channels ${((c - b) / 1000).toFixed(1)} s\n`);
  }
}

const cosine = (a: Float32Array, b: Float32Array): number => {
  if (a.length === b.length && a.every((v, i) => Object.is(v, b[i]))) return 1;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : Number.NaN;
};
const median = (v: number[]) => {
  const s = [...v].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

for (const r of rs) {
  const cmd = `node bin/run-ts.mjs scripts/render-to-fidelity.ts --pair ${pairName} --r ${rs.join(',')} --k ${K} --samples ${samples} --stats-samples ${statsSamples}${values['max-res'] ? ` --max-res ${maxRes}` : ''}${values.generator ? ` --generator ${values.generator}` : ''}${values.encoder ? ` --encoder ${values.encoder}` : ''}`;
  console.log(`\n## ${gen.manifest.id} + ${enc.manifest.id}, --render-to ${r}\n\n\`${cmd}\`\n`);
  console.log('| layer | res | channels | min cos | median cos | median effect ratio | degenerate pairs (full / R) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const time = { full: { open: 0, compute: 0 }, to: { open: 0, compute: 0 } };
  for (const l of layers.filter((q) => inSetting(r, q))) {
    const full = results.get(key(l, undefined))!;
    const to = results.get(key(l, r))!;
    const cos = full.rows.map((row, k) => cosine(to.rows[k].direction, row.direction));
    const ratio = full.rows.map((row, k) => to.rows[k].effect / row.effect);
    const deg = (x: Result) => x.rows.reduce((s, row) => s + row.degenerate, 0);
    const isAbove = l.resolution > r;
    if (isAbove) {
      // Beyond R the render is the full one: the same bytes, so cosine exactly 1.
      full.rows.forEach((row, k) => assert.deepEqual(Array.from(to.rows[k].direction), Array.from(row.direction), `${l.name} at --render-to ${r} must equal the full render`));
      assert.ok(cos.every((c) => c === 1), `${l.name} at --render-to ${r}: cosine must be exactly 1`);
    } else {
      time.full.open += full.openS;
      time.full.compute += full.computeS;
      time.to.open += to.openS;
      time.to.compute += to.computeS;
    }
    const name = isAbove ? `${l.name} (above ${r}: full render)` : l.name;
    console.log(`| ${name} | ${l.resolution}² | ${cos.length} of ${slotOf(l).channels} | ${f(Math.min(...cos))} | ${f(median(cos))} | ${f(median(ratio), 3)} | ${deg(full)} / ${deg(to)} |`);
  }
  const renders = layers.filter((q) => q.resolution <= r).reduce((s, q) => s + 2 * samples * channelsOf(q).length, 0);
  const tot = (t: { open: number; compute: number }) => t.open + t.compute;
  console.log(`\nWall seconds over the ${layers.filter((q) => q.resolution <= r).length} layers at ≤ ${r}² (${renders} renders per setting; same run, settings interleaved per layer):\n`);
  console.log('| setting | open models (s) | compute (s) | total (s) |');
  console.log('|---|---:|---:|---:|');
  console.log(`| full render | ${f(time.full.open, 1)} | ${f(time.full.compute, 1)} | ${f(tot(time.full), 1)} |`);
  console.log(`| --render-to ${r} | ${f(time.to.open, 1)} | ${f(time.to.compute, 1)} | ${f(tot(time.to), 1)} |`);
  console.log(`| ratio full / render-to | ${f(time.full.open / time.to.open, 2)}× | ${f(time.full.compute / time.to.compute, 2)}× | ${f(tot(time.full) / tot(time.to), 2)}× |`);
}
console.log(`\n(whole script: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
await enc.release();
await gen.release();
