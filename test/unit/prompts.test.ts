import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { invalidUtf8Offset } from '../../pipeline/core/utf8.ts';
import { VOCABULARY } from '../../pipeline/onnx/colour-world-space.ts';
import { loadTemplates } from '../../pipeline/stages/text-directions.ts';
import { loadPrompts, parsePrompts, resolvePrompt } from '../../pipeline/store/prompts.ts';
import { REPO } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const FACES = join(REPO, 'data/prompts/faces.json');
const COLOUR = join(REPO, 'data/prompts/colour-world.json');

const error = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isStyleAtlasError(e) ? `${e.code}: ${e.message}` : `uncoded: ${String(e)}`;
  }
  return 'no error';
};

describe('shipped prompt catalogues', () => {
  it('faces.json validates, has the reference examples and 20–30 prompts', () => {
    const cat = loadPrompts(FACES);
    expect(cat.prompts.length).toBeGreaterThanOrEqual(20);
    expect(cat.prompts.length).toBeLessThanOrEqual(30);
    const pairs = cat.prompts.map((p) => `${p.neutral} -> ${p.target}`);
    for (const pair of ['face -> smiling face', 'face with hair -> face with grey hair', 'face with hair -> face with blonde hair', 'face with hair -> face with Hi-top fade hair'])
      expect(pairs).toContain(pair);
    expect(cat.defaults).toEqual({ alpha: 4.1, beta: 0.15, betaFloor: 20 });
    // Suggested β stay inside the reference GUI's slider.
    for (const p of cat.prompts) if (typeof p.beta === 'number') expect(p.beta >= 0.08 && p.beta <= 0.3).toBe(true);
  });

  it('colour-world.json validates, and every word a target adds is in the colour-world vocabulary', () => {
    const cat = loadPrompts(COLOUR);
    expect(cat.prompts.length).toBeGreaterThanOrEqual(10);
    // Longest phrases first, so "black and white" is taken whole before "black".
    const phrases = Object.keys(VOCABULARY).sort((a, b) => b.length - a.length);
    const FUNCTION_WORDS = new Set(['a', 'an', 'the', 'with', 'photo']);
    for (const p of cat.prompts) {
      let rest = ` ${p.target.toLowerCase()} `;
      const meaningful: string[] = [];
      for (const ph of phrases) {
        while (rest.includes(` ${ph} `)) {
          meaningful.push(ph);
          rest = rest.replace(` ${ph} `, ' ');
        }
      }
      const unknown = rest.trim().split(/\s+/).filter((w) => w && !FUNCTION_WORDS.has(w));
      expect({ id: p.id, unknown }).toEqual({ id: p.id, unknown: [] });
      expect({ id: p.id, hasMeaning: meaningful.length > 0 }).toEqual({ id: p.id, hasMeaning: true });
    }
  });

  it('resolvePrompt fills in the catalogue defaults', () => {
    const cat = loadPrompts(FACES);
    const smiling = resolvePrompt(cat, cat.prompts.find((p) => p.id === 'smiling')!);
    expect(smiling).toMatchObject({ alpha: 4.1, beta: 0.15, betaFloor: 20, alphaRange: [-10, 10] });
    const swift = resolvePrompt(cat, cat.prompts.find((p) => p.id === 'taylor-swift')!);
    expect(swift).toMatchObject({ beta: 0.1, alphaRange: [0, 10] });
  });
});

