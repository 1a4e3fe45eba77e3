/**
 * The downloads of one direction (DESIGN §4), all from one header object:
 * - `.safetensors`: a float32 tensor [C_l] per style layer, named by layer; `__metadata__` holds
 *   the header's fields, strings as they are and every other field as its JSON text;
 * - `.npz`: the same tensors in generator layer order, plus `__metadata__`, a 0-d unicode array
 *   holding the header as JSON (what np.savez writes for a str; `str(f["__metadata__"])`);
 * - `.json`: the header plus the non-zero channels, largest |Δs| first, for the web.
 * Pure (browser-safe); pipeline/store/direction-write.ts writes the files.
 */
import { fail } from '../core/errors.ts';
import { decodeNpz, encodeNpz, type NpzMember, type NpzOptions } from './npz.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';

export const DIRECTION_FORMAT = 'styleatlas-direction/1';

export interface BundleRef {
  id: string;
  sha256: string;
}

export interface DirectionMetadata {
  neutral: string;
  target: string;
  beta: number;
  alphaRange: readonly [number, number];
  alphaDefault: number;
  /** Channels with |r_c| ≥ β; may exceed the non-zero Δs count where σ_c = 0. */
  activeChannels: number;
  generator: BundleRef;
  encoder: BundleRef;
  buildId: string;
  toolVersion: string;
}

/** Δs of one style layer, all C_l channels, zeros included. */
export interface LayerDeltaS {
  name: string;
  deltaS: Float32Array;
}

export interface Direction {
  /** Every style layer in generator order, so channel offsets match relevance.arrow's global index. */
  layers: readonly LayerDeltaS[];
  metadata: DirectionMetadata;
}

export interface DirectionHeader extends DirectionMetadata {
  format: typeof DIRECTION_FORMAT;
  layers: { name: string; channels: number }[];
}

export interface ActiveChannel {
  layer: string;
  index: number;
  globalIndex: number;
  value: number;
}

/** Cut a Δs over all channels [C_total] into per-layer arrays, in the given layer order. */
export function splitByLayer(deltaS: Float32Array, layers: readonly { name: string; channels: number }[]): LayerDeltaS[] {
  const total = layers.reduce((a, l) => a + l.channels, 0);
  if (total !== deltaS.length) fail('E_SHAPE', `direction: layers hold ${total} channels, Δs has ${deltaS.length}`);
  let at = 0;
  return layers.map((l) => ({ name: l.name, deltaS: deltaS.slice(at, (at += l.channels)) }));
}

const SHA256 = /^[0-9a-f]{64}$/;

