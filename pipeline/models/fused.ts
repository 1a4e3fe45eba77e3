/**
 * The relevance stage's model: synthesis → CLIP preprocessing → visual encoder as one ONNX
 * graph, so a batch of style codes goes in and image embeddings come out; the images never
 * leave onnxruntime.
 *
 * The synthesis in it is one of two render graphs (renderGraphFor):
 *   bundle  the bundle's own synthesis.onnx (the portable graph): the default, on every device,
 *           for any synthesis (a test oracle's too);
 *   nchwc   written here from the bundle's folded weights in onnxruntime's blocked NCHWc layout
 *           (../onnx/stylegan2/nchwc-synthesis.ts): CPU only, same maths, faster, more memory.
 * Which one ran, and why, goes into the build's provenance (build.sqlite runs.render).
 */
import { readFileSync } from 'node:fs';
import { fail, isStyleAtlasError } from '../core/errors.ts';
import { GraphBuilder } from '../onnx/graph.ts';
import { embedModel } from '../onnx/compose.ts';
import { float32Initializers } from '../onnx/initializers.ts';
import { reorderOutput } from '../onnx/nchwc.ts';
import { addClipPreprocess } from '../onnx/preprocess.ts';
import { styleLayers } from '../onnx/stylegan2/arch.ts';
import { type FoldedSynthesis, readFoldedSynthesis } from '../onnx/stylegan2/folded.ts';
import { styleInputName } from '../onnx/stylegan2/graphs.ts';
import { addNchwcLayers, nchwcUnsupported } from '../onnx/stylegan2/nchwc-synthesis.ts';
import { bundlePath } from './bundle.ts';
import type { CutLayout } from './render-graphs.ts';
import type { Device } from './devices.ts';
import type { Encoder } from './encoder.ts';
import type { Generator } from './generator.ts';
import { LayerRenderer } from './prefix-render.ts';
import { type RuntimeOptions, WorkerSession, nchwcBlockSize } from './runtime.ts';

/**
 * The synthesis the relevance stage renders with, and why that one (for the logs and provenance).
 * `prefix` is not one fused model but one per style layer (prefix-render.ts); `renderTo` is
 * relevance --render-to.
 */
export type RenderGraph =
  | { kind: 'nchwc'; blockSize: number; folded: FoldedSynthesis; reason: string }
  | { kind: 'bundle'; reason: string }
  | { kind: 'prefix'; layout: CutLayout; folded: () => FoldedSynthesis; renderTo?: number; reason: string };

/**
 * What relevance --render-graph asks for ('auto': prefix reuse where the synthesis can be cut, in
 * the NCHWc layout where the CPU provider runs it; 'prefix' / 'prefix-nchwc': prefix reuse in the
 * portable / NCHWc layout, refused where it cannot run).
 */
export type RenderGraphWanted = 'auto' | 'prefix' | 'prefix-nchwc' | 'portable' | 'nchwc';

/** The name a build records for the graph that ran (config.renderGraph; undefined: the bundle's). */
export function renderGraphName(r: RenderGraph): 'nchwc' | 'prefix' | 'prefix-nchwc' | undefined {
  if (r.kind === 'prefix') return r.layout.kind === 'nchwc' ? 'prefix-nchwc' : 'prefix';
  return r.kind === 'nchwc' ? 'nchwc' : undefined;
}

/**
 * The batch size a fused model for `render` is written for: the NCHWc graph is fastest at one
 * fixed batch (its grouped convolutions need the count), and a shorter last batch is padded to
 * it (relevance.ts). Each render's result depends only on its own codes either way. The bundle's
 * graph takes any batch (undefined).
 */
export function renderBatch(render: RenderGraph, batch: number): number | undefined {
  return render.kind === 'nchwc' ? batch : undefined;
}

/** What the relevance loop renders with (ChunkContext): a fused whole-render session, or per-layer models. */
export interface RelevanceRenderer {
  session?: WorkerSession;
  layers?: LayerRenderer;
  fixedBatch?: number;
  device: Device;
  release(): Promise<void>;
}

/**
 * Opens `render` for the relevance loop; with prefix reuse, the models of `firstChannel`'s layer
 * at once, so a renderer that cannot run here fails before any chunk is computed.
 */
export async function openRelevanceRenderer(gen: Generator, enc: Encoder, render: RenderGraph, batch: number, runtime: RuntimeOptions, firstChannel: number): Promise<RelevanceRenderer> {
  if (render.kind === 'prefix') {
    const layers = new LayerRenderer(gen, enc, render.folded, render.renderTo, runtime, render.layout, batch);
    await layers.open(layers.layerOf(firstChannel));
    return { layers, device: layers.device!, release: () => layers.release() };
  }
  const fixedBatch = renderBatch(render, batch);
  // The model's bytes go to the worker in memory: no temporary file to leave behind.
  const session = await WorkerSession.open(buildRenderEncodeModel(gen, enc, { render, batch: fixedBatch }), 'render+encode', runtime);
  return { session, fixedBatch, device: session.device, release: () => session.release() };
}

