/**
 * Edits in S-space: s' = s + α Δs for base codes and a row of α values, rendered (and, with a
 * render+encode session, embedded) in batches.
 */
import { fail } from '../core/errors.ts';
import type { Generator } from '../models/generator.ts';
import type { InferenceRunner } from '../models/runtime.ts';

/** [K·A, C_total], row (k, a) = base_k + alphas[a]·Δs. */
export function editCodes(base: Float32Array, k: number, deltaS: Float32Array, alphas: readonly number[]): Float32Array {
  const c = deltaS.length;
  if (base.length !== k * c) fail('E_SHAPE', `base codes: expected ${k}×${c} values, got ${base.length}`);
  const out = new Float32Array(k * alphas.length * c);
  for (let i = 0; i < k; i++)
    for (let a = 0; a < alphas.length; a++) {
      const row = (i * alphas.length + a) * c;
      for (let j = 0; j < c; j++) out[row + j] = base[i * c + j] + alphas[a] * deltaS[j];
    }
  return out;
}

export interface RenderedEdits {
  /** [N, 3, H, W] */
  images: Float32Array;
  /** [N, D] when an encoding session was given. */
  embeds?: Float32Array;
}

/**
 * Render codes [N, C_total] in batches; with `session` (a render+encode model that also outputs
 * `image`) also return the image embeddings.
 */
export async function renderCodes(gen: Generator, codes: Float32Array, n: number, opts: { session?: InferenceRunner; batch?: number } = {}): Promise<RenderedEdits> {
  const batch = opts.batch ?? 16;
  const total = gen.layout.total;
  const res = gen.arch.resolution;
  const images = new Float32Array(n * 3 * res * res);
  let embeds: Float32Array | undefined;
  for (let first = 0; first < n; first += batch) {
    const m = Math.min(batch, n - first);
    const part = codes.slice(first * total, (first + m) * total);
    if (opts.session) {
      const out = await opts.session.run(gen.synthesisFeeds(part, m), ['image', 'image_embeds']);
      images.set(out.image.data as Float32Array, first * 3 * res * res);
      const e = out.image_embeds.data as Float32Array;
      embeds ??= new Float32Array(n * (e.length / m));
      embeds.set(e, first * (e.length / m));
    } else {
      images.set(await gen.synthesis(part, m), first * 3 * res * res);
    }
  }
  return { images, embeds };
}