export function directionHeader(d: Direction): DirectionHeader {
  const m = d.metadata;
  const bad = (field: string, expected: string, found: unknown): never =>
    fail('E_INPUT', `direction "${m.neutral}" → "${m.target}": ${field}: expected ${expected}, found ${JSON.stringify(found)}`);
  for (const k of ['neutral', 'target', 'buildId', 'toolVersion'] as const) if (typeof m[k] !== 'string' || m[k].trim() === '') bad(k, 'a non-empty string', m[k]);
  for (const k of ['generator', 'encoder'] as const) {
    if (typeof m[k]?.id !== 'string' || m[k].id === '') bad(`${k}.id`, 'a non-empty string', m[k]?.id);
    if (!SHA256.test(m[k].sha256)) bad(`${k}.sha256`, 'a 64-character lowercase hex sha256', m[k].sha256);
  }
  if (!(m.beta >= 0 && m.beta <= 1)) bad('beta', 'a number in [0, 1]', m.beta);
  const [lo, hi] = m.alphaRange;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) bad('alphaRange', '[min, max] with min < max', m.alphaRange);
  if (!(m.alphaDefault >= lo && m.alphaDefault <= hi)) bad('alphaDefault', `a number in [${lo}, ${hi}]`, m.alphaDefault);
  if (d.layers.length === 0) bad('layers', 'at least one style layer', []);
  const names = new Set<string>();
  let nonZero = 0;
  for (const l of d.layers) {
    if (typeof l.name !== 'string' || l.name === '' || names.has(l.name)) bad('layers', 'unique non-empty layer names', l.name);
    names.add(l.name);
    if (!(l.deltaS instanceof Float32Array) || l.deltaS.length === 0) bad(`layer ${l.name}`, 'a non-empty Float32Array', l.deltaS?.length);
    for (let c = 0; c < l.deltaS.length; c++) {
      // JSON cannot carry NaN/Inf, and a non-finite Δs is a bug upstream, not a direction.
      if (!Number.isFinite(l.deltaS[c])) fail('E_NUMERIC', `direction "${m.neutral}" → "${m.target}": Δs of ${l.name}[${c}] is ${l.deltaS[c]}`);
      if (l.deltaS[c] !== 0) nonZero++;
    }
  }
  if (!Number.isSafeInteger(m.activeChannels) || m.activeChannels < nonZero) bad('activeChannels', `an integer ≥ ${nonZero} (the non-zero Δs channels)`, m.activeChannels);
  return {
    format: DIRECTION_FORMAT,
    neutral: m.neutral,
    target: m.target,
    beta: m.beta,
    alphaRange: [lo, hi],
    alphaDefault: m.alphaDefault,
    activeChannels: m.activeChannels,
    generator: { id: m.generator.id, sha256: m.generator.sha256 },
    encoder: { id: m.encoder.id, sha256: m.encoder.sha256 },
    buildId: m.buildId,
    toolVersion: m.toolVersion,
    layers: d.layers.map((l) => ({ name: l.name, channels: l.deltaS.length })),
  };
}

/** The header's fields that are strings; every other field is JSON text in safetensors metadata. */
const TEXT_FIELDS = new Set(['format', 'neutral', 'target', 'buildId', 'toolVersion']);

export function directionSafetensors(d: Direction): Uint8Array {
  const header = directionHeader(d);
  const metadata = Object.fromEntries(Object.entries(header).map(([k, v]) => [k, TEXT_FIELDS.has(k) ? (v as string) : JSON.stringify(v)]));
  return encodeSafetensors(
    d.layers.map((l) => ({ name: l.name, shape: [l.deltaS.length], data: l.deltaS })),
    metadata,
  );
}

export function directionNpz(d: Direction, opts: NpzOptions = {}): Uint8Array {
  const header = directionHeader(d);
  if (d.layers.some((l) => l.name === '__metadata__')) fail('E_INPUT', 'direction: no layer may be named "__metadata__"');
  const members: [string, NpzMember][] = d.layers.map((l) => [l.name, { dtype: 'float32', shape: [l.deltaS.length], data: l.deltaS }]);
  members.push(['__metadata__', { dtype: 'unicode', text: JSON.stringify(header) }]);
  return encodeNpz(members, opts);
}

/** The shortest decimal that reads back as the same float32, so the JSON stays small and exact. */
export function float32Decimal(v: number): number {
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const x = Number(f.toPrecision(p));
    if (Math.fround(x) === f) return x;
  }
  return f;
}

export function activeChannels(layers: readonly LayerDeltaS[]): ActiveChannel[] {
  const out: ActiveChannel[] = [];
  let base = 0;
  for (const l of layers) {
    l.deltaS.forEach((v, index) => {
      if (v !== 0) out.push({ layer: l.name, index, globalIndex: base + index, value: float32Decimal(v) });
    });
    base += l.deltaS.length;
  }
  // Ties broken by channel, so equal inputs give equal files.
  return out.sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.globalIndex - b.globalIndex);
}

export function directionJson(d: Direction): string {
  return `${JSON.stringify({ ...directionHeader(d), active: activeChannels(d.layers) })}\n`;
}

