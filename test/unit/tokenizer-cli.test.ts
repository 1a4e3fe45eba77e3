import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../pipeline/cli/command.ts';
import tokenize from '../../pipeline/cli/commands/tokenize.ts';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { clipTokenizerJson } from '../../pipeline/text/bpe.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VOCAB_REL = 'data/clip/bpe_simple_vocab_16e6.txt.gz';
const tmp = mkdtempSync(join(tmpdir(), 'styleatlas-tokenize-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fakeIO() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {}, cwd: ROOT };
  return { io, out, err };
}

async function run(values: Record<string, string | boolean>, positionals: string[]) {
  const f = fakeIO();
  await tokenize.run({ values, positionals, io: f.io });
  return f;
}

async function rejection(values: Record<string, string | boolean>, positionals: string[]): Promise<StyleAtlasError> {
  const e = await run(values, positionals).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(StyleAtlasError);
  return e as StyleAtlasError;
}

describe('styleatlas tokenize', () => {
  it('prints one JSON array of ids per text from the real command line', () => {
    const r = spawnSync(process.execPath, ['bin/styleatlas.mjs', 'tokenize', '--vocab', VOCAB_REL, '--json', 'a dog', 'Café crème', ''], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('[49406,320,1929,49407]\n[49406,15304,1075,12138,614,49407]\n[49406,49407]\n');
  });

  it('reads DIR/tokenizer.json of an encoder folder', async () => {
    writeFileSync(join(tmp, 'tokenizer.json'), clipTokenizerJson(readFileSync(join(ROOT, VOCAB_REL)), { maxMerges: 100 }));
    const { out } = await run({ encoder: tmp, json: true }, ['a dog']);
    const ids = JSON.parse(out[0]) as number[];
    expect(ids[0]).toBe(612); // sot right after the 512 byte tokens and 100 merges
    expect(ids[ids.length - 1]).toBe(613);
    const human = await run({ encoder: tmp }, ['a dog']);
    expect(human.out[0]).toMatch(/^"a dog" \(\d+ tokens\): <\|startoftext\|>=612 a<\/w>=320 .* <\|endoftext\|>=613$/);
  });

  it('fails with E_PROMPT over 77 tokens, and truncates with a warning when asked', async () => {
    const long = Array(80).fill('a').join(' ');
    const e = await rejection({ vocab: VOCAB_REL, json: true }, [long]);
    expect(e.code).toBe('E_PROMPT');
    expect(e.message).toContain('82 tokens');
    const { out, err } = await run({ vocab: VOCAB_REL, json: true, truncate: true }, [long]);
    const ids = JSON.parse(out[0]) as number[];
    expect(ids).toHaveLength(77);
    expect(ids[76]).toBe(49407);
    expect(err.join('\n')).toMatch(/^warning: prompt "a a a.*82 tokens; truncated to 77/);
  });

  it('says what to run when the encoder folder or its tokenizer.json is missing', async () => {
    const noDir = await rejection({ encoder: join(tmp, 'no-such-encoder') }, ['a dog']);
    expect(noDir.code).toBe('E_MISSING');
    expect(noDir.message).toContain('no-such-encoder');
    expect(noDir.hint).toContain('styleatlas models build');
    const empty = mkdtempSync(join(tmp, 'empty-'));
    const noFile = await rejection({ encoder: empty }, ['a dog']);
    expect(noFile.code).toBe('E_MISSING');
    expect(noFile.message).toContain('has no tokenizer.json');
    expect((await rejection({ vocab: 'no/such/vocab.txt.gz' }, ['a'])).code).toBe('E_MISSING');
  });

  it('rejects a command line without exactly one source or without TEXT', async () => {
    expect((await rejection({ vocab: VOCAB_REL, encoder: tmp }, ['a'])).code).toBe('E_USAGE');
    expect((await rejection({}, ['a'])).code).toBe('E_USAGE');
    expect((await rejection({ vocab: VOCAB_REL }, [])).code).toBe('E_USAGE');
  });
});