describe('bad prompt files give readable E_INPUT errors', () => {
  const base = () => ({
    format: 'styleatlas-prompts/1',
    id: 'test',
    title: 'Test',
    description: 'for tests',
    defaults: { alpha: 4.1, beta: 'auto', betaFloor: 20 },
    prompts: [
      { id: 'smile', neutral: 'face', target: 'smiling face', tags: ['expression'] },
      { id: 'grey-hair', neutral: 'face with hair', target: 'face with grey hair', tags: ['hair'] },
    ],
  });
  const bad = (edit: (j: ReturnType<typeof base> & Record<string, unknown>) => void) => {
    const j = base() as ReturnType<typeof base> & Record<string, unknown>;
    edit(j);
    return error(() => parsePrompts(j, 'x.json'));
  };

  it('accepts the base file', () => expect(bad(() => {})).toBe('no error'));

  it('names the entry, the field, expected and found', () => {
    expect(bad((j) => delete (j.prompts[1] as Record<string, unknown>).target)).toBe(
      'E_INPUT: x.json: prompts[1] (id "grey-hair"): field "target": expected a non-empty string, found nothing',
    );
    expect(bad((j) => ((j.prompts[0] as Record<string, unknown>).beta = 1.5))).toBe(
      'E_INPUT: x.json: prompts[0] (id "smile"): field "beta": expected a number in [0, 1] or "auto", found 1.5',
    );
    expect(bad((j) => ((j.defaults as Record<string, unknown>).beta = -0.1))).toBe('E_INPUT: x.json: field "defaults.beta": expected a number in [0, 1] or "auto", found -0.1');
    expect(bad((j) => (j.prompts[0].id = 'Smile!'))).toMatch(/prompts\[0\] \(id "Smile!"\): field "id": expected a slug of a-z, 0-9 and "-", found "Smile!"/);
    expect(bad((j) => (j.prompts[1].id = 'smile'))).toMatch(/prompts\[1\] \(id "smile"\): field "id": expected an id not used before \(prompts\[0\] has it\), found "smile"/);
    expect(bad((j) => (j.prompts[0].target = '   '))).toMatch(/prompts\[0\] \(id "smile"\): field "target": expected a non-empty string, found "   "/);
    expect(bad((j) => (j.prompts[0].target = 'face'))).toMatch(/field "target": expected a target that differs from the neutral prompt/);
    expect(bad((j) => (j.prompts = []))).toBe('E_INPUT: x.json: field "prompts": expected at least one prompt, found []');
    expect(bad((j) => (j.format = 'prompts/2'))).toMatch(/field "format": expected "styleatlas-prompts\/1", found "prompts\/2"/);
    expect(bad((j) => ((j.prompts[0] as Record<string, unknown>).alphaRange = [5, 1]))).toMatch(/field "alphaRange": expected \[min, max\] with -10 ≤ min < max ≤ 10, found \[5,1\]/);
    expect(bad((j) => ((j.prompts[0] as Record<string, unknown>).alpha = 12))).toMatch(/field "alpha": expected a number in \[-10, 10\], found 12/);
    // α beyond the reference's ±10 is refused even where the prompt widens its own range (DESIGN §5).
    expect(bad((j) => Object.assign(j.prompts[0], { alpha: 12, alphaRange: [-20, 20] }))).toMatch(/prompts\[0\] \(id "smile"\): field "alpha": expected a number in \[-10, 10\], found 12/);
    expect(bad((j) => Object.assign(j.prompts[0], { alphaRange: [-20, 5] }))).toMatch(/field "alphaRange": expected \[min, max\] with -10 ≤ min < max ≤ 10, found \[-20,5\]/);
    expect(bad((j) => Object.assign(j.defaults, { alpha: 1e6, alphaRange: [0, 1e7] }))).toMatch(/field "defaults.alpha": expected a number in \[-10, 10\], found 1000000/);
    expect(bad((j) => ((j.prompts[0] as Record<string, unknown>).tags = 'hair'))).toMatch(/field "tags": expected a list of tags, found "hair"/);
  });

  it('names unknown fields (typos) with the known ones', () => {
    expect(bad((j) => ((j.prompts[0] as Record<string, unknown>).targt = 'x'))).toMatch(/prompts\[0\] \(id "smile"\): unknown field "targt" \(known: id, neutral, target, tags, alpha, beta, alphaRange, note, kinds, mapper\)/);
    expect(bad((j) => ((j.prompts[0] as Record<string, unknown>).mapper = { step: 5 }))).toMatch(/prompts\[0\] \(id "smile"\): field "mapper": unknown field "step" \(known: steps, lr, batch, lambdaL2, seed, trainSamples, testSamples, checkpointEvery, strengths\)/);
  });

  it('refuses unknown prompt kinds and bad mapper settings, naming the field', () => {
    const p0 = (j: { prompts: object[] }) => j.prompts[0] as Record<string, unknown>;
    expect(bad((j) => (p0(j).kinds = ['direction', 'mapping']))).toBe('E_INPUT: x.json: prompts[0] (id "smile"): field "kinds.1": expected "direction" or "mapper" (the prompt kinds), found "mapping"');
    expect(bad((j) => (p0(j).kinds = []))).toMatch(/field "kinds": expected a non-empty list of distinct kinds, each "direction" or "mapper", found \[\]/);
    expect(bad((j) => (p0(j).kinds = ['mapper', 'mapper']))).toMatch(/field "kinds": expected a non-empty list of distinct kinds/);
    expect(bad((j) => (p0(j).mapper = { steps: 0 }))).toMatch(/field "mapper.steps": expected an integer ≥ 1, found 0/);
    expect(bad((j) => (p0(j).mapper = { lr: -1 }))).toMatch(/field "mapper.lr": expected a number > 0, found -1/);
    expect(bad((j) => ((j.defaults as Record<string, unknown>).kinds = 'mapper'))).toMatch(/field "defaults.kinds": expected a non-empty list of distinct kinds/);
  });

  it('fills in kinds (direction by default) and merges mapper settings, the prompt winning key by key', () => {
    const b = base();
    const cat = parsePrompts({ ...b, defaults: { ...b.defaults, kinds: ['mapper'], mapper: { steps: 10, lr: 0.1 } } }, 'x.json');
    const withOwn = { ...cat.prompts[0], kinds: ['direction', 'mapper'] as ('direction' | 'mapper')[], mapper: { steps: 20 } };
    expect(resolvePrompt(cat, withOwn)).toMatchObject({ kinds: ['direction', 'mapper'], mapper: { steps: 20, lr: 0.1 } });
    expect(resolvePrompt(cat, cat.prompts[1])).toMatchObject({ kinds: ['mapper'], mapper: { steps: 10, lr: 0.1 } });
    const plain = loadPrompts(FACES);
    expect(resolvePrompt(plain, plain.prompts[0])).toMatchObject({ kinds: ['direction'], mapper: {} });
  });

  it('loadPrompts: a missing file is E_MISSING, broken JSON is E_INPUT', () => {
    const dir = tempDir();
    expect(error(() => loadPrompts(join(dir, 'nope.json')))).toMatch(/^E_MISSING: prompt file .*nope.json cannot be read \(ENOENT\)/);
    writeFileSync(join(dir, 'broken.json'), '{"format": ');
    expect(error(() => loadPrompts(join(dir, 'broken.json')))).toMatch(/^E_INPUT: .*broken.json: not valid JSON/);
    writeFileSync(join(dir, 'array.json'), '[]');
    expect(error(() => loadPrompts(join(dir, 'array.json')))).toMatch(/^E_INPUT: .*array.json: the file: expected a JSON object, found \[\]/);
  });

  it('loadPrompts: a file that is not UTF-8 is refused naming the byte offset, not stored with U+FFFD', () => {
    const dir = tempDir();
    const good = readFileSync(FACES);
    const at = good.indexOf('smiling face');
    // A Latin-1 "é" (0xe9) inside a target, as an editor set to Latin-1 saves it.
    const latin1 = Buffer.concat([good.subarray(0, at), Buffer.from([0xe9]), good.subarray(at)]);
    writeFileSync(join(dir, 'latin1.json'), latin1);
    expect(error(() => loadPrompts(join(dir, 'latin1.json')))).toBe(
      `E_INPUT: ${join(dir, 'latin1.json')} is not UTF-8: the bytes at offset ${at} (e9 73 6d 69) are not a UTF-8 character`,
    );
  });
});

