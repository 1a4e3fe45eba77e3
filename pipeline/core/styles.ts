import { fail } from './errors.ts';
import { assertFinite } from './finite.ts';

/**
 * Style codes in S-space as one flat array per batch: s [B, C_total], layers laid out in
 * manifest order. A channel's global index is its layer's offset plus its index in the layer.
 */
export interface LayerInfo {
  name: string;
  kind: 'conv' | 'torgb';
  resolution: number;
  channels: number;
  wIndex: number;
}

export interface StyleLayout {
  layers: readonly (LayerInfo & { offset: number })[];
  total: number;
}

export function styleLayout(layers: readonly LayerInfo[]): StyleLayout {
  let offset = 0;
  const out = layers.map((l) => {
    const withOffset = { ...l, offset };
    offset += l.channels;
    return withOffset;
  });
  return { layers: out, total: offset };
}

/** s [B, C_total] → one [B, C_l] array per layer (copies). */
export function splitStyles(flat: Float32Array, batch: number, layout: StyleLayout): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const l of layout.layers) {
    const a = new Float32Array(batch * l.channels);
    for (let b = 0; b < batch; b++) a.set(flat.subarray(b * layout.total + l.offset, b * layout.total + l.offset + l.channels), b * l.channels);
    out.set(l.name, a);
  }
  return out;
}

/**
 * The feeds of a synthesis graph (or of any graph that embeds one) for s [B, C_total]: a fresh
 * [B, C_l] float32 tensor per layer, under the input name `inputName(layer)`. NaN/Inf is
 * E_NUMERIC naming the layer, so a bad code never reaches the runtime. The one feed builder of
 * the pipeline and the browser.
 */
export function styleFeeds(
  s: Float32Array,
  batch: number,
  layout: StyleLayout,
  inputName: (layer: string) => string,
): Record<string, { type: 'float32'; data: Float32Array; dims: readonly number[] }> {
  if (s.length !== batch * layout.total) fail('E_SHAPE', `styles: expected ${batch}×${layout.total} values, got ${s.length}`);
  const feeds: Record<string, { type: 'float32'; data: Float32Array; dims: readonly number[] }> = {};
  for (const [name, arr] of splitStyles(s, batch, layout)) {
    assertFinite(arr, `style codes of layer ${name}`);
    feeds[inputName(name)] = { type: 'float32', data: arr, dims: [batch, arr.length / batch] };
  }
  return feeds;
}

/** One [B, C_l] array per layer → s [B, C_total]. */
export function joinStyles(perLayer: ReadonlyMap<string, Float32Array>, batch: number, layout: StyleLayout): Float32Array {
  const flat = new Float32Array(batch * layout.total);
  for (const l of layout.layers) {
    const a = perLayer.get(l.name);
    if (!a || a.length !== batch * l.channels) throw new RangeError(`styles for ${l.name}: expected ${batch}×${l.channels} values, got ${a?.length ?? 'none'}`);
    for (let b = 0; b < batch; b++) flat.set(a.subarray(b * l.channels, (b + 1) * l.channels), b * layout.total + l.offset);
  }
  return flat;
}

/** Truncation: w' = w_avg + ψ (w − w_avg), for w [B, wDim]. ψ = 1 returns w unchanged. */
export function truncate(w: Float32Array, wAvg: Float32Array, psi: number): Float32Array {
  if (psi === 1) return w.slice();
  const d = wAvg.length;
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const a = wAvg[i % d];
    out[i] = a + psi * (w[i] - a);
  }
  return out;
}

/** w [B, wDim] → ws [B, numWs, wDim], the same w for every layer. */
export function broadcastWs(w: Float32Array, batch: number, numWs: number): Float32Array {
  const d = w.length / batch;
  const ws = new Float32Array(batch * numWs * d);
  for (let b = 0; b < batch; b++) for (let k = 0; k < numWs; k++) ws.set(w.subarray(b * d, (b + 1) * d), (b * numWs + k) * d);
  return ws;
}
