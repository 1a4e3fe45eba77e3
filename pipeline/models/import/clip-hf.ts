/**
 * Hugging Face `CLIPModel` weights (`model.safetensors` of openai/clip-vit-base-patch32 and friends)
 * → openai/CLIP names, the inverse of transformers' convert_clip_original_pytorch_to_hf.py:
 *
 *   vision_model.embeddings.{class_embedding, patch_embedding.weight, position_embedding.weight}
 *       → visual.{class_embedding, conv1.weight, positional_embedding}
 *   vision_model.pre_layrnorm / post_layernorm → visual.ln_pre / ln_post      (sic: "layrnorm")
 *   text_model.embeddings.{token_embedding, position_embedding}.weight → token_embedding.weight, positional_embedding
 *   text_model.final_layer_norm → ln_final
 *   *.encoder.layers.N.{layer_norm1, layer_norm2, mlp.fc1, mlp.fc2, self_attn.out_proj}
 *       → *.resblocks.N.{ln_1, ln_2, mlp.c_fc, mlp.c_proj, attn.out_proj}
 *   *.self_attn.{q,k,v}_proj.{weight,bias} → attn.in_proj_{weight,bias}, rows concatenated q, k, v
 *   visual_projection.weight [E, W] / text_projection.weight [E, W] (nn.Linear) → visual.proj / text_projection [W, E] (transposed)
 *
 * `position_ids` buffers are integer aranges and are dropped. The graph uses QuickGELU, as OpenAI's
 * models (and their HF ports, `hidden_act: quick_gelu`) do; a config.json that says otherwise (e.g.
 * OpenCLIP/LAION ports with `gelu`) is refused rather than imported with the wrong activation.
 */
import { fail } from '../../core/errors.ts';
import type { Tensor } from '../../onnx/graph.ts';
import { f32 } from '../../onnx/params.ts';
import { type SourceTensor, float32Of, sameShape } from './common.ts';
import { type ImportedClip, clipFromOpenAINames } from './clip-openai.ts';

const LAYER_PARTS: readonly [string, string][] = [
  ['layer_norm1.', 'ln_1.'],
  ['layer_norm2.', 'ln_2.'],
  ['mlp.fc1.', 'mlp.c_fc.'],
  ['mlp.fc2.', 'mlp.c_proj.'],
  ['self_attn.out_proj.', 'attn.out_proj.'],
];

const DIRECT: Readonly<Record<string, string>> = {
  logit_scale: 'logit_scale',
  'vision_model.embeddings.class_embedding': 'visual.class_embedding',
  'vision_model.embeddings.patch_embedding.weight': 'visual.conv1.weight',
  'vision_model.embeddings.position_embedding.weight': 'visual.positional_embedding',
  'vision_model.pre_layrnorm.weight': 'visual.ln_pre.weight',
  'vision_model.pre_layrnorm.bias': 'visual.ln_pre.bias',
  'vision_model.post_layernorm.weight': 'visual.ln_post.weight',
  'vision_model.post_layernorm.bias': 'visual.ln_post.bias',
  'text_model.embeddings.token_embedding.weight': 'token_embedding.weight',
  'text_model.embeddings.position_embedding.weight': 'positional_embedding',
  'text_model.final_layer_norm.weight': 'ln_final.weight',
  'text_model.final_layer_norm.bias': 'ln_final.bias',
};

const TRANSPOSED: Readonly<Record<string, string>> = {
  'visual_projection.weight': 'visual.proj',
  'text_projection.weight': 'text_projection',
};

const TOWERS: readonly [string, string][] = [
  ['vision_model.encoder.layers.', 'visual.transformer.resblocks.'],
  ['text_model.encoder.layers.', 'transformer.resblocks.'],
];

/** The openai/CLIP name of an HF tensor, or a q/k/v part to concatenate, or null for dropped buffers. */
function openaiName(name: string): { name: string; qkv?: { part: 0 | 1 | 2; kind: 'weight' | 'bias' } } | null {
  if (name.endsWith('embeddings.position_ids')) return null;
  if (DIRECT[name]) return { name: DIRECT[name] };
  for (const [hf, oa] of TOWERS) {
    if (!name.startsWith(hf)) continue;
    const m = /^(\d+)\.(.*)$/.exec(name.slice(hf.length));
    if (!m) break;
    const block = `${oa}${m[1]}.`;
    const qkv = /^self_attn\.([qkv])_proj\.(weight|bias)$/.exec(m[2]);
    if (qkv) return { name: `${block}attn.in_proj_${qkv[2]}`, qkv: { part: 'qkv'.indexOf(qkv[1]) as 0 | 1 | 2, kind: qkv[2] as 'weight' | 'bias' } };
    for (const [from, to] of LAYER_PARTS) if (m[2].startsWith(from)) return { name: block + to + m[2].slice(from.length) };
  }
  return fail('E_CHECKPOINT', `Hugging Face CLIP: tensor ${name} has no openai/CLIP counterpart; is this a CLIPModel checkpoint?`);
}

