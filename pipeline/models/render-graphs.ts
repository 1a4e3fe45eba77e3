/**
 * The relevance stage's render graphs, cut at the layer a batch perturbs (DESIGN §3, the seam):
 *   prefix(l)  the sample's own codes through layers 0 … l−1, batch 1: x and skip entering l;
 *   suffix(l)  layers l … (the end, or the block --render-to stops at) from that x and skip,
 *              s_l [B, C_l] (the variants) and every later layer's s [1, C] (the sample's), then
 *              CLIP preprocessing: pixel_values [B, 3, S, S] for the image tower.
 * Written in one of two layouts: onnxruntime's blocked NCHWc (CPU; the tensors at the seam are
 * blocked too) or the portable graph every execution provider runs.
 */
import { readFileSync } from 'node:fs';
import { embedModel } from '../onnx/compose.ts';
import { GraphBuilder } from '../onnx/graph.ts';
import { reorderOutput } from '../onnx/nchwc.ts';
import { addClipPreprocess } from '../onnx/preprocess.ts';
import { type StyleGAN2Arch, styleLayers } from '../onnx/stylegan2/arch.ts';
import type { FoldedSynthesis } from '../onnx/stylegan2/folded.ts';
import { addSynthesisLayers, blockEnd, styleInputName } from '../onnx/stylegan2/graphs.ts';
import { addNchwcLayers } from '../onnx/stylegan2/nchwc-synthesis.ts';
import { bundlePath } from './bundle.ts';
import type { Generator } from './generator.ts';
import type { EncoderManifest } from './manifest.ts';

/**
 * nchwc / portable: graphs written here from the bundle's weights, cut at the seam;
 * bundle: the bundle's own synthesis.onnx, whole, for every variant (a synthesis StyleAtlas did
 * not write, e.g. a test oracle's, has no weights to cut).
 */
export type RenderLayout = { kind: 'nchwc'; blockSize: number } | { kind: 'portable' } | { kind: 'bundle' };

export function describeLayout(l: RenderLayout): string {
  if (l.kind === 'nchwc') return `prefix reuse, onnxruntime NCHWc (CPU, block ${l.blockSize})`;
  return l.kind === 'portable' ? 'prefix reuse, portable ONNX' : "the bundle's whole synthesis.onnx per variant (no prefix reuse)";
}

/** The names of the tensors crossing the seam. */
export const SEAM = Object.freeze({ x: 'x_in', skip: 'skip_in' });

/** Shapes of x and skip entering layer `first` (batch 1), or undefined where there is none. */
export function seamShapes(arch: StyleGAN2Arch, first: number, layout: CutLayout): { x?: number[]; skip?: number[] } {
  const all = styleLayers(arch);
  if (first === 0) return {};
  const before = all.slice(0, first);
  const lastConv = [...before].reverse().find((l) => l.kind === 'conv')!;
  const lastRgb = [...before].reverse().find((l) => l.kind === 'torgb');
  const skipChannels = layout.kind === 'nchwc' ? layout.blockSize : 3;
  return {
    x: [1, lastConv.outChannels, lastConv.resolution, lastConv.resolution],
    skip: lastRgb ? [1, skipChannels, lastRgb.resolution, lastRgb.resolution] : undefined,
  };
}

export type CutLayout = Exclude<RenderLayout, { kind: 'bundle' }>;

function addLayers(g: GraphBuilder, folded: FoldedSynthesis, layout: CutLayout, first: number, end: number, variant: ReadonlySet<string>, start: { x?: string; skip?: string }) {
  if (layout.kind === 'portable') return addSynthesisLayers(g, folded, first, end, start, styleInputName);
  const st = addNchwcLayers(g, folded, { blockSize: layout.blockSize, first, end, variant }, { ...start, xBatched: false, skipBatched: false }, styleInputName);
  return { x: st.x, skip: st.skip };
}

/** prefix(first): inputs s_<layer> [1, C] for layers before `first`; outputs x (and skip). */
export function buildPrefixGraph(folded: FoldedSynthesis, layout: CutLayout, first: number): GraphBuilder {
  const all = styleLayers(folded.arch);
  const g = new GraphBuilder(`styleatlas_prefix_${all[first].name}`);
  for (const l of all.slice(0, first)) g.input(styleInputName(l.name), 'float32', [1, l.channels]);
  const out = addLayers(g, folded, layout, 0, first, new Set(), {});
  const shapes = seamShapes(folded.arch, first, layout);
  g.output(out.x!, 'x', 'float32', shapes.x);
  if (shapes.skip) g.output(out.skip!, 'skip', 'float32', shapes.skip);
  return g;
}

