import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { CLIP_MERGES, clipTokenizerJson } from '../../pipeline/text/bpe.ts';
import { cleanText, htmlUnescape } from '../../pipeline/text/clean.ts';
import { type ClipTokenizer, createTokenizer } from '../../pipeline/text/tokenizer.ts';

const VOCAB = readFileSync(new URL('../../data/clip/bpe_simple_vocab_16e6.txt.gz', import.meta.url));
const REFERENCE_URL = new URL('../fixtures/clip/reference-tokens.json', import.meta.url);
const SHARED_REFERENCE = new URL('../../../shared/data/clip/reference-tokens.json', import.meta.url);
/** Made with openai/CLIP's own tokenizer from the original vocabulary (a copy of ../shared/data/clip/). */
const REFERENCE: { text: string; ids: number[] }[] = JSON.parse(readFileSync(REFERENCE_URL, 'utf8'));

function thrown(f: () => unknown): StyleAtlasError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StyleAtlasError);
    return e as StyleAtlasError;
  }
  throw new Error('expected a StyleAtlasError, nothing was thrown');
}

let json: string;
let tok: ClipTokenizer;
beforeAll(() => {
  json = clipTokenizerJson(VOCAB);
  tok = createTokenizer(json);
});

describe('CLIP tokenizer (full vocabulary)', () => {
  it('gives OpenAI ids for every reference prompt, through the tokenizer.json we write', () => {
    expect(REFERENCE.length).toBeGreaterThanOrEqual(18);
    for (const r of REFERENCE) expect(tok.encode(r.text), JSON.stringify(r.text)).toEqual(r.ids);
  });

  it('keeps the fixture identical to the shared reference when that is present', () => {
    if (!existsSync(SHARED_REFERENCE)) return; // clean clones have only the fixture
    expect(readFileSync(REFERENCE_URL, 'utf8')).toBe(readFileSync(SHARED_REFERENCE, 'utf8'));
  });

  it('has CLIP ids: 49408 tokens, sot 49406, eot 49407, vocabulary in id order', () => {
    expect([tok.vocabSize, tok.sot, tok.eot]).toEqual([49408, 49406, 49407]);
    const spec = JSON.parse(json);
    expect(spec.model.merges).toHaveLength(CLIP_MERGES);
    const ids = Object.values(spec.model.vocab as Record<string, number>).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 49408 }, (_, i) => i)); // every id exactly once
    expect(json.indexOf('"!": 0')).toBeLessThan(json.indexOf('"0": 15')); // written in id order
    expect([tok.idToToken(0), tok.idToToken(256), tok.idToToken(320), tok.idToToken(49407)]).toEqual(['!', '!</w>', 'a</w>', '<|endoftext|>']);
  });

  it('encodes a batch as int64 [B, 77] rows, zero-padded', () => {
    const texts = REFERENCE.map((r) => r.text);
    const batch = tok.encodeBatch(texts);
    expect(batch.ids).toBeInstanceOf(BigInt64Array);
    expect([batch.batch, batch.contextLength, batch.ids.length]).toEqual([texts.length, 77, texts.length * 77]);
    REFERENCE.forEach((r, b) => {
      const row = Array.from(batch.ids.subarray(b * 77, (b + 1) * 77), Number);
      expect(row).toEqual([...r.ids, ...new Array(77 - r.ids.length).fill(0)]);
      expect(batch.lengths[b]).toBe(r.ids.length);
    });
    expect(batch.warnings).toEqual([]);
    const short = tok.encodeBatch(['a dog'], { contextLength: 6 });
    expect(Array.from(short.ids, Number)).toEqual([49406, 320, 1929, 49407, 0, 0]);
    expect(thrown(() => tok.encodeBatch(['a'], { contextLength: 1 })).code).toBe('E_INPUT');
  });

  it('gives [sot, eot] for an empty or blank prompt', () => {
    expect(tok.encode('')).toEqual([49406, 49407]);
    expect(tok.encode(' \t\n\u00a0\u3000 ')).toEqual([49406, 49407]);
  });

  it('rejects a prompt over 77 tokens with E_PROMPT naming it and its count; truncates only when asked', () => {
    const fits = Array(75).fill('a').join(' '); // 75 + sot + eot = 77
    expect(tok.encodeBatch([fits]).lengths).toEqual([77]);
    const long = `${fits} b`; // 78 tokens
    const e = thrown(() => tok.encodeBatch(['a dog', long]));
    expect(e.code).toBe('E_PROMPT');
    expect(e.message).toContain('"a a a a');
    expect(e.message).toContain('78 tokens');
    expect(e.hint).toContain('truncate');

    const t = tok.encodeBatch(['a dog', long], { truncate: true });
    const row = Array.from(t.ids.subarray(77, 154), Number);
    expect(row).toEqual([49406, ...new Array(75).fill(320), 49407]); // "b" cut, eot kept last
    expect(t.lengths).toEqual([4, 77]);
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toMatch(/78 tokens; truncated to 77/);
  });

  it('encodes non-ASCII text through byte-level BPE and decodes it back', () => {
    for (const text of ['café crème', '😀 日本語', 'ünïcödé σας', 'привет мир']) {
      const ids = tok.encode(text);
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)).toBe(true);
      expect(tok.decode(ids)).toBe(text);
    }
    expect(tok.encode('😀 日本語')).toEqual([49406, 7334, 39121, 44353, 34002, 508, 49407]);
    expect(tok.encode('Cafe\u0301 cre\u0300me')).toEqual(tok.encode('Café crème')); // NFC, as ftfy does
  });

  it('matches the case folding of the original split regex (it is compiled with IGNORECASE)', () => {
    expect(tok.decode(tok.encode("it'ſ"))).toBe("it 'ſ"); // "'ſ" is a contraction like "'s"
    expect(tok.encode("'\u0345")).toEqual(tok.encode("'")); // U+0345 is dropped
  });
});

