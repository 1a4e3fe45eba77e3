/**
 * Text directions (DESIGN §1): t(p) = n(mean_k n(E_T(template_k(p)))) over the templates, and
 * Δt = n(t(target) − t(neutral)). The maths is pipeline/core/directions.ts; this stage validates
 * prompts, tokenizes the template expansions, runs the text tower in batches, and uses the cache.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type TextDirection, promptEmbedding, textDirection } from '../core/directions.ts';
import { fail } from '../core/errors.ts';
import { norm } from '../core/vec.ts';
import type { Encoder } from '../models/encoder.ts';
import type { TextCache, TextCacheKey } from '../store/text-cache.ts';

/** The 79 ImageNet prompt templates of CLIP's zero-shot notebook, which StyleCLIP uses. */
export const DEFAULT_TEMPLATES_FILE = fileURLToPath(new URL('../../data/clip/imagenet-templates-79.json', import.meta.url));
export const TEMPLATE_SLOT = '{}';
/** Texts per text-tower run: large enough to amortise a run, small enough for any device's memory. */
export const DEFAULT_TEXT_BATCH = 256;
/** ‖t(target) − t(neutral)‖ below this leaves a direction made of rounding noise. */
export const MIN_NORM_BEFORE = 1e-6;

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

/** Python's `template.format(prompt)` for a template with one `{}`; split/join, so "$&" in a prompt stays literal. */
export function fillTemplate(template: string, prompt: string): string {
  return template.split(TEMPLATE_SLOT).join(prompt);
}

/** A template list as the stage accepts it: a non-empty array of strings, each with exactly one `{}`. */
export function checkTemplates(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length === 0) fail('E_INPUT', `${what}: expected a non-empty JSON array of template strings`);
  value.forEach((t, i) => {
    if (typeof t !== 'string' || t.split(TEMPLATE_SLOT).length !== 2) {
      fail('E_INPUT', `${what}: template ${i} must be a string with exactly one "{}" slot, found ${JSON.stringify(t)}`);
    }
  });
  return value as string[];
}

export function loadTemplates(path: string = DEFAULT_TEMPLATES_FILE): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    fail('E_MISSING', `template file ${path} does not exist`, `the 79 ImageNet templates ship as data/clip/imagenet-templates-79.json`);
  }
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

function quote(text: string): string {
  const chars = Array.from(text);
  return JSON.stringify(chars.length > 60 ? `${chars.slice(0, 59).join('')}…` : text);
}

/** Empty or whitespace-only prompts are E_PROMPT; `role` ("neutral", "2 of 5") says which one. */
export function checkNotEmpty(prompt: string, role?: string): void {
  if (prompt.trim() !== '') return;
  const which = role === undefined ? 'prompt' : /^\d/.test(role) ? `prompt ${role}: prompt` : `the ${role} prompt`;
  fail('E_PROMPT', `${which} is empty${prompt === '' ? '' : ' (only whitespace)'}`, 'give a few words, e.g. "face"');
}

/**
 * Every template expansion must fit CLIP's context of 77 tokens, <|startoftext|> and
 * <|endoftext|> included. Truncating silently would change the meaning of the long templates only,
 * so an over-long prompt is an error naming its own length and the longest expansion's.
 */
export function checkPromptLength(encoder: TextEncoder, prompt: string, templates: readonly string[]): void {
  const limit = encoder.bundle.manifest.architecture.contextLength;
  let longest = { tokens: 0, template: '' };
  for (const template of templates) {
    const tokens = encoder.tokenizer.encode(fillTemplate(template, prompt)).length;
    if (tokens > longest.tokens) longest = { tokens, template };
  }
  if (longest.tokens <= limit) return;
  const own = encoder.tokenizer.encode(prompt).length - 2;
  const room = Math.max(0, own - (longest.tokens - limit));
  fail(
    'E_PROMPT',
    `prompt ${quote(prompt)} is ${own} tokens; in template ${JSON.stringify(longest.template)} it is ${longest.tokens}, ` +
      `over the limit of ${limit} (CLIP's context, <|startoftext|> and <|endoftext|> included)`,
    `shorten the prompt to at most ${room} tokens (\`styleatlas tokenize\` shows them)`,
  );
}

