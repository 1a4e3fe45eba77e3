/**
 * Prefix reuse (DESIGN §3, the seam): every render of the relevance stage is a sample's own
 * codes with one channel changed, so for the channels of style layer l the layers before l render
 * the same thing for every variant of a sample. They run once per sample (prefix(l), batch 1),
 * and only layers l … run per variant (suffix(l), fused with CLIP preprocessing and the image
 * tower, so the images never leave onnxruntime). Same maths as the whole render, fewer FLOPs; the
 * last bits differ by floating-point reordering, so builds record it (config.renderGraph 'prefix',
 * or 'prefix-nchwc' for the cut graphs in onnxruntime's blocked NCHWc layout: render-graphs.ts).
 *
 * `renderTo` R (relevance --render-to, opt-in, approximate): for layers at resolution ≤ R the
 * suffix stops after block R and CLIP sees R's skip image, resized; later layers render in full.
 *
 * One layer's two models live in one worker (WorkerSession.openSet): their runs share a queue, so
 * a sample's prefix and its variants never compete for the cores. Chunks run in layer order, so a
 * build opens each layer's worker once (once per chunk that changes layer) and holds one at a time.
 */
import { styleLayers } from '../onnx/stylegan2/arch.ts';
import type { FoldedSynthesis } from '../onnx/stylegan2/folded.ts';
import { GraphBuilder } from '../onnx/graph.ts';
import { embedModel } from '../onnx/compose.ts';
import { styleInputName } from '../onnx/stylegan2/graphs.ts';
import type { Encoder } from './encoder.ts';
import type { Generator } from './generator.ts';
import { type CutLayout, SEAM, addSuffix, buildPrefixGraph } from './render-graphs.ts';
import { type RuntimeOptions, type SetModelOptions, type TensorValue, WorkerSession, float32 } from './runtime.ts';

/** The resolution the suffix of style layer `index` ends at: R for layers at ≤ R, else the full image. */
export function suffixEnd(gen: Generator, index: number, renderTo: number | undefined): number {
  const layer = styleLayers(gen.arch)[index];
  return renderTo !== undefined && layer.resolution <= renderTo ? renderTo : gen.arch.resolution;
}

/** The two models of style layer `index`: prefix (none for the first layer) and suffix → image_embeds, the suffix for `batch` variants per run (undefined: any). */
export function buildLayerModels(gen: Generator, enc: Encoder, folded: FoldedSynthesis, index: number, renderTo: number | undefined, layout: CutLayout = { kind: 'portable' }, batch?: number): { prefix?: Uint8Array; suffix: Uint8Array } {
  const layer = styleLayers(gen.arch)[index];
  const g = new GraphBuilder(`styleatlas_suffix_encode_${layer.name}`);
  const pixels = addSuffix(g, folded, layout, { first: index, renderTo: suffixEnd(gen, index, renderTo), batch }, enc.manifest);
  const visual = embedModel(g, enc.visualBytes(), `${enc.manifest.id}/visual.onnx`, 'visual/', { pixel_values: pixels });
  g.output(visual.image_embeds, 'image_embeds', 'float32', [batch ?? 'batch', enc.manifest.architecture.embedDim]);
  const metadata = { metadata: { 'styleatlas.generator': gen.manifest.id, 'styleatlas.encoder': enc.manifest.id, 'styleatlas.layer': layer.name } };
  return {
    prefix: index === 0 ? undefined : buildPrefixGraph(folded, layout, index).toBytes(metadata),
    suffix: g.toBytes(metadata),
  };
}

/** How a suffix session is opened: the blocked layout without a memory pattern (its peak at 1024² is ~1 GiB lower). */
export function suffixOptions(layout: CutLayout): SetModelOptions {
  return layout.kind === 'nchwc' ? { memPattern: false } : {};
}

/** Runs for the channels of one style layer. */
export interface LayerRuns {
  readonly index: number;
  /** The seam of one sample (x and skip entering the layer): prefix(l) on its own codes [C_total]. */
  seam(own: Float32Array): Promise<Record<string, TensorValue>>;
  /** image_embeds [rows, D] of `rows` variants of the layer's styles [rows, C_l] on that seam. */
  embed(seam: Record<string, TensorValue>, variants: Float32Array, rows: number, own: Float32Array): Promise<Float32Array>;
}

export class LayerRenderer {
  private current: { index: number; worker: WorkerSession; runs: LayerRuns } | undefined;

