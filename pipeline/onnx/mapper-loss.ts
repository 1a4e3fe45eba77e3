/**
 * Method 2's training objective (the seed's Eq. 5, as the official mapper/training/coach.py
 * computes it) as one ONNX graph, and its gradient graph with respect to the mapper's weights:
 *
 *   ws → M_t → step = 0.1·M_t(ws) → ws' = ws + step → styles → synthesis → P → E_I → D_CLIP(·, target)
 *   loss = mean_b [ D_CLIP_b + λ_L2 · mean(step_b²) + λ_ID (1 − ⟨R(G(ws'_b)), R(G(ws_b))⟩) ]
 *
 * Every term is a batch mean, as the official code's (clip_loss(...).mean(), nn.MSELoss over
 * w_hat − w, IDLoss averaged over the batch); the L2 term is the official MSE of w' − w, i.e.
 * 0.01·mean(M_t(w)²) over every ws row and channel, so the official λ_L2 = 0.8 means the same
 * here. D_CLIP is 1 − cos (latent-loss.ts says why). The render, preprocessing and encoder come
 * from latent-loss.ts, the terms from losses.ts: one composition for both methods.
 *
 * Inputs: ws [B, num_ws, w_dim] (the training codes), target_embeds [1, D], lambda_l2 [], and
 * with an identity network id_start [B, E] (R(G(ws)), fixed) and lambda_id []. The mapper's
 * parameters are initializers under their official names; the gradient graph takes them as inputs
 * and returns grad/<name> for each.
 */
import { type MapperShape, type MapperWeights, mapperParamSpec } from '../core/mapper.ts';
import { differentiate, type GradientGraph } from './grad/index.ts';
import { GraphBuilder, attr } from './graph.ts';
import { type EncoderGraphs, type GeneratorGraphs, type IdentityGraph, LATENT_INPUTS, LATENT_OUTPUTS, addRender, addStyleClipTerms } from './latent-loss.ts';
import { addBatchMean } from './losses.ts';
import { addMapper, addMapperWeights } from './mapper.ts';

// The same names as method 1's graph: addStyleClipTerms writes the shared terms under them.
export const MAPPER_LOSS_INPUTS = { ws: LATENT_INPUTS.ws, target: LATENT_INPUTS.target, lambdaL2: LATENT_INPUTS.lambdaL2, idStart: LATENT_INPUTS.idStart, lambdaId: LATENT_INPUTS.lambdaId } as const;
export const MAPPER_LOSS_OUTPUTS = { loss: LATENT_OUTPUTS.loss, clip: LATENT_OUTPUTS.clip, l2: LATENT_OUTPUTS.l2, id: LATENT_OUTPUTS.id } as const;

export const mapperGradName = (param: string): string => `grad/${param}`;

/** R(G(ws)) [B, E]: the identity features of the unedited codes, which the identity term compares with (fixed, as the official code detaches them). */
export function buildIdentityFeatures(gen: GeneratorGraphs, identity: IdentityGraph): GraphBuilder {
  const g = new GraphBuilder('styleatlas_identity_features');
  const ws = g.input(MAPPER_LOSS_INPUTS.ws, 'float32', ['batch', gen.numWs, gen.wDim]);
  g.output(identity.add(g, addRender(g, gen, ws)), 'id_features', 'float32', ['batch', identity.embedDim]);
  return g;
}

export function mapperShapeOf(gen: Pick<GeneratorGraphs, 'numWs' | 'wDim'>): MapperShape {
  return { numWs: gen.numWs, wDim: gen.wDim };
}

/** The forward objective with the mapper's weights as initializers. */
export function buildMapperLoss(gen: GeneratorGraphs, enc: EncoderGraphs, weights: MapperWeights, identity?: IdentityGraph): GraphBuilder {
  const g = new GraphBuilder('styleatlas_mapper_loss');
  const I = MAPPER_LOSS_INPUTS;
  const O = MAPPER_LOSS_OUTPUTS;
  const shape = mapperShapeOf(gen);
  const ws = g.input(I.ws, 'float32', ['batch', gen.numWs, gen.wDim]);
  const target = g.input(I.target, 'float32', [1, enc.embedDim]);
  const lambdaL2 = g.input(I.lambdaL2, 'float32', []);
  addMapperWeights(g, shape, weights);
  const step = g.op('Mul', [addMapper(g, ws, shape), g.constF32('mapper_step_scale', [0.1], [])], {}, 'mapper_step'); // [B, num_ws, w_dim]
  const image = addRender(g, gen, g.op('Add', [ws, step], {}, 'ws_edited'));
  const l2 = g.op('ReduceMean', [g.op('Mul', [step, step])], { axes: attr.ints([1, 2]), keepdims: attr.i(0) }, 'l2_mse'); // [B]
  const { perSample } = addStyleClipTerms(g, enc, identity, { image, target, l2, lambdaL2 });
  g.output(addBatchMean(g, perSample), O.loss, 'float32', []);
  return g;
}

/** The objective and its gradient with respect to every mapper parameter, in one graph. */
export function buildMapperGradient(gen: GeneratorGraphs, enc: EncoderGraphs, weights: MapperWeights, identity?: IdentityGraph): GradientGraph {
  const O = MAPPER_LOSS_OUTPUTS;
  const keep: Record<string, string> = { [O.clip]: O.clip, [O.l2]: O.l2 };
  if (identity) keep[O.id] = O.id;
  const forward = buildMapperLoss(gen, enc, weights, identity);
  const wrt = [...mapperParamSpec(mapperShapeOf(gen)).keys()];
  return differentiate(forward, { loss: O.loss, wrt, keep, gradOutput: mapperGradName, name: 'styleatlas_mapper_gradient' }, 'mapper loss');
}