export interface SuffixSpec {
  /** Index of the perturbed layer (into styleLayers). */
  first: number;
  /** Resolution of the last block rendered: the image is its skip output. */
  renderTo: number;
  /**
   * The variants per run the suffix is written for (undefined: any). Static shapes let
   * onnxruntime plan the run's buffers: at FFHQ-1024, batch 2, the suffix-form synthesis took
   * 1.07× the whole NCHWc synthesis's time with a symbolic batch and 1.01× with a fixed one.
   */
  batch?: number;
}

/** suffix(first): x_in, skip_in, s_<first> [B, C], later s [1, C] → pixel_values [B, 3, S, S]. */
export function buildSuffixGraph(folded: FoldedSynthesis, layout: CutLayout, spec: SuffixSpec, encoder: EncoderManifest): GraphBuilder {
  const g = new GraphBuilder(`styleatlas_suffix_${styleLayers(folded.arch)[spec.first].name}`);
  const pixels = addSuffix(g, folded, layout, spec, encoder);
  g.output(pixels, 'pixel_values', 'float32', ['batch', 3, encoder.architecture.imageSize, encoder.architecture.imageSize]);
  return g;
}

/** The suffix's layers and CLIP preprocessing appended to `g` (its inputs declared); returns pixel_values. */
export function addSuffix(g: GraphBuilder, folded: FoldedSynthesis, layout: CutLayout, spec: SuffixSpec, encoder: EncoderManifest): string {
  const a = encoder.architecture;
  return addClipPreprocess(g, addSuffixImage(g, folded, layout, spec), { inSize: spec.renderTo, outSize: a.imageSize, mean: a.mean, std: a.std });
}

/** suffix(first) without CLIP preprocessing: → image [B, 3, R, R] (the bench times the synthesis alone). */
export function buildSuffixImageGraph(folded: FoldedSynthesis, layout: CutLayout, spec: SuffixSpec): GraphBuilder {
  const g = new GraphBuilder(`styleatlas_suffix_image_${styleLayers(folded.arch)[spec.first].name}`);
  g.output(addSuffixImage(g, folded, layout, spec), 'image', 'float32', ['batch', 3, spec.renderTo, spec.renderTo]);
  return g;
}

function addSuffixImage(g: GraphBuilder, folded: FoldedSynthesis, layout: CutLayout, spec: SuffixSpec): string {
  const arch = folded.arch;
  const all = styleLayers(arch);
  const end = blockEnd(arch, spec.renderTo);
  const perturbed = all[spec.first];
  if (perturbed.resolution > spec.renderTo) throw new Error(`layer ${perturbed.name} (${perturbed.resolution}²) lies beyond the render's end at ${spec.renderTo}²`);
  const shapes = seamShapes(arch, spec.first, layout);
  const start = {
    x: shapes.x ? g.input(SEAM.x, 'float32', shapes.x) : undefined,
    skip: shapes.skip ? g.input(SEAM.skip, 'float32', shapes.skip) : undefined,
  };
  for (const l of all.slice(spec.first, end)) g.input(styleInputName(l.name), 'float32', [l === perturbed ? (spec.batch ?? 'batch') : 1, l.channels]);
  const out = addLayers(g, folded, layout, spec.first, end, new Set([perturbed.name]), start);
  return layout.kind === 'nchwc' ? reorderOutput(g, out.skip!, 3) : out.skip!; // [B, 3, R, R]
}

/** The bundle's whole synthesis (every s [B, C]) → CLIP preprocessing → pixel_values. */
export function buildWholeRenderGraph(gen: Generator, encoder: EncoderManifest): GraphBuilder {
  const g = new GraphBuilder('styleatlas_whole_render');
  const inputTypes = Object.fromEntries(gen.manifest.layers.map((l) => [styleInputName(l.name), { dtype: 'float32' as const, shape: ['batch', l.channels] }]));
  const synth = embedModel(g, readFileSync(bundlePath(gen.bundle, gen.manifest.files.synthesis)), `${gen.manifest.id}/synthesis.onnx`, 'synthesis/', {}, inputTypes);
  const a = encoder.architecture;
  const pixels = addClipPreprocess(g, synth.image, { inSize: gen.arch.resolution, outSize: a.imageSize, mean: a.mean, std: a.std });
  g.output(pixels, 'pixel_values', 'float32', ['batch', 3, a.imageSize, a.imageSize]);
  return g;
}