/** One line for build.sqlite and the logs. */
export function describeRenderGraph(r: RenderGraph): string {
  if (r.kind === 'prefix') {
    const layout = r.layout.kind === 'nchwc' ? `onnxruntime NCHWc (block ${r.layout.blockSize})` : 'portable ONNX';
    return `prefix reuse (${layout} cut at each perturbed layer${r.renderTo ? `, --render-to ${r.renderTo}` : ''}): ${r.reason}`;
  }
  return r.kind === 'nchwc' ? `nchwc (onnxruntime com.microsoft.nchwc, block ${r.blockSize}): ${r.reason}` : `bundle synthesis.onnx (portable): ${r.reason}`;
}

/** The folded weights of the bundle's synthesis.onnx, or why there are none StyleAtlas can read. */
function bundleFolded(gen: Generator): FoldedSynthesis | string {
  const label = `${gen.manifest.id}/synthesis.onnx`;
  try {
    const inits = float32Initializers(readFileSync(bundlePath(gen.bundle, gen.manifest.files.synthesis)), label);
    return readFoldedSynthesis(gen.arch, (n) => inits.get(n), label);
  } catch (e) {
    if (isStyleAtlasError(e) && e.code === 'E_MANIFEST') return `synthesis.onnx holds no StyleGAN2 weights StyleAtlas can read (${e.message})`;
    throw e;
  }
}

/**
 * The render graph asked for — refused with a coded error where it cannot run (never swapped for
 * another one): `portable`, the bundle's own graph (any device); `nchwc`, the whole synthesis
 * written here in the blocked layout (CPU); `prefix` / `prefix-nchwc`, prefix reuse in the
 * portable / blocked layout. `auto` picks prefix-nchwc, else prefix, else portable, and says why.
 */
export async function renderGraphFor(gen: Generator, device: Device, want: RenderGraphWanted, renderTo?: number): Promise<RenderGraph> {
  if (renderTo !== undefined) {
    if (want === 'portable' || want === 'nchwc') fail('E_INPUT', `--render-to needs the prefix render graph (the layers are cut there), not --render-graph ${want}`, 'leave --render-graph at auto, or drop --render-to');
    checkRenderTo(gen, renderTo);
  }
  if (want === 'portable') return { kind: 'bundle', reason: 'asked for' };
  const folded = bundleFolded(gen);
  // Read again for each layer's models rather than held: the weights stay in memory only while a layer's models are written.
  const load = () => bundleFolded(gen) as FoldedSynthesis;
  if (want === 'auto') {
    if (typeof folded === 'string') {
      if (renderTo !== undefined) fail('E_INPUT', `--render-to: ${gen.manifest.id}: ${folded}, so its layers cannot be cut`, 'use --render-graph portable (whole renders), without --render-to');
      return { kind: 'bundle', reason: `the default (auto): ${folded}, so no prefix reuse` };
    }
    const blocked = await nchwcBlock(gen, device);
    if (typeof blocked === 'number') return { kind: 'prefix', layout: { kind: 'nchwc', blockSize: blocked }, folded: load, renderTo, reason: 'the default (auto) on the CPU provider' };
    return { kind: 'prefix', layout: { kind: 'portable' }, folded: load, renderTo, reason: `the default (auto); the portable layout because ${blocked.why}` };
  }
  const what = `--render-graph ${want}`;
  const hint = 'use --render-graph auto (the default) or portable' + (renderTo === undefined ? '' : ', without --render-to');
  if (typeof folded === 'string') fail('E_INPUT', `${what}: ${gen.manifest.id}: ${folded}${want === 'nchwc' ? '' : ', so its layers cannot be cut'}`, hint);
  if (want === 'prefix') return { kind: 'prefix', layout: { kind: 'portable' }, folded: load, renderTo, reason: 'asked for' };
  const blocked = await nchwcBlock(gen, device);
  if (typeof blocked !== 'number') fail(blocked.code, `${what}: ${blocked.why}`, hint);
  if (want === 'prefix-nchwc') return { kind: 'prefix', layout: { kind: 'nchwc', blockSize: blocked }, folded: load, renderTo, reason: 'asked for' };
  return { kind: 'nchwc', blockSize: blocked, folded, reason: 'asked for' };
}

