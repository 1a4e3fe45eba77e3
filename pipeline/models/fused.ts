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
import type { Device } from './devices.ts';
import type { Encoder } from './encoder.ts';
import type { Generator } from './generator.ts';
import { nchwcBlockSize } from './runtime.ts';

/** The synthesis a fused model renders with, and why that one (for the logs and provenance). */
export type RenderGraph = { kind: 'nchwc'; blockSize: number; folded: FoldedSynthesis; reason: string } | { kind: 'bundle'; reason: string };

/**
 * The batch size a fused model for `render` is written for: the NCHWc graph is fastest at one
 * fixed batch (its grouped convolutions need the count), and a shorter last batch is padded to
 * it (relevance.ts). Each render's result depends only on its own codes either way. The bundle's
 * graph takes any batch (undefined).
 */
export function renderBatch(render: RenderGraph, batch: number): number | undefined {
  return render.kind === 'nchwc' ? batch : undefined;
}

/** One line for build.sqlite and the logs. */
export function describeRenderGraph(r: RenderGraph): string {
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
 * The render graph asked for: `portable`, the bundle's own graph (any device), or `nchwc`, written
 * here — refused with a coded error where it cannot run (never swapped for the other one).
 */
export async function renderGraphFor(gen: Generator, device: Device, want: 'portable' | 'nchwc'): Promise<RenderGraph> {
  if (want === 'portable') return { kind: 'bundle', reason: 'asked for (the default)' };
  const hint = 'use --render-graph portable (the default)';
  if (device !== 'cpu') fail('E_DEVICE', `--render-graph nchwc: com.microsoft.nchwc kernels run on the CPU provider only, this build runs on ${device}`, hint);
  const blockSize = await nchwcBlockSize();
  if (blockSize === undefined) fail('E_DEVICE', '--render-graph nchwc: onnxruntime has no NCHWc kernels for this CPU', hint);
  const why = nchwcUnsupported(gen.arch, blockSize);
  if (why) fail('E_INPUT', `--render-graph nchwc: ${gen.manifest.id}: ${why}`, hint);
  const folded = bundleFolded(gen);
  if (typeof folded === 'string') fail('E_INPUT', `--render-graph nchwc: ${gen.manifest.id}: ${folded}`, hint);
  return { kind: 'nchwc', blockSize, folded, reason: 'asked for' };
}

/**
 * The synthesis of `render` appended to `g`: every s_<layer> [B, C] a graph input; returns image
 * [B, 3, R, R]. `batch` fixes B (the NCHWc graph then modulates the weights of every layer whose
 * filter is smaller than its output, as grouped convolutions; see nchwc-synthesis.ts).
 */
function addSynthesis(g: GraphBuilder, gen: Generator, render: RenderGraph, batch: number | undefined): string {
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