  constructor(
    private readonly gen: Generator,
    private readonly enc: Encoder,
    /** The bundle's folded weights, read when a layer's models are written (not held between). */
    private readonly folded: () => FoldedSynthesis,
    private readonly renderTo: number | undefined,
    private readonly runtime: RuntimeOptions,
    private readonly layout: CutLayout = { kind: 'portable' },
    /**
     * Variants per suffix run (the build's batch). The blocked layout's suffixes are written for
     * it (static shapes: faster, render-graphs.ts SuffixSpec.batch) and a shorter last batch is
     * padded; the portable layout's stay batch-agnostic — onnxruntime rewrites a static-shaped
     * portable graph differently, which moved tiny's Δi from the bundle graph's by 2.5e-5
     * (relevance-prefix.test.ts holds the portable layout to 1e-6 of it).
     */
    batch?: number,
  ) {
    this.batch = layout.kind === 'nchwc' ? batch : undefined;
  }

  private readonly batch: number | undefined;

  /** The style layer (index into styleLayers) holding global channel `c`. */
  layerOf(c: number): number {
    const l = this.gen.layout.layers.find((q) => c >= q.offset && c < q.offset + q.channels);
    if (!l) throw new Error(`channel ${c} is outside the style layout`);
    return styleLayers(this.gen.arch).findIndex((q) => q.name === l.name);
  }

  /** Opens layer `index`'s worker, releasing the one before (runs in flight on it finish first). */
  async open(index: number): Promise<LayerRuns> {
    if (this.current?.index === index) return this.current.runs;
    await this.release();
    const models = buildLayerModels(this.gen, this.enc, this.folded(), index, this.renderTo, this.layout, this.batch);
    const label = `render+encode from ${styleLayers(this.gen.arch)[index].name}`;
    // One prefix run per sample against dozens of suffix runs: its threads must not spin between them.
    const worker = await WorkerSession.openSet({ suffix: models.suffix, ...(models.prefix ? { prefix: models.prefix } : {}) }, label, this.runtime, { prefix: { noSpin: true }, suffix: suffixOptions(this.layout) });
    this.current = { index, worker, runs: this.runsOf(index, worker) };
    return this.current.runs;
  }

  /** The layer whose worker is open, if any. */
  get openLayer(): number | undefined {
    return this.current?.index;
  }

  get device() {
    return this.current?.worker.device;
  }

  async release(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    await c?.worker.release();
  }

  private runsOf(index: number, worker: WorkerSession): LayerRuns {
    const all = styleLayers(this.gen.arch);
    const batch = this.batch;
    const byName = new Map(this.gen.layout.layers.map((l) => [l.name, l]));
    const slot = (i: number) => byName.get(all[i].name)!;
    const end = all.findIndex((l) => l.kind === 'torgb' && l.resolution === suffixEnd(this.gen, index, this.renderTo)) + 1;
    // Copies, not views: a view would carry its whole buffer to the worker.
    const styleOf = (own: Float32Array, i: number) => float32(own.slice(slot(i).offset, slot(i).offset + slot(i).channels), [1, slot(i).channels]);
    const prefix = index > 0 ? worker.runner('prefix') : undefined;
    const suffix = worker.runner('suffix');
    return {
      index,
      async seam(own) {
        if (!prefix) return {};
        const feeds: Record<string, TensorValue> = {};
        for (let i = 0; i < index; i++) feeds[styleInputName(all[i].name)] = styleOf(own, i);
        const out = await prefix.run(feeds);
        return { [SEAM.x]: out.x, ...(out.skip ? { [SEAM.skip]: out.skip } : {}) };
      },
      async embed(seam, variants, rows, own) {
        const width = slot(index).channels;
        const run = batch ?? rows;
        if (rows > run) throw new Error(`${rows} variants for a suffix written for ${run}`);
        // A shorter last batch: copies of its first row fill the rest (each row renders from its own styles alone).
        const padded = rows === run ? variants : new Float32Array(run * width).map((_, i) => variants[i < rows * width ? i : i % width]);
        const feeds: Record<string, TensorValue> = { ...seam, [styleInputName(all[index].name)]: float32(padded, [run, width]) };
        for (let i = index + 1; i < end; i++) feeds[styleInputName(all[i].name)] = styleOf(own, i);
        const out = (await suffix.run(feeds, ['image_embeds'])).image_embeds.data as Float32Array;
        return rows === run ? out : out.slice(0, (out.length / run) * rows);
      },
    };
  }
}