/** Read back a direction written by directionSafetensors (for checks and for the site). */
export function readDirectionSafetensors(bytes: Uint8Array, what = 'direction.safetensors'): { header: DirectionHeader; layers: LayerDeltaS[] } {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (metadata.format !== DIRECTION_FORMAT) fail('E_STORE', `${what}: metadata format is ${JSON.stringify(metadata.format)}, expected "${DIRECTION_FORMAT}"`);
  const header = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, TEXT_FIELDS.has(k) ? v : parseJson(v, `${what}: metadata "${k}"`)])) as unknown as DirectionHeader;
  const byName = new Map(tensors.map((t) => [t.name, t.data]));
  // Tensors come back sorted by name; the header keeps the generator's layer order.
  const layers = header.layers.map((l) => ({ name: l.name, deltaS: byName.get(l.name) ?? fail('E_STORE', `${what}: layer ${l.name} has no tensor`) }));
  return { header, layers };
}

export function readDirectionNpz(bytes: Uint8Array, what = 'direction.npz'): { header: DirectionHeader; layers: LayerDeltaS[] } {
  const members = decodeNpz(bytes, what);
  const meta = members.get('__metadata__');
  if (meta?.dtype !== 'unicode') return fail('E_STORE', `${what}: no __metadata__ text`);
  const header = parseJson(meta.text, `${what}: __metadata__`) as DirectionHeader;
  if (header.format !== DIRECTION_FORMAT) fail('E_STORE', `${what}: format is ${JSON.stringify(header.format)}, expected "${DIRECTION_FORMAT}"`);
  const layers = header.layers.map((l) => {
    const m = members.get(l.name);
    if (m?.dtype !== 'float32') return fail('E_STORE', `${what}: layer ${l.name} has no float32 array`);
    return { name: l.name, deltaS: m.data };
  });
  return { header, layers };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail('E_STORE', `${what} is not JSON (${(e as Error).message})`);
  }
}

/** Write `<stem>.safetensors`, `<stem>.npz` and `<stem>.json` into `dir`, each atomically. */
/** Python that loads a downloaded `.npz` or `.safetensors` direction and applies s' = s + α Δs. */
export function pythonSnippet(fileName: string): string {
  const file = JSON.stringify(fileName);
  const load = fileName.endsWith('.npz')
    ? [
        'with np.load(FILE) as f:',
        '    meta = json.loads(str(f["__metadata__"]))',
        '    delta_s = {layer["name"]: f[layer["name"]] for layer in meta["layers"]}',
        'alpha = meta["alphaDefault"]',
      ]
    : fileName.endsWith('.safetensors')
      ? [
          'from safetensors import safe_open  # pip install safetensors',
          '',
          'with safe_open(FILE, framework="numpy") as f:',
          '    meta = f.metadata()  # strings; numbers and lists as JSON text',
          '    delta_s = {name: f.get_tensor(name) for name in f.keys()}',
          'alpha = json.loads(meta["alphaDefault"])',
        ]
      : fail('E_INPUT', `pythonSnippet: ${JSON.stringify(fileName)} is neither .npz nor .safetensors`);
  return [
    'import json',
    'import numpy as np',
    '',
    `FILE = ${file}`,
    '# A StyleCLIP global direction: one Δs vector per style layer (e.g. "b8.conv1").',
    ...load,
    '',
    'def apply_direction(s, alpha=alpha):',
    '    """s\' = s + alpha * Δs. s maps layer name -> style codes [batch, channels]."""',
    '    return {name: codes + alpha * delta_s[name] if name in delta_s else codes for name, codes in s.items()}',
    '',
    "# Your generator's style codes go here; zeros stand in so this runs as it is.",
    's = {name: np.zeros((1, d.shape[0]), np.float32) for name, d in delta_s.items()}',
    'edited = apply_direction(s, alpha)',
    'print(meta["neutral"], "->", meta["target"], "| alpha", alpha, "| layers", len(delta_s))',
    '',
  ].join('\n');
}
