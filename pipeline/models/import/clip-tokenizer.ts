/**
 * The encoder bundle's tokenizer.json for an imported CLIP, always *regenerated* from a merge list by
 * ../../text/bpe.ts, so token ids follow OpenAI's simple_tokenizer.py by construction. What a user
 * hands in is only the source of the merges, and any vocabulary it carries is checked against the
 * ids the merges imply, token by token:
 *
 * - OpenAI's `bpe_simple_vocab_16e6.txt.gz` (shipped in data/clip/, the default);
 * - Hugging Face `merges.txt` (same layout: a `#version` line, then one merge per line), with its
 *   `vocab.json` beside it checked when present;
 * - Hugging Face `tokenizer.json`: its BPE merges and vocabulary (checked);
 * - `vocab.json` alone names the `merges.txt` beside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fail } from '../../core/errors.ts';
import { CLIP_MERGES, EOT, SOT, clipTokenizerJson, parseBpeVocabulary } from '../../text/bpe.ts';

/** OpenAI's BPE vocabulary, shipped in the repository (MIT licence beside it). */
export const OPENAI_CLIP_VOCAB = new URL('../../../data/clip/bpe_simple_vocab_16e6.txt.gz', import.meta.url);

export interface ClipTokenizerSource {
  tokenizerJson: string;
  /** Where the merges came from, for the manifest note. */
  source: string;
}

/** Merges a vocabulary of `vocabSize` ids holds: 256 bytes, 256 `</w>` bytes, the merges, sot, eot. */
export function mergesFor(vocabSize: number): number {
  const merges = vocabSize - 514;
  if (!Number.isInteger(merges) || merges < 0 || merges > CLIP_MERGES) {
    fail('E_SHAPE', `token_embedding.weight has ${vocabSize} rows; a CLIP BPE vocabulary has 514 + merges ids, at most ${514 + CLIP_MERGES}`);
  }
  return merges;
}

function readText(path: string, what: string): string {
  if (!existsSync(path)) fail('E_MISSING', `${what} ${path} does not exist`);
  return readFileSync(path, 'utf8');
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail('E_INPUT', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Every token of `given` must have the id the merges give it, and no id may be missing. */
function checkVocab(given: unknown, mergesText: Uint8Array, merges: number, path: string): void {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) fail('E_INPUT', `${path}: the vocabulary is not a {token: id} object`);
  const { vocab } = parseBpeVocabulary(mergesText, { maxMerges: merges });
  const entries = Object.entries(given as Record<string, unknown>);
  if (entries.length !== vocab.length) {
    fail('E_INPUT', `${path}: the vocabulary has ${entries.length} tokens; the merges give ${vocab.length}`, 'the vocabulary and the merges come from different tokenizers');
  }
  const ids = new Map(vocab.map((t, i) => [t, i]));
  for (const [token, id] of entries) {
    if (ids.get(token) !== id) {
      fail('E_INPUT', `${path}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, OpenAI's tokenizer gives it ${ids.get(token) ?? 'no id'}`,
        'StyleAtlas writes the tokenizer from the merges so that ids match OpenAI CLIP; this vocabulary would not');
    }
  }
}

function fromTokenizerJson(path: string, merges: number): ClipTokenizerSource {
  const json = parseJson(readText(path, 'tokenizer'), path) as { model?: { type?: string; merges?: unknown; vocab?: unknown }; added_tokens?: unknown };
  const model = json.model;
  if (model?.type !== 'BPE' || !Array.isArray(model.merges)) fail('E_INPUT', `${path}: not a BPE tokenizer.json (model.type ${JSON.stringify(model?.type)})`);
  // tokenizers ≥ 0.20 writes merges as ["a", "b"] pairs, older versions as "a b" strings.
  const lines = (model.merges as unknown[]).map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string')) return m.join(' ');
    return fail('E_INPUT', `${path}: merge ${i} is ${JSON.stringify(m)}, not "a b" or ["a", "b"]`);
  });
  const text = new TextEncoder().encode(`#version: 0.2\n${lines.join('\n')}\n`);
  checkVocab(model.vocab, text, merges, path);
  for (const t of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    const { content, id } = t as { content?: unknown; id?: unknown };
    const want = content === SOT ? 512 + merges : content === EOT ? 513 + merges : undefined;
    if (want !== undefined && id !== want) fail('E_INPUT', `${path}: special token ${content} has id ${JSON.stringify(id)}, OpenAI's gives ${want}`);
  }
  return { tokenizerJson: clipTokenizerJson(text, { maxMerges: merges }), source: `${basename(path)} (merges and vocabulary checked)` };
}

function fromMerges(path: string, merges: number): ClipTokenizerSource {
  const bytes = new Uint8Array(readFileSync(path));
  const vocabPath = join(dirname(path), 'vocab.json');
  let source = basename(path);
  if (existsSync(vocabPath)) {
    checkVocab(parseJson(readText(vocabPath, 'vocabulary'), vocabPath), bytes, merges, vocabPath);
    source += ' (vocab.json beside it checked)';
  }
  return { tokenizerJson: clipTokenizerJson(bytes, { maxMerges: merges }), source };
}

/** The tokenizer from an explicit file (any of the kinds above). */
export function clipTokenizerFromFile(path: string, vocabSize: number): ClipTokenizerSource {
  const merges = mergesFor(vocabSize);
  if (!existsSync(path)) fail('E_MISSING', `tokenizer file ${path} does not exist`);
  const name = basename(path);
  if (name.endsWith('.json') && name !== 'vocab.json') return fromTokenizerJson(path, merges);
  if (name === 'vocab.json') {
    const mergesPath = join(dirname(path), 'merges.txt');
    if (!existsSync(mergesPath)) fail('E_MISSING', `${path} needs the merges.txt beside it (the ids follow from the merges)`);
    return fromMerges(mergesPath, merges);
  }
  return fromMerges(path, merges);
}

/**
 * The tokenizer when none is named: a Hugging Face checkpoint's own tokenizer.json or merges.txt
 * beside it, else OpenAI's vocabulary shipped with StyleAtlas.
 */
export function defaultClipTokenizer(checkpointDir: string | undefined, vocabSize: number): ClipTokenizerSource {
  for (const name of ['tokenizer.json', 'merges.txt']) {
    const p = checkpointDir && join(checkpointDir, name);
    if (p && existsSync(p)) return clipTokenizerFromFile(p, vocabSize);
  }
  const merges = mergesFor(vocabSize);
  const bytes = new Uint8Array(readFileSync(OPENAI_CLIP_VOCAB));
  return { tokenizerJson: clipTokenizerJson(bytes, { maxMerges: merges }), source: `OpenAI's bpe_simple_vocab_16e6.txt.gz (first ${merges} merges)` };
}