/** onnxruntime's NCHWc block size for `gen` on `device`, or why its blocked layout cannot run there. */
async function nchwcBlock(gen: Generator, device: Device): Promise<number | { code: 'E_DEVICE' | 'E_INPUT'; why: string }> {
  if (device !== 'cpu') return { code: 'E_DEVICE', why: `com.microsoft.nchwc kernels run on the CPU provider only, this build runs on ${device}` };
  const blockSize = await nchwcBlockSize();
  if (blockSize === undefined) return { code: 'E_DEVICE', why: 'onnxruntime has no NCHWc kernels for this CPU' };
  const why = nchwcUnsupported(gen.arch, blockSize);
  return why ? { code: 'E_INPUT', why: `${gen.manifest.id}: ${why}` } : blockSize;
}

/** --render-to R: one of the generator's block resolutions, below its full one. */
function checkRenderTo(gen: Generator, r: number): void {
  const blocks = styleLayers(gen.arch).filter((l) => l.kind === 'torgb').map((l) => l.resolution);
  const below = blocks.filter((b) => b < gen.arch.resolution);
  if (!below.includes(r)) {
    const why = r === gen.arch.resolution ? `${r} is ${gen.manifest.id}'s full resolution (the exact render, the default)` : `${gen.manifest.id} has no block at ${r}²`;
    fail('E_INPUT', `--render-to ${r}: ${why}; valid values: ${below.join(', ')}`, 'leave --render-to off for the exact render');
  }
}

/**
 * The synthesis of `render` appended to `g`: every s_<layer> [B, C] a graph input; returns image
 * [B, 3, R, R]. `batch` fixes B (the NCHWc graph then modulates the weights of every layer whose
 * filter is smaller than its output, as grouped convolutions; see nchwc-synthesis.ts).
 */
function addSynthesis(g: GraphBuilder, gen: Generator, render: RenderGraph, batch: number | undefined): string {
  if (render.kind === 'prefix') throw new Error('the prefix render graph is one model per style layer (prefix-render.ts), not a fused whole render');
  if (render.kind === 'bundle') {
    const inputTypes = Object.fromEntries(gen.manifest.layers.map((l) => [styleInputName(l.name), { dtype: 'float32' as const, shape: ['batch', l.channels] }]));
    return embedModel(g, readFileSync(bundlePath(gen.bundle, gen.manifest.files.synthesis)), `${gen.manifest.id}/synthesis.onnx`, 'synthesis/', {}, inputTypes).image;
  }
  const all = styleLayers(gen.arch);
  for (const l of all) g.input(styleInputName(l.name), 'float32', [batch ?? 'batch', l.channels]);
  // Every layer's style is per variant: a batch mixes channels of several layers and samples.
  const range = { blockSize: render.blockSize, first: 0, end: all.length, variant: new Set(all.map((l) => l.name)), batch };
  const st = addNchwcLayers(g, render.folded, range, { xBatched: false, skipBatched: false }, styleInputName);
  return reorderOutput(g, st.skip!, 3); // blocked → [B, 3, R, R]
}

/**
 * `withImage` also outputs the rendered `image` (galleries need both pictures and scores).
 * `batch` writes the model for exactly that many renders per run (see renderBatch).
 */
export function buildRenderEncodeModel(gen: Generator, enc: Encoder, opts: { withImage?: boolean; render?: RenderGraph; batch?: number } = {}): Uint8Array {
  const g = new GraphBuilder('styleatlas_render_encode');
  const image = addSynthesis(g, gen, opts.render ?? { kind: 'bundle', reason: 'the caller chose no render graph' }, opts.batch);
  const a = enc.manifest.architecture;
  const pixels = addClipPreprocess(g, image, { inSize: gen.arch.resolution, outSize: a.imageSize, mean: a.mean, std: a.std });
  const visual = embedModel(g, enc.visualBytes(), `${enc.manifest.id}/visual.onnx`, 'visual/', { pixel_values: pixels });
  g.output(visual.image_embeds, 'image_embeds', 'float32', ['batch', a.embedDim]);
  if (opts.withImage) g.output(image, 'image', 'float32', ['batch', 3, gen.arch.resolution, gen.arch.resolution]);
  return g.toBytes({ metadata: { 'styleatlas.generator': gen.manifest.id, 'styleatlas.encoder': enc.manifest.id } });
}

/** The synthesis of `render` alone, s_<layer> [B, C] → image [B, 3, R, R]: the bench times it on its own. */
export function buildSynthesisModel(gen: Generator, render: RenderGraph, batch?: number): Uint8Array {
  const g = new GraphBuilder('styleatlas_synthesis');
  const image = addSynthesis(g, gen, render, batch);
  g.output(image, 'image', 'float32', [batch ?? 'batch', 3, gen.arch.resolution, gen.arch.resolution]);
  return g.toBytes({ metadata: { 'styleatlas.generator': gen.manifest.id } });
}