function transpose2d(t: SourceTensor, name: string): Tensor {
  if (t.shape.length !== 2) fail('E_SHAPE', `checkpoint: tensor ${name} has shape [${t.shape.join(', ')}], expected a 2-d projection`);
  const [rows, cols] = t.shape;
  const src = float32Of(t, name);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return f32([cols, rows], out);
}

/** `config.json` beside the checkpoint, when present: the activation and LayerNorm ε must be OpenAI's. */
export function checkHfClipConfig(config: unknown): string[] {
  if (config === undefined) return ['no config.json beside the checkpoint: QuickGELU assumed, as openai/clip-vit-* models use'];
  const c = config as { model_type?: unknown; text_config?: Record<string, unknown>; vision_config?: Record<string, unknown> };
  if (c.model_type !== undefined && c.model_type !== 'clip') fail('E_CHECKPOINT', `config.json says model_type ${JSON.stringify(c.model_type)}, not "clip"`);
  for (const [tower, cfg] of [['text_config', c.text_config], ['vision_config', c.vision_config]] as const) {
    const act = cfg?.hidden_act ?? 'quick_gelu'; // transformers' CLIP default
    if (act !== 'quick_gelu') {
      fail('E_CHECKPOINT', `config.json ${tower}.hidden_act is ${JSON.stringify(act)}; StyleAtlas's CLIP graph uses quick_gelu, as OpenAI's models do`,
        'models trained with exact GELU (OpenCLIP/LAION ports) would give wrong embeddings and are not supported');
    }
    const eps = cfg?.layer_norm_eps ?? 1e-5;
    if (eps !== 1e-5) fail('E_CHECKPOINT', `config.json ${tower}.layer_norm_eps is ${JSON.stringify(eps)}; the graph uses 1e-5, as OpenAI's models do`);
  }
  return ['config.json: quick_gelu, layer_norm_eps 1e-5'];
}

export function importHfClip(tensors: ReadonlyMap<string, SourceTensor>, config?: unknown): ImportedClip {
  const notes = ['Hugging Face CLIPModel weights mapped onto openai/CLIP names (q/k/v concatenated, projections transposed)'];
  notes.push(...checkHfClipConfig(config));
  const named = new Map<string, SourceTensor>();
  const qkvParts = new Map<string, (SourceTensor | undefined)[]>();
  for (const [name, t] of tensors) {
    if (TRANSPOSED[name]) {
      const out = transpose2d(t, name);
      named.set(TRANSPOSED[name], { shape: out.dims, data: out.data as Float32Array });
      continue;
    }
    const target = openaiName(name);
    if (!target) continue;
    if (!target.qkv) {
      named.set(target.name, t);
      continue;
    }
    const parts = qkvParts.get(target.name) ?? [undefined, undefined, undefined];
    parts[target.qkv.part] = t;
    qkvParts.set(target.name, parts);
  }
  for (const [name, parts] of qkvParts) {
    const [q, k, v] = parts;
    if (!q || !k || !v) fail('E_SHAPE', `checkpoint: ${name} needs q_proj, k_proj and v_proj; ${['q', 'k', 'v'].filter((_, i) => !parts[i]).join(', ')}_proj missing`);
    if (!sameShape(q.shape, k.shape) || !sameShape(q.shape, v.shape)) fail('E_SHAPE', `checkpoint: the q/k/v projections of ${name} differ in shape`);
    const n = float32Of(q, name).length;
    const data = new Float32Array(3 * n);
    [q, k, v].forEach((t, i) => data.set(float32Of(t, name), i * n)); // rows [q; k; v], as nn.MultiheadAttention's in_proj
    named.set(name, { shape: [3 * q.shape[0], ...q.shape.slice(1)], data });
  }
  if (!named.has('logit_scale')) {
    named.set('logit_scale', { shape: [], data: Float32Array.of(Math.log(1 / 0.07)) });
    notes.push('no logit_scale: set to CLIP\'s initial ln(1/0.07) (it does not affect embeddings)');
  }
  if (!named.has('visual.proj') || !named.has('text_projection')) {
    fail('E_CHECKPOINT', 'the checkpoint lacks visual_projection or text_projection: StyleAtlas needs a full CLIPModel (both towers and both projections)');
  }
  const { arch, weights } = clipFromOpenAINames(named, 'Hugging Face CLIP checkpoint');
  return { arch, weights, notes };
}
