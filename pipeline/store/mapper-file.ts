/**
 * A trained latent mapper as a download: `mapper.safetensors`, one float32 tensor per parameter
 * under the official LevelsMapper state-dict names (`course_mapping.mapping.1.weight` [w_dim, w_dim],
 * …), so `LevelsMapper.load_state_dict(safetensors.torch.load_file(path))` loads it into the
 * official code; `__metadata__` says what it edits and what it was trained on (strings as they
 * are, every other field as its JSON text). Pure (browser-safe).
 */
import { fail } from '../core/errors.ts';
import { type MapperShape, type MapperWeights, mapperGroups, mapperParamSpec } from '../core/mapper.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';

export const MAPPER_FORMAT = 'styleatlas-mapper/1';

export interface MapperMetadata {
  target: string;
  numWs: number;
  wDim: number;
  generator: { id: string; sha256: string };
  encoder: { id: string; sha256: string };
  /** Training steps taken. */
  steps: number;
  /** What determined the weights (learning rate, λs, batch, seed, codes …). */
  settings: Record<string, unknown>;
  toolVersion: string;
}

export interface MapperHeader extends MapperMetadata {
  format: typeof MAPPER_FORMAT;
  /** [{name, start, end}] of W+ each mapper reads. */
  groups: { name: string; start: number; end: number }[];
  /** w' = w + stepScale · strength · M(w); strength 1 is the trained edit. */
  stepScale: number;
}

const TEXT_FIELDS = new Set(['format', 'target', 'toolVersion']);

export function mapperShapeOfMetadata(m: Pick<MapperMetadata, 'numWs' | 'wDim'>): MapperShape {
  return { numWs: m.numWs, wDim: m.wDim };
}

export function encodeMapperFile(weights: MapperWeights, meta: MapperMetadata): Uint8Array {
  const shape = mapperShapeOfMetadata(meta);
  const header: MapperHeader = {
    format: MAPPER_FORMAT,
    ...meta,
    groups: mapperGroups(shape.numWs).map((g) => ({ name: g.name, start: g.start, end: g.end })),
    stepScale: 0.1,
  };
  const tensors = [...mapperParamSpec(shape)].map(([name, dims]) => {
    const data = weights.get(name);
    if (!data) fail('E_SHAPE', `mapper weights: tensor ${name} is missing`);
    return { name, shape: dims, data };
  });
  const metadata = Object.fromEntries(Object.entries(header).map(([k, v]) => [k, TEXT_FIELDS.has(k) ? (v as string) : JSON.stringify(v)]));
  return encodeSafetensors(tensors, metadata);
}

function parseField(metadata: Record<string, string>, key: string, what: string): unknown {
  const raw = metadata[key];
  if (raw === undefined) fail('E_INPUT', `${what}: metadata has no "${key}"`, 'is this a mapper written by StyleAtlas?');
  if (TEXT_FIELDS.has(key)) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return fail('E_INPUT', `${what}: metadata "${key}" is not JSON: ${raw.slice(0, 80)}`);
  }
}

/** Read a mapper.safetensors back, checking its format and that every tensor fits its num_ws and w_dim. */
export function decodeMapperFile(bytes: Uint8Array, what = 'mapper.safetensors'): { header: MapperHeader; weights: MapperWeights } {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  const format = parseField(metadata, 'format', what);
  if (format !== MAPPER_FORMAT) fail('E_INPUT', `${what}: format ${JSON.stringify(format)}, expected "${MAPPER_FORMAT}"`);
  const header = Object.fromEntries(
    ['format', 'target', 'numWs', 'wDim', 'generator', 'encoder', 'steps', 'settings', 'toolVersion', 'groups', 'stepScale'].map((k) => [k, parseField(metadata, k, what)]),
  ) as unknown as MapperHeader;
  const { numWs, wDim } = header;
  if (!Number.isInteger(numWs) || numWs < 1 || !Number.isInteger(wDim) || wDim < 1) fail('E_INPUT', `${what}: numWs ${numWs} and wDim ${wDim} must be positive integers`);
  const spec = mapperParamSpec({ numWs, wDim });
  const weights: MapperWeights = new Map();
  for (const t of tensors) {
    const dims = spec.get(t.name);
    if (!dims) fail('E_SHAPE', `${what}: unexpected tensor ${t.name} for a mapper of ${numWs} ws`);
    if (t.shape.length !== dims.length || t.shape.some((d, i) => d !== dims[i])) fail('E_SHAPE', `${what}: tensor ${t.name} has shape [${t.shape}], expected [${dims}]`);
    weights.set(t.name, t.data);
  }
  for (const name of spec.keys()) if (!weights.has(name)) fail('E_SHAPE', `${what}: tensor ${name} is missing`);
  return { header, weights };
}

/** How to use a catalogue mapper from Python: its mapper.onnx with onnxruntime (file names as the site offers them). */
export function mapperPythonSnippet(onnxFile: string, meta: { target: string; numWs: number; wDim: number }): string {
  return [
    'import numpy as np',
    'import onnxruntime as ort  # pip install onnxruntime',
    '',
    `# A StyleCLIP latent mapper for ${JSON.stringify(meta.target)}: w' = w + strength * 0.1 * M(w).`,
    `mapper = ort.InferenceSession(${JSON.stringify(onnxFile)})`,
    '',
    `# Your W+ codes [batch, ${meta.numWs}, ${meta.wDim}] of this generator (e.g. e4e inversions); zeros stand in.`,
    `ws = np.zeros((1, ${meta.numWs}, ${meta.wDim}), np.float32)`,
    'delta, ws_edited = mapper.run(["delta", "ws_edited"], {"ws": ws, "strength": np.float32(1.0)})',
    'print(ws_edited.shape, float(np.linalg.norm(ws_edited - ws)))',
    '',
  ].join('\n');
}
