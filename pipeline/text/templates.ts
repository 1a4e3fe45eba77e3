/**
 * Prompts over templates (DESIGN §1): t(p) = n(mean_k n(E_T(template_k(p)))), Δt = n(t(target) −
 * t(neutral)), with every check a prompt gets before any encoding. Browser-safe: the text tower is
 * a function, so the pipeline (onnxruntime-node) and the site (onnxruntime-web) share this code.
 */
import { type TextDirection, promptEmbedding, textDirection } from '../core/directions.ts';
import { fail } from '../core/errors.ts';
import { assertFinite } from '../core/finite.ts';
import { norm } from '../core/vec.ts';
import type { ClipTokenizer } from './tokenizer.ts';

export const TEMPLATE_SLOT = '{}';
/** Texts per text-tower run: large enough to amortise a run, small enough for any device's memory. */
export const DEFAULT_TEXT_BATCH = 256;
/** ‖t(target) − t(neutral)‖ below this leaves a direction made of rounding noise. */
export const MIN_NORM_BEFORE = 1e-6;

/** A text tower as these functions need it: its tokenizer and a batched ids → embeddings call. */
export interface TextTower {
  /** Names the encoder in messages. */
  label: string;
  tokenizer: ClipTokenizer;
  contextLength: number;
  dim: number;
  /** input_ids [B, contextLength] → text_embeds [B, D] (not normalised). */
  encode(ids: BigInt64Array, batch: number): Promise<Float32Array>;
}

export function quote(text: string): string {
  const chars = Array.from(text);
  return JSON.stringify(chars.length > 60 ? `${chars.slice(0, 59).join('')}…` : text);
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
export function checkPromptLength(tower: Pick<TextTower, 'tokenizer' | 'contextLength'>, prompt: string, templates: readonly string[]): void {
  const limit = tower.contextLength;
  let longest = { tokens: 0, template: '' };
  for (const template of templates) {
    const tokens = tower.tokenizer.encode(fillTemplate(template, prompt)).length;
    if (tokens > longest.tokens) longest = { tokens, template };
  }
  if (longest.tokens <= limit) return;
  const own = tower.tokenizer.encode(prompt).length - 2;
  const room = Math.max(0, own - (longest.tokens - limit));
  fail(
    'E_PROMPT',
    `prompt ${quote(prompt)} is ${own} tokens; in template ${JSON.stringify(longest.template)} it is ${longest.tokens}, ` +
      `over the limit of ${limit} (CLIP's context, <|startoftext|> and <|endoftext|> included)`,
    `shorten the prompt to at most ${room} tokens (\`styleatlas tokenize\` shows them)`,
  );
}

/** Neutral and target must be non-empty and different to CLIP (it lower-cases and collapses whitespace). */
export function checkPromptPair(tower: Pick<TextTower, 'tokenizer'>, neutral: string, target: string): void {
  checkNotEmpty(neutral, 'neutral');
  checkNotEmpty(target, 'target');
  const a = tower.tokenizer.encode(neutral);
  const b = tower.tokenizer.encode(target);
  if (a.length === b.length && a.every((id, i) => id === b[i])) {
    fail(
      'E_PROMPT',
      `neutral and target are the same prompt: Δt is undefined (${quote(neutral)}${neutral === target ? '' : ` and ${quote(target)} tokenize alike`})`,
      'the target should add what the edit changes, e.g. --neutral "face" --target "smiling face"',
    );
  }
}

/** t(p) of each prompt (checked first), every template text encoded in batches. */
export async function embedPrompts(tower: TextTower, prompts: readonly string[], templates: readonly string[], batch = DEFAULT_TEXT_BATCH): Promise<Float32Array[]> {
  if (!Number.isInteger(batch) || batch < 1) fail('E_INPUT', `text batch must be a positive integer, got ${batch}`);
  checkTemplates(templates, 'templates');
  for (const p of prompts) checkPromptLength(tower, p, templates);
  const d = tower.dim;
  const k = templates.length;
  const texts = prompts.flatMap((p) => templates.map((t) => fillTemplate(t, p)));
  const embeds = new Float32Array(texts.length * d); // [P·K, D], prompt-major
  for (let start = 0; start < texts.length; start += batch) {
    const tokens = tower.tokenizer.encodeBatch(texts.slice(start, start + batch), { contextLength: tower.contextLength }); // ids [b, 77]
    embeds.set(await tower.encode(tokens.ids, tokens.batch), start * d); // [b, D]
  }
  assertFinite(embeds, `${tower.label} text_embeds`);
  return prompts.map((prompt, i) => {
    const embedding = promptEmbedding(embeds.subarray(i * k * d, (i + 1) * k * d), k, d);
    // promptEmbedding leaves a zero mean at zero; a direction from it would be meaningless.
    if (!(norm(embedding) > 0.5)) fail('E_NUMERIC', `${tower.label}: the templates of prompt ${quote(prompt)} average to a zero embedding`);
    return embedding;
  });
}

/** Δt from the two t(p), refusing a difference too small to mean anything. */
export function checkedTextDirection(label: string, neutral: string, target: string, tNeutral: Float32Array, tTarget: Float32Array): TextDirection {
  const dir = textDirection(tNeutral, tTarget);
  if (!(dir.normBefore >= MIN_NORM_BEFORE)) {
    fail(
      'E_NUMERIC',
      `${label}: t(${quote(target)}) and t(${quote(neutral)}) differ by ${dir.normBefore.toExponential(2)} ` +
        `(< ${MIN_NORM_BEFORE}): the encoder sees no difference between the prompts, so Δt would be noise`,
      'use words this encoder knows (for colour-world: docs/colour-world.md lists its vocabulary)',
    );
  }
  return dir;
}
