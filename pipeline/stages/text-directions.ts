/**
 * Text directions (DESIGN §1): t(p) = n(mean_k n(E_T(template_k(p)))) over the templates, and
 * Δt = n(t(target) − t(neutral)). The maths and the prompt checks are shared with the browser
 * (pipeline/text/templates.ts); this stage adds the template file, the encoder and the cache.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TextDirection } from '../core/directions.ts';
import { fail } from '../core/errors.ts';
import { decodeUtf8 } from '../core/utf8.ts';
import type { Encoder } from '../models/encoder.ts';
import type { TextCache, TextCacheKey } from '../store/text-cache.ts';
import { DEFAULT_TEXT_BATCH, type TextTower, checkNotEmpty, checkPromptPair, checkTemplates, checkedTextDirection, embedPrompts } from '../text/templates.ts';

export { DEFAULT_TEXT_BATCH, MIN_NORM_BEFORE, TEMPLATE_SLOT, checkNotEmpty, checkTemplates, fillTemplate } from '../text/templates.ts';

/** The 79 ImageNet prompt templates of CLIP's zero-shot notebook, which StyleCLIP uses. */
export function defaultTemplatesFile(): string {
  return fileURLToPath(new URL('../../data/clip/imagenet-templates-79.json', import.meta.url));
}

/** What the stage needs of an encoder (an opened `Encoder` with its text tower, or a test double). */
export type TextEncoder = Pick<Encoder, 'tokenizer' | 'dim' | 'bundle' | 'encodeTokenIds'>;

export interface TextEmbeddingOptions {
  templates: readonly string[];
  cache?: TextCache;
  /** Texts per text-tower run (default 256). */
  batch?: number;
}

export interface TextEmbeddings {
  /** t(p) for each prompt, unit length, [D] each. */
  t: Float32Array[];
  cacheHits: number;
  /** Template texts that went through the text tower (0 when everything was cached). */
  textsEncoded: number;
}

export interface DeltaT extends TextDirection {
  tNeutral: Float32Array;
  tTarget: Float32Array;
  cacheHits: number;
  textsEncoded: number;
}

export function loadTemplates(path: string = defaultTemplatesFile()): string[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    // Only a missing file is "missing": a folder, a permission or a symlink loop is said as it is.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('E_MISSING', `template file ${path} does not exist`, `the 79 ImageNet templates ship as data/clip/imagenet-templates-79.json`);
    return fail('E_INPUT', `cannot read template file ${path}: ${(e as Error).message}`, 'give a JSON file for --templates');
  }
  const text = decodeUtf8(bytes, path);
  try {
    return checkTemplates(JSON.parse(text), path);
  } catch (e) {
    if (e instanceof SyntaxError) fail('E_INPUT', `${path} is not valid JSON: ${e.message}`);
    throw e;
  }
}

/** Identifies a template list in cache keys and provenance; order counts (it changes float sums). */
export function templatesSha256(templates: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(templates)).digest('hex');
}

/** t(p) for each prompt: cache hits first, then the missing prompts' template texts in batches. */
export function textTower(encoder: TextEncoder): TextTower {
  return {
    label: encoder.bundle.manifest.id,
    tokenizer: encoder.tokenizer,
    contextLength: encoder.bundle.manifest.architecture.contextLength,
    dim: encoder.dim,
    encode: (ids, batch) => encoder.encodeTokenIds(ids, batch),
  };
}

export async function textEmbeddings(encoder: TextEncoder, prompts: readonly string[], opts: TextEmbeddingOptions): Promise<TextEmbeddings> {
  const { templates, cache } = opts;
  const batch = opts.batch ?? DEFAULT_TEXT_BATCH;
  if (!Number.isInteger(batch) || batch < 1) fail('E_INPUT', `text batch must be a positive integer, got ${batch}`);
  checkTemplates(templates, 'templates');
  prompts.forEach((p, i) => checkNotEmpty(p, `${i + 1} of ${prompts.length}`));
  const key: TextCacheKey = { encoderSha256: encoder.bundle.manifestSha256, templatesSha256: templatesSha256(templates) };

  const unique = [...new Set(prompts)];
  const found = new Map<string, Float32Array>();
  cache?.get(key, unique, encoder.dim).forEach((v, i) => v && found.set(unique[i], v));
  // A cached prompt passed the checks under the same tokenizer and templates (both are in the key).
  const missing = unique.filter((p) => !found.has(p));
  const computed = await embedPrompts(textTower(encoder), missing, templates, batch);
  const fresh = missing.map((prompt, i) => {
    found.set(prompt, computed[i]);
    return { prompt, embedding: computed[i] };
  });
  if (cache && fresh.length > 0) cache.put(key, { encoderId: encoder.bundle.manifest.id, templates: templates.length }, fresh);

  return {
    t: prompts.map((p) => Float32Array.from(found.get(p)!)), // copies: a prompt given twice gets two arrays
    cacheHits: unique.length - missing.length,
    textsEncoded: missing.length * templates.length,
  };
}

/** Δt = n(t(target) − t(neutral)), with the facts that say whether it means anything. */
export async function deltaT(encoder: TextEncoder, neutral: string, target: string, opts: TextEmbeddingOptions): Promise<DeltaT> {
  checkPromptPair(encoder, neutral, target);
  const { t, cacheHits, textsEncoded } = await textEmbeddings(encoder, [neutral, target], opts);
  const [tNeutral, tTarget] = t;
  const dir: TextDirection = checkedTextDirection(encoder.bundle.manifest.id, neutral, target, tNeutral, tTarget);
  return { ...dir, tNeutral, tTarget, cacheHits, textsEncoded };
}