/** t(p) for each prompt: cache hits first, then the missing prompts' template texts in batches. */
export async function textEmbeddings(encoder: TextEncoder, prompts: readonly string[], opts: TextEmbeddingOptions): Promise<TextEmbeddings> {
  const { templates, cache } = opts;
  const batch = opts.batch ?? DEFAULT_TEXT_BATCH;
  if (!Number.isInteger(batch) || batch < 1) fail('E_INPUT', `text batch must be a positive integer, got ${batch}`);
  checkTemplates(templates, 'templates');
  prompts.forEach((p, i) => checkNotEmpty(p, `${i + 1} of ${prompts.length}`));
  const d = encoder.dim;
  const k = templates.length;
  const key: TextCacheKey = { encoderSha256: encoder.bundle.manifestSha256, templatesSha256: templatesSha256(templates) };

  const unique = [...new Set(prompts)];
  const found = new Map<string, Float32Array>();
  cache?.get(key, unique, d).forEach((v, i) => v && found.set(unique[i], v));
  const missing = unique.filter((p) => !found.has(p));
  // A cached prompt passed these checks under the same tokenizer and templates (both are in the key).
  for (const p of missing) checkPromptLength(encoder, p, templates);

  const texts = missing.flatMap((p) => templates.map((t) => fillTemplate(t, p)));
  const embeds = new Float32Array(texts.length * d); // [P·K, D], prompt-major
  for (let start = 0; start < texts.length; start += batch) {
    const tokens = encoder.tokenizer.encodeBatch(texts.slice(start, start + batch)); // ids [b, 77]
    embeds.set(await encoder.encodeTokenIds(tokens.ids, tokens.batch), start * d); // [b, D]
  }
  const fresh = missing.map((prompt, i) => {
    const embedding = promptEmbedding(embeds.subarray(i * k * d, (i + 1) * k * d), k, d);
    // promptEmbedding leaves a zero mean at zero; a direction from it would be meaningless.
    if (!(norm(embedding) > 0.5)) fail('E_NUMERIC', `${encoder.bundle.manifest.id}: the templates of prompt ${quote(prompt)} average to a zero embedding`);
    found.set(prompt, embedding);
    return { prompt, embedding };
  });
  if (cache && fresh.length > 0) cache.put(key, { encoderId: encoder.bundle.manifest.id, templates: k }, fresh);

  return {
    t: prompts.map((p) => Float32Array.from(found.get(p)!)), // copies: a prompt given twice gets two arrays
    cacheHits: unique.length - missing.length,
    textsEncoded: texts.length,
  };
}

/** Δt = n(t(target) − t(neutral)), with the facts that say whether it means anything. */
export async function deltaT(encoder: TextEncoder, neutral: string, target: string, opts: TextEmbeddingOptions): Promise<DeltaT> {
  checkNotEmpty(neutral, 'neutral');
  checkNotEmpty(target, 'target');
  const a = encoder.tokenizer.encode(neutral);
  const b = encoder.tokenizer.encode(target);
  // CLIP lower-cases and collapses whitespace, so "Face" and "face " are the same prompt to it.
  if (a.length === b.length && a.every((id, i) => id === b[i])) {
    fail(
      'E_PROMPT',
      `neutral and target are the same prompt: Δt is undefined (${quote(neutral)}${neutral === target ? '' : ` and ${quote(target)} tokenize alike`})`,
      'the target should add what the edit changes, e.g. --neutral "face" --target "smiling face"',
    );
  }
  const { t, cacheHits, textsEncoded } = await textEmbeddings(encoder, [neutral, target], opts);
  const [tNeutral, tTarget] = t;
  const dir = textDirection(tNeutral, tTarget);
  if (!(dir.normBefore >= MIN_NORM_BEFORE)) {
    fail(
      'E_NUMERIC',
      `${encoder.bundle.manifest.id}: t(${quote(target)}) and t(${quote(neutral)}) differ by ${dir.normBefore.toExponential(2)} ` +
        `(< ${MIN_NORM_BEFORE}): the encoder sees no difference between the prompts, so Δt would be noise`,
      'use words this encoder knows (for colour-world: docs/colour-world.md lists its vocabulary)',
    );
  }
  return { ...dir, tNeutral, tTarget, cacheHits, textsEncoded };
}