describe('text clean-up (the parts of ftfy.fix_text and html.unescape that CLIP runs)', () => {
  it('straightens curly quotes, splits ligatures, narrows full-width forms', () => {
    const dont = REFERENCE.find((r) => r.text === "don't stop")!.ids;
    expect(tok.encode('don’t stop')).toEqual(dont);
    expect(tok.encode('don\u0092t stop')).toEqual(dont); // C1 control read as Windows-1252 ’
    expect(tok.encode('“quoted” „low‟')).toEqual(tok.encode('"quoted" "low"'));
    expect(tok.encode('ﬁsh ﬂower')).toEqual(tok.encode('fish flower'));
    expect(tok.encode('ＤＯＧ！')).toEqual(tok.encode('dog!'));
  });

  it('decodes HTML entities as the original does, and drops invisible control characters', () => {
    expect(cleanText('Tom &amp;amp; Jerry')).toBe('Tom & Jerry');
    expect(cleanText('&lt;3 &#x41;&#66; &quot;x&quot;')).toBe('<3 AB "x"');
    expect(cleanText('a <b> &amp; &lt;i&gt;')).toBe('a <b> & <i>'); // HTML-looking: only CLIP's two passes
    expect(cleanText('a <b> &amp;lt;')).toBe('a <b> <');
    expect(cleanText('a <b> &amp;amp;amp;')).toBe('a <b> &amp;'); // ftfy would unescape to '&' without the '<'
    expect(cleanText('a\u0000d\u200bo\ufeffg\x1b[31m!\x1b[0m')).toBe('ad\u200bog!'); // U+200B is not removed by ftfy
    expect(htmlUnescape('&amp &ampx &apos &apos; &#0; &#128;')).toBe("& &x &apos ' \ufffd €");
    expect(htmlUnescape('&constructor; &toString')).toBe('&constructor; &toString');
    expect(cleanText('plain prompt')).toBe('plain prompt');
  });
});

describe('smaller vocabularies (maxMerges) for tiny encoders', () => {
  it('keeps the first K merges, the 512 byte tokens, and puts sot/eot right after', () => {
    const small = createTokenizer(clipTokenizerJson(VOCAB, { maxMerges: 1000 }));
    expect([small.vocabSize, small.sot, small.eot]).toEqual([1514, 1512, 1513]);
    for (let id = 0; id < 1512; id += 37) expect(small.idToToken(id)).toBe(tok.idToToken(id));
    const texts = [...REFERENCE.map((r) => r.text), '😀 日本語', 'a photograph of an extraordinarily photogenic dog'];
    for (const text of texts) {
      const ids = small.encode(text);
      expect(ids[0]).toBe(1512);
      expect(ids[ids.length - 1]).toBe(1513);
      expect(ids.every((id) => id >= 0 && id < small.vocabSize)).toBe(true);
    }
    for (const text of ['a photograph of an extraordinarily photogenic dog', 'café crème', '😀 日本語']) {
      expect(small.decode(small.encode(text))).toBe(text);
    }
    const bytesOnly = createTokenizer(clipTokenizerJson(VOCAB, { maxMerges: 0 }));
    expect(bytesOnly.encode('dog')).toEqual([512, 67, 78, 326, 513]); // d, o, g</w>
  });

  it('rejects a merge count outside [0, 48894] and a file that is not a CLIP vocabulary', () => {
    for (const k of [-1, 1.5, CLIP_MERGES + 1]) expect(thrown(() => clipTokenizerJson(VOCAB, { maxMerges: k })).code).toBe('E_INPUT');
    expect(thrown(() => clipTokenizerJson(new TextEncoder().encode('hello\nworld'))).code).toBe('E_INPUT');
    expect(thrown(() => createTokenizer('{')).code).toBe('E_INPUT');
    expect(thrown(() => createTokenizer('{"model": {"type": "WordPiece"}}')).code).toBe('E_INPUT');
  });
});

describe('tokenizer.json output', () => {
  it('is byte-identical across runs (golden sha256: a change here changes every encoder bundle)', () => {
    expect(clipTokenizerJson(VOCAB)).toBe(json);
    const small = clipTokenizerJson(VOCAB, { maxMerges: 1000 });
    expect(clipTokenizerJson(VOCAB, { maxMerges: 1000 })).toBe(small);
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect({ full: sha(json), small: sha(small) }).toEqual({
      full: 'fe16ae0dc2a2b65b0a2ef2722d9bdcc4b2746dfc913e1153724779cd74723753',
      small: '3cc7d58a97e1639ff1f521a104c385e68f8a2dedbaa8cac7b1bbc3956b0e0bb4',
    });
  });
});