describe('UTF-8 check', () => {
  it('finds the first byte that does not begin a well-formed sequence, and accepts every well-formed one', () => {
    const enc = new TextEncoder();
    expect(invalidUtf8Offset(enc.encode('ascii, é, ✓, 😀, \u{10ffff}'))).toBe(-1);
    const cases: [number[], number][] = [
      [[0x61, 0x80], 1], // a lone continuation byte
      [[0x61, 0xc3], 1], // cut short at the end
      [[0xc3, 0x28], 0], // a lead byte without its continuation
      [[0xc0, 0xaf], 0], // overlong "/"
      [[0xe0, 0x80, 0xaf], 0], // overlong
      [[0xed, 0xa0, 0x80], 0], // a surrogate (U+D800)
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0x61, 0x62, 0xff], 2],
    ];
    for (const [bytes, at] of cases) expect(invalidUtf8Offset(Uint8Array.from(bytes)), bytes.join(' ')).toBe(at);
    // Agrees with the platform's strict decoder.
    for (const [bytes] of cases) expect(() => new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes))).toThrow();
  });

  it('template lists are checked the same way', () => {
    const file = join(tempDir(), 'templates.json');
    writeFileSync(file, Buffer.concat([Buffer.from('["a photo of a {} caf'), Buffer.from([0xe9]), Buffer.from('"]')]));
    expect(error(() => loadTemplates(file))).toBe(`E_INPUT: ${file} is not UTF-8: the bytes at offset 21 (e9 22 5d) are not a UTF-8 character`);
  });
});
