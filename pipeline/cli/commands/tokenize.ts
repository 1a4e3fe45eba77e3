/** `styleatlas tokenize`: OpenAI CLIP token ids of prompts, for debugging and for checks from outside. */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { clipTokenizerJson } from '../../text/bpe.ts';
import { type ClipTokenizer, createTokenizer } from '../../text/tokenizer.ts';
import { flag, str } from '../args.ts';
import { defineCommand } from '../command.ts';

const BUILD_HINT = 'build an encoder bundle with `npx styleatlas models build <name>`, or pass --vocab FILE';

function kindOf(path: string): 'file' | 'dir' | 'none' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'none';
  }
}

/** The tokenizer named by --encoder DIR (its tokenizer.json) or --vocab FILE (a CLIP .txt.gz vocabulary). */
export function loadTokenizer(opts: { encoder?: string; vocab?: string; cwd: string }): ClipTokenizer {
  if ((opts.encoder === undefined) === (opts.vocab === undefined)) {
    fail('E_USAGE', 'give exactly one of --encoder DIR and --vocab FILE', 'styleatlas tokenize --help');
  }
  if (opts.vocab !== undefined) {
    const file = resolve(opts.cwd, opts.vocab);
    if (kindOf(file) !== 'file') {
      fail('E_MISSING', `vocabulary file ${file} does not exist`, 'the CLIP vocabulary ships as data/clip/bpe_simple_vocab_16e6.txt.gz');
    }
    return createTokenizer(clipTokenizerJson(readFileSync(file)));
  }
  const dir = resolve(opts.cwd, opts.encoder as string);
  if (kindOf(dir) !== 'dir') fail('E_MISSING', `encoder folder ${dir} does not exist`, BUILD_HINT);
  const file = join(dir, 'tokenizer.json');
  if (kindOf(file) !== 'file') fail('E_MISSING', `encoder folder ${dir} has no tokenizer.json`, BUILD_HINT);
  return createTokenizer(readFileSync(file, 'utf8'));
}

export default defineCommand({
  path: ['tokenize'],
  summary: 'print the OpenAI CLIP token ids of prompts',
  usage: '(--encoder DIR | --vocab FILE) [--truncate] [--json] TEXT…',
  details: `
Encodes each TEXT as clip.tokenize does: <|startoftext|>, the BPE ids, <|endoftext|>; at most 77 ids.

  --encoder DIR   use DIR/tokenizer.json of an encoder bundle
  --vocab FILE    build the tokenizer from a CLIP BPE vocabulary (.txt.gz), e.g.
                  data/clip/bpe_simple_vocab_16e6.txt.gz
  --truncate      cut prompts over 77 tokens, keeping <|endoftext|> last, with a warning on
                  stderr (without it such a prompt is an E_PROMPT error)
  --json          print one JSON array of ids per TEXT, one per line (without padding);
                  otherwise print each TEXT with its tokens and ids

A TEXT that starts with "-" goes after "--".`,
  options: {
    encoder: { type: 'string' },
    vocab: { type: 'string' },
    truncate: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  positionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length === 0) fail('E_USAGE', 'give at least one TEXT to tokenize', 'styleatlas tokenize --help');
    const tok = loadTokenizer({ encoder: str(values, 'encoder'), vocab: str(values, 'vocab'), cwd: io.cwd });
    const batch = tok.encodeBatch(positionals, { truncate: flag(values, 'truncate') });
    for (const w of batch.warnings) io.err(`warning: ${w}`);
    positionals.forEach((text, b) => {
      const start = b * batch.contextLength;
      const ids = Array.from(batch.ids.subarray(start, start + batch.lengths[b]), Number);
      if (flag(values, 'json')) {
        io.out(JSON.stringify(ids));
      } else {
        const pieces = ids.map((id) => `${tok.idToToken(id) ?? '?'}=${id}`);
        io.out(`${JSON.stringify(text)} (${ids.length} tokens): ${pieces.join(' ')}`);
      }
    });
  },
});
