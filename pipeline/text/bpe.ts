/**
 * Turns OpenAI CLIP's BPE vocabulary (`bpe_simple_vocab_16e6.txt.gz`: a version line, then one merge
 * "a b" per line) into a Hugging Face `tokenizer.json` string, so that the tokenizer itself is a
 * well-kept library (@huggingface/tokenizers) reading a standard file rather than hand-written BPE.
 *
 * Ids follow `clip/simple_tokenizer.py` exactly: the 256 byte symbols in `bytes_to_unicode()` order,
 * the same 256 with `</w>`, one token per merge in merge order, then `<|startoftext|>`, `<|endoftext|>`
 * (49406 and 49407 for the full vocabulary of 48 894 merges).
 *
 * Runs at model-build time (Node): it uses node:zlib. The runtime tokenizer never imports this file.
 */
import { gunzipSync } from 'node:zlib';
import { fail } from '../core/errors.ts';

/** Merges CLIP uses: `merges[1 : 49152 - 256 - 2 + 1]` in simple_tokenizer.py. */
export const CLIP_MERGES = 49152 - 256 - 2;
export const SOT = '<|startoftext|>';
export const EOT = '<|endoftext|>';
const END_OF_WORD = '</w>';

/**
 * CLIP's split regex (simple_tokenizer.py). Only the matches are kept (`invert: true`), which drops the
 * whitespace, as the original's `re.findall` does. The original compiles it with IGNORECASE; the text
 * is lower-cased first, so case folding matters for two code points only (found by comparing the two
 * patterns in Python's `regex` over every code point), spelled out here because JavaScript engines
 * and the HF library fold case differently: `ſ` folds to `s`, so `'ſ` is a contraction; U+0345 folds
 * to `ι`, so it is neither a letter nor punctuation and is dropped.
 */
const CLIP_SPLIT =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'[s\\u017f]|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}\\u0345]+";

/**
 * GPT-2's reversible byte → printable-character table, in the order of the original dict:
 * printable Latin-1 bytes first, then the rest mapped to U+0100… . Token ids 0..255 follow this order,
 * so it must not be rebuilt from an object with integer keys (those iterate in numeric order).
 */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  const range = (a: number, b: number) => {
    for (let i = a; i <= b; i++) bs.push(i);
  };
  range(0x21, 0x7e);
  range(0xa1, 0xac);
  range(0xae, 0xff);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return cs.map((c) => String.fromCharCode(c)); // indexed by position, not by byte
}

export interface BpeVocabulary {
  /** Token strings, index = id; the two special tokens are last. */
  vocab: string[];
  /** Merges in rank order, each "a b". */
  merges: string[];
}

/** Reads the vocabulary file's bytes (gzip or plain text) into CLIP's vocabulary and merge list. */
export function parseBpeVocabulary(bytes: Uint8Array, opts: { maxMerges?: number } = {}): BpeVocabulary {
  const gz = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = new TextDecoder('utf-8', { fatal: true }).decode(gz ? gunzipSync(bytes) : bytes);
  const lines = text.split('\n');
  // Line 0 is a header (`"bpe_simple_vocab_16e6.txt#version: 0.2` in OpenAI's file); the original skips it.
  const available = lines.length - 1;
  const want = opts.maxMerges ?? CLIP_MERGES;
  if (!Number.isInteger(want) || want < 0 || want > CLIP_MERGES) {
    fail('E_INPUT', `maxMerges must be an integer in [0, ${CLIP_MERGES}], got ${want}`);
  }
  if (!lines[0].includes('#version') || available < want) {
    fail(
      'E_INPUT',
      `not a CLIP BPE vocabulary: expected a "#version" header and ${want} merges, found ${available} lines`,
      'use bpe_simple_vocab_16e6.txt.gz from openai/CLIP (data/clip/ in this repository)',
    );
  }
  const merges: string[] = [];
  for (let i = 1; i <= want; i++) {
    const pair = lines[i].split(/\s+/).filter(Boolean);
    if (pair.length !== 2) fail('E_INPUT', `BPE vocabulary line ${i + 1} is not a merge "a b": ${JSON.stringify(lines[i])}`);
    merges.push(`${pair[0]} ${pair[1]}`);
  }
  const bytesVocab = bytesToUnicode();
  const vocab = [...bytesVocab, ...bytesVocab.map((v) => v + END_OF_WORD)];
  for (const m of merges) vocab.push(m.replace(' ', ''));
  vocab.push(SOT, EOT);
  // A merge that repeats an earlier token would silently shadow an id (Python's dict keeps the last);
  // CLIP's vocabulary has none, and a file that does is not one we can promise to match.
  const seen = new Set<string>();
  for (const t of vocab) {
    if (seen.has(t)) fail('E_INPUT', `BPE vocabulary defines token ${JSON.stringify(t)} twice`);
    seen.add(t);
  }
  return { vocab, merges };
}

/**
 * The Hugging Face `tokenizer.json` for a CLIP vocabulary, in the layout of openai/clip-vit-base-patch32's
 * file: NFC + whitespace runs → one space + lowercase; CLIP's split regex, then byte-level symbols;
 * BPE with the `</w>` end-of-word suffix; `<|startoftext|>` … `<|endoftext|>` around the ids.
 * Written by hand, key by key, so that the bytes are deterministic and the vocabulary is in id order
 * (`JSON.stringify` of an object would hoist integer-like tokens such as "0" to the front).
 */
export function clipTokenizerJson(bytes: Uint8Array, opts: { maxMerges?: number } = {}): string {
  const { vocab, merges } = parseBpeVocabulary(bytes, opts);
  const eotId = vocab.length - 1;
  const sotId = eotId - 1;
  const s = JSON.stringify;
  const added = (id: number, content: string) =>
    `    {"id": ${id}, "content": ${s(content)}, "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true}`;
  const vocabLines = vocab.slice(0, sotId).map((t, id) => `      ${s(t)}: ${id}`);
  vocabLines.push(`      ${s(SOT)}: ${sotId}`, `      ${s(EOT)}: ${eotId}`);
  return [
    '{',
    '  "version": "1.0",',
    '  "truncation": null,',
    '  "padding": null,',
    '  "added_tokens": [',
    `${added(sotId, SOT)},`,
    added(eotId, EOT),
    '  ],',
    '  "normalizer": {"type": "Sequence", "normalizers": [',
    '    {"type": "NFC"},',
    '    {"type": "Replace", "pattern": {"Regex": "\\\\s+"}, "content": " "},',
    '    {"type": "Lowercase"}',
    '  ]},',
    '  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [',
    `    {"type": "Split", "pattern": {"Regex": ${s(CLIP_SPLIT)}}, "behavior": "Removed", "invert": true},`,
    '    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}',
    '  ]},',
    `  "post_processor": {"type": "RobertaProcessing", "sep": [${s(EOT)}, ${eotId}], "cls": [${s(SOT)}, ${sotId}], "trim_offsets": false, "add_prefix_space": false},`,
    '  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},',
    '  "model": {',
    '    "type": "BPE",',
    '    "dropout": null,',
    `    "unk_token": ${s(EOT)},`,
    '    "continuing_subword_prefix": "",',
    `    "end_of_word_suffix": ${s(END_OF_WORD)},`,
    '    "fuse_unk": false,',
    '    "byte_fallback": false,',
    '    "vocab": {',
    vocabLines.join(',\n'),
    '    },',
    '    "merges": [',
    merges.map((m) => `      ${s(m)}`).join(',\n'),
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}
