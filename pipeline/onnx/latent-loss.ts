/**
 * Method 1's objective (the seed's Eq. 1) as one ONNX graph, composed from a generator bundle's
 * styles.onnx and synthesis.onnx, CLIP preprocessing, an encoder's visual.onnx and (optionally) an
 * identity network, and its gradient graph with respect to w+:
 *
 *   ws [B, num_ws, w_dim] → styles → s_<layer> → synthesis → image → P → E_I → D_CLIP(·, target)
 *   loss = Σ_b D_CLIP_b + λ_L2 ‖ws_b − ws_start_b‖² + λ_ID (1 − ⟨R(image_b), id_start_b⟩)
 *
 * Inputs (LATENT_INPUTS): ws, ws_start, target_embeds [1, D] (E_T(target), not normalised),
 * lambda_l2 [], and with an identity network id_start [B, E] and lambda_id []. λs are inputs, so
 * one graph serves every setting. Outputs: loss [], clip_loss / l2_loss (/ id_loss) [B], and in the
 * gradient graph grad_ws [B, num_ws, w_dim].
 */
import { embedModel } from './compose.ts';
import { differentiate, type GradientGraph } from './grad/index.ts';
import { GraphBuilder } from './graph.ts';
import { addBatchTotal, addCosineDistance, addFeatureDistance, addSquaredDistance } from './losses.ts';
import { type ClipPreprocessSpec, addClipPreprocess } from './preprocess.ts';
import { styleInputName } from './stylegan2/graphs.ts';

export const LATENT_INPUTS = {
  ws: 'ws',
  wsStart: 'ws_start',
  target: 'target_embeds',
  lambdaL2: 'lambda_l2',
  idStart: 'id_start',
  lambdaId: 'lambda_id',
} as const;

export const LATENT_OUTPUTS = { loss: 'loss', clip: 'clip_loss', l2: 'l2_loss', id: 'id_loss', image: 'image', idFeatures: 'id_features', grad: 'grad_ws' } as const;

export interface GeneratorGraphs {
  id: string;
  numWs: number;
  wDim: number;
  resolution: number;
  layers: readonly { name: string; channels: number }[];
  styles: Uint8Array;
  synthesis: Uint8Array;
}

export interface EncoderGraphs {
  id: string;
  embedDim: number;
  visual: Uint8Array;
  preprocess: ClipPreprocessSpec;
}

/** An identity network: image [B, 3, H, W] in [-1, 1] → unit features [B, E], as a subgraph. */
export interface IdentityGraph {
  id: string;
  embedDim: number;
  /** Appends the network to `g` reading `image`; returns the features value. */
  add(g: GraphBuilder, image: string): string;
}

/** ws → image [B, 3, H, W] through the bundle's own styles and synthesis graphs. */
export function addRender(g: GraphBuilder, gen: GeneratorGraphs, ws: string): string {
  const styles = embedModel(g, gen.styles, `${gen.id}/styles.onnx`, 'styles/', { ws });
  const bindings = Object.fromEntries(gen.layers.map((l) => [styleInputName(l.name), styles[styleInputName(l.name)]]));
  return embedModel(g, gen.synthesis, `${gen.id}/synthesis.onnx`, 'synthesis/', bindings).image;
}

/** image → image_embeds [B, D] (CLIP preprocessing, then the visual tower). */
export function addImageEmbeds(g: GraphBuilder, enc: EncoderGraphs, image: string): string {
  const pixels = addClipPreprocess(g, image, enc.preprocess);
  return embedModel(g, enc.visual, `${enc.id}/visual.onnx`, 'visual/', { pixel_values: pixels }).image_embeds;
}

/**
 * The per-sample objective both methods share: D_CLIP(E_I(P(image)), target) + λ_L2 · l2, plus
 * λ_ID · (1 − ⟨R(image), id_start⟩) with an identity network (its id_start and lambda_id become
 * inputs). Outputs clip_loss, l2_loss (and id_loss) [B]; returns the per-sample sum and R(image).
 */
export function addStyleClipTerms(
  g: GraphBuilder,
  enc: EncoderGraphs,
  identity: IdentityGraph | undefined,
  v: { image: string; target: string; l2: string; lambdaL2: string },
): { perSample: string; features?: string } {
  const I = LATENT_INPUTS;
  const O = LATENT_OUTPUTS;
  const clip = addCosineDistance(g, addImageEmbeds(g, enc, v.image), v.target); // [B]
  let perSample = g.op('Add', [clip, g.op('Mul', [v.lambdaL2, v.l2])]);
  g.output(clip, O.clip, 'float32', ['batch']);
  g.output(v.l2, O.l2, 'float32', ['batch']);
  if (!identity) return { perSample };
  const idStart = g.input(I.idStart, 'float32', ['batch', identity.embedDim]);
  const lambdaId = g.input(I.lambdaId, 'float32', []);
  const features = identity.add(g, v.image); // [B, E]
  const id = addFeatureDistance(g, features, idStart); // [B]
  perSample = g.op('Add', [perSample, g.op('Mul', [lambdaId, id])]);
  g.output(id, O.id, 'float32', ['batch']);
  return { perSample, features };
}

/** The forward objective; `withImage` also outputs the rendered image (and the identity features, with an identity network). */
export function buildLatentLoss(gen: GeneratorGraphs, enc: EncoderGraphs, identity?: IdentityGraph, opts: { withImage?: boolean } = {}): GraphBuilder {
  const g = new GraphBuilder('styleatlas_latent_loss');
  const I = LATENT_INPUTS;
  const O = LATENT_OUTPUTS;
  const wsShape = ['batch', gen.numWs, gen.wDim];
  const ws = g.input(I.ws, 'float32', wsShape);
  const wsStart = g.input(I.wsStart, 'float32', wsShape);
  const target = g.input(I.target, 'float32', [1, enc.embedDim]);
  const lambdaL2 = g.input(I.lambdaL2, 'float32', []);
  const image = addRender(g, gen, ws);
  const l2 = addSquaredDistance(g, ws, wsStart, 3); // [B]
  const { perSample, features } = addStyleClipTerms(g, enc, identity, { image, target, l2, lambdaL2 });
  if (features !== undefined && opts.withImage) g.output(features, O.idFeatures, 'float32', ['batch', identity!.embedDim]);
  g.output(addBatchTotal(g, perSample), O.loss, 'float32', []);
  if (opts.withImage) g.output(image, O.image, 'float32', ['batch', 3, gen.resolution, gen.resolution]);
  return g;
}

/** The objective and its gradient with respect to ws, in one graph. */
export function buildLatentGradient(gen: GeneratorGraphs, enc: EncoderGraphs, identity?: IdentityGraph): GradientGraph {
  const O = LATENT_OUTPUTS;
  const keep: Record<string, string> = { [O.clip]: O.clip, [O.l2]: O.l2 };
  if (identity) keep[O.id] = O.id;
  const forward = buildLatentLoss(gen, enc, identity);
  return differentiate(forward, { loss: O.loss, wrt: [LATENT_INPUTS.ws], keep, gradOutput: () => O.grad, name: 'styleatlas_latent_gradient' }, 'latent loss');
}
