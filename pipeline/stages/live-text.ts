/**
 * Which text tower the live prompt box runs. A text.onnx within LIVE_LIMITS.text ships as it is
 * (float32). A larger one gets a weight-only int8 copy (pipeline/onnx/quantise.ts), and that copy
 * ships only when it fits and its Δt agrees with float32's to cosine ≥ LIVE_INT8_MIN_COSINE on
 * every prompt pair measured (the catalogue's own prompts); otherwise the tower is left off with
 * the reason. Never an unchecked copy.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fail } from '../core/errors.ts';
import { cosine } from '../core/vec.ts';
import { ModelSession, type RuntimeOptions, int64 } from '../models/runtime.ts';
import { quantiseWeightsInt8 } from '../onnx/quantise.ts';
import type { TextCache } from '../store/text-cache.ts';
import { checkedTextDirection } from '../text/templates.ts';
import { type TextEncoder, textEmbeddings } from './text-directions.ts';

/** The least cosine between the int8 tower's Δt and float32's, over every pair, for the int8 tower to ship. */
export const LIVE_INT8_MIN_COSINE = 0.999;

export interface PromptPair {
  neutral: string;
  target: string;
}

/** How the int8 copy's Δt agrees with float32's over the pairs measured. */
export interface TowerAgreement {
  pairs: number;
  minCosine: number;
  medianCosine: number;
  /** The pair with the least cosine. */
  worst: PromptPair;
}

export type LiveTextTower =
  | { tower: 'float32'; bytes: number }
  | { tower: 'int8'; bytes: number; sha256: string; data: Uint8Array; agreement: TowerAgreement & { minRequired: number; promptSet: string }; quantisation: string };

/** What the catalogue publishes: a tower, or why none (E_LIVE_TEXT). */
export type LiveTextChoice = LiveTextTower | { tower: 'none'; code: 'E_LIVE_TEXT'; reason: string };

export const QUANTISATION = 'weight-only int8: every rank-2 float32 weight of 4096+ values feeding a MatMul or Gather, symmetric, one scale (absmax/127) per output channel; activations float32';

/** `enc`'s text side with another text.onnx (`bytes`): the same tokenizer, a cache key of its own. */
export async function openTextVariant(enc: TextEncoder, bytes: Uint8Array, label: string, runtime: RuntimeOptions): Promise<TextEncoder & { release(): Promise<void> }> {
  const session = await ModelSession.open(bytes, label, runtime);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const ctx = enc.bundle.manifest.architecture.contextLength;
  return {
    tokenizer: enc.tokenizer,
    dim: enc.dim,
    bundle: { ...enc.bundle, manifestSha256: `${enc.bundle.manifestSha256}+text:${sha256}` },
    encodeTokenIds: async (ids, batch) => (await session.run({ input_ids: int64(ids, [batch, ctx]) })).text_embeds.data as Float32Array,
    release: () => session.release(),
  };
}

/** Δt of every pair through both towers (each distinct prompt embedded once per tower), and how far they agree. */
export async function measureAgreement(reference: TextEncoder, variant: TextEncoder, pairs: readonly PromptPair[], opts: { templates: readonly string[]; cache?: TextCache }): Promise<TowerAgreement> {
  if (pairs.length === 0) fail('E_INPUT', 'no prompt pairs to measure the text tower on');
  const prompts = [...new Set(pairs.flatMap((p) => [p.neutral, p.target]))];
  const at = (t: Float32Array[]) => new Map(prompts.map((p, i) => [p, t[i]]));
  const want = at((await textEmbeddings(reference, prompts, opts)).t);
  const got = at((await textEmbeddings(variant, prompts, opts)).t);
  const label = reference.bundle.manifest.id;
  const dt = (t: Map<string, Float32Array>, p: PromptPair) => checkedTextDirection(label, p.neutral, p.target, t.get(p.neutral)!, t.get(p.target)!).deltaT;
  const rows = pairs.map((p) => ({ p, c: cosine(dt(want, p), dt(got, p)) }));
  const sorted = rows.map((r) => r.c).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const worst = rows.reduce((a, b) => (b.c < a.c ? b : a));
  return { pairs: rows.length, minCosine: sorted[0], medianCosine: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2, worst: { neutral: worst.p.neutral, target: worst.p.target } };
}

/**
 * The tower the live box gets for `enc` (its text.onnx at `textPath`, `limit` bytes at most),
 * measured on `pairs` of the prompt set `promptSet`: float32 when it fits, else the int8 copy when
 * it fits and agrees, else none with the reason (E_LIVE_TEXT). Other errors are thrown.
 */
export async function chooseLiveTextTower(
  enc: TextEncoder,
  textPath: string,
  limit: number,
  pairs: readonly PromptPair[],
  opts: { templates: readonly string[]; cache?: TextCache; runtime: RuntimeOptions; promptSet: string; minCosine?: number },
): Promise<LiveTextChoice> {
  const size = statSync(textPath).size;
  if (size <= limit) return { tower: 'float32', bytes: size };
  const minRequired = opts.minCosine ?? LIVE_INT8_MIN_COSINE;
  const id = enc.bundle.manifest.id;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const none = (reason: string): LiveTextChoice => ({ tower: 'none', code: 'E_LIVE_TEXT', reason });
  const { bytes: data } = quantiseWeightsInt8(readFileSync(textPath), `${id}/text.onnx`);
  if (data.byteLength > limit) return none(`it is ${mib(size)} and its int8 copy ${mib(data.byteLength)}, both over the ${mib(limit)} the live page downloads`);
  const variant = await openTextVariant(enc, data, `${id}/text.int8.onnx`, opts.runtime);
  let agreement: TowerAgreement;
  try {
    agreement = await measureAgreement(enc, variant, pairs, opts);
  } finally {
    await variant.release();
  }
  if (!(agreement.minCosine >= minRequired)) {
    return none(`its int8 copy's Δt agrees with float32's only to cosine ${agreement.minCosine.toFixed(6)} (on "${agreement.worst.neutral}" → "${agreement.worst.target}"), under the ${minRequired} required, over the ${agreement.pairs} prompt pairs of ${opts.promptSet}`);
  }
  return { tower: 'int8', bytes: data.byteLength, sha256: createHash('sha256').update(data).digest('hex'), data, agreement: { ...agreement, minRequired, promptSet: opts.promptSet }, quantisation: QUANTISATION };
}

/** One sentence for the catalogue's output. */
export function describeLiveText(modelId: string, c: LiveTextChoice): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (c.tower === 'float32') return `live text tower of ${modelId}: float32 text.onnx (${mib(c.bytes)})`;
  if (c.tower === 'int8') {
    const a = c.agreement;
    return `live text tower of ${modelId}: int8 text.int8.onnx (${mib(c.bytes)}); Δt cosine to float32 min ${a.minCosine.toFixed(6)}, median ${a.medianCosine.toFixed(6)} over ${a.pairs} pairs of ${a.promptSet} (≥ ${a.minRequired} required)`;
  }
  return `live text tower of ${modelId}: none (${c.code}: ${c.reason})`;
}
