/**
 * OpenAI CLIP's tokenizer over a Hugging Face `tokenizer.json` (written by ./bpe.ts from CLIP's BPE
 * vocabulary, or shipped in an encoder bundle), run by @huggingface/tokenizers.
 *
 * Same ids as `clip.tokenize` (clip/clip.py + clip/simple_tokenizer.py) for every prompt in
 * test/fixtures/clip/reference-tokens.json. The original cleans text with `ftfy.fix_text` and two
 * `html.unescape` passes; ftfy is a Python library, so ./clean.ts does the parts of it that are
 * character maps (entities, quotes, ligatures, widths, control characters) and the tokenizer.json
 * does NFC, whitespace and lower-casing. What can still differ (mojibake repair, rare named HTML
 * entities) is listed in ./clean.ts.
 *
 * Browser-safe: no node: imports, no file access; the caller hands in the tokenizer.json text.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { fail } from '../core/errors.ts';
import { cleanText } from './clean.ts';

/** CLIP's text context: `<|startoftext|>`, at most 75 tokens, `<|endoftext|>`, zero padding. */
export const CONTEXT_LENGTH = 77;
const SOT = '<|startoftext|>';
const EOT = '<|endoftext|>';

export interface EncodeBatchOptions {
  contextLength?: number;
  /** Cut over-long prompts to the context length, keeping `<|endoftext|>` last (as clip.tokenize's truncate=True). */
  truncate?: boolean;
}

export interface TokenBatch {
  /** int64 [batch, contextLength] row-major, zero-padded: the text encoder's `input_ids`. */
  ids: BigInt64Array;
  batch: number;
  contextLength: number;
  /** Ids in each row before the padding, sot and eot included (after truncation). */
  lengths: number[];
  /** One line per prompt that was truncated; empty unless `truncate` is set. */
  warnings: string[];
}

export interface ClipTokenizer {
  /** Ids of one prompt with `<|startoftext|>` and `<|endoftext|>`, no length limit, no padding. */
  encode(text: string): number[];
  encodeBatch(texts: readonly string[], opts?: EncodeBatchOptions): TokenBatch;
  /** Text of ids as CLIP's `decode` gives it (`</w>` → space), without the special tokens, trimmed. */
  decode(ids: readonly number[]): string;
  /** The token string of an id (byte-level symbols, `</w>` on word ends), for debugging output. */
  idToToken(id: number): string | undefined;
  /** One more than the largest id: the number of rows the token embedding needs. */
  readonly vocabSize: number;
  readonly sot: number;
  readonly eot: number;
}

interface TokenizerJsonShape {
  added_tokens?: { id: number; content: string }[];
  model?: { type?: string; vocab?: Record<string, number>; merges?: unknown[] };
}

/** A prompt as an error message names it: quoted, cut to 80 characters. */
function quote(text: string): string {
  const chars = Array.from(text);
  return JSON.stringify(chars.length > 80 ? `${chars.slice(0, 79).join('')}…` : text);
}

export function createTokenizer(json: string): ClipTokenizer {
  let spec: TokenizerJsonShape;
  try {
    spec = JSON.parse(json) as TokenizerJsonShape;
  } catch (e) {
    fail('E_INPUT', `tokenizer.json is not valid JSON: ${(e as Error).message}`);
  }
  const model = spec?.model;
  if (model?.type !== 'BPE' || typeof model.vocab !== 'object' || !Array.isArray(model.merges)) {
    fail('E_INPUT', `tokenizer.json: expected a BPE model with "vocab" and "merges", found ${JSON.stringify(model?.type)}`);
  }
  const special = (content: string): number => {
    const t = spec.added_tokens?.find((a) => a.content === content);
    if (!t || !Number.isInteger(t.id)) fail('E_INPUT', `tokenizer.json: no added token ${content}`, 'write it with pipeline/text/bpe.ts');
    return t.id;
  };
  const sot = special(SOT);
  const eot = special(EOT);
  let vocabSize = Math.max(sot, eot) + 1;
  for (const id of Object.values(model.vocab)) vocabSize = Math.max(vocabSize, id + 1);

  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(spec, {});
  } catch (e) {
    fail('E_INPUT', `tokenizer.json could not be loaded: ${(e as Error).message}`);
  }
  const encode = (text: string): number[] => {
    const ids = hf.encode(cleanText(text)).ids;
    // The library maps a token missing from the vocabulary to the unk id, or drops it without one;
    // neither can happen with CLIP's 512 byte tokens, so either means a broken vocabulary.
    if (ids.length < 2 || ids[0] !== sot || ids[ids.length - 1] !== eot || ids.some((id) => !(id >= 0 && id < vocabSize))) {
      fail('E_INPUT', `tokenizer.json does not encode ${quote(text)} as <|startoftext|> … <|endoftext|>: ${JSON.stringify(ids)}`);
    }
    return ids;
  };

  const encodeBatch = (texts: readonly string[], opts: EncodeBatchOptions = {}): TokenBatch => {
    const contextLength = opts.contextLength ?? CONTEXT_LENGTH;
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      fail('E_INPUT', `contextLength must be an integer ≥ 2 (room for <|startoftext|> and <|endoftext|>), got ${contextLength}`);
    }
    const ids = new BigInt64Array(texts.length * contextLength); // [B, L], zeros are the padding
    const lengths: number[] = [];
    const warnings: string[] = [];
    texts.forEach((text, b) => {
      let row = encode(text);
      if (row.length > contextLength) {
        if (!opts.truncate) {
          fail(
            'E_PROMPT',
            `prompt ${quote(text)} has ${row.length} tokens, more than the context length ${contextLength} ` +
              `(${contextLength - 2} plus <|startoftext|> and <|endoftext|>)`,
            'shorten the prompt, or ask for truncation explicitly (truncate: true, or --truncate)',
          );
        }
        warnings.push(`prompt ${quote(text)} has ${row.length} tokens; truncated to ${contextLength}, keeping <|endoftext|> last`);
        row = [...row.slice(0, contextLength - 1), eot];
      }
      row.forEach((id, t) => {
        ids[b * contextLength + t] = BigInt(id);
      });
      lengths.push(row.length);
    });
    return { ids, batch: texts.length, contextLength, lengths, warnings };
  };

  return {
    encode,
    encodeBatch,
    decode: (ids) =>
      ids.length === 0
        ? ''
        : hf.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false }).trim(),
    idToToken: (id) => hf.id_to_token(id),
    vocabSize,
    sot,
    eot,
  };
}
