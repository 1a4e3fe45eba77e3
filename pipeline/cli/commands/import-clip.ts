import { existsSync } from 'node:fs';
import { fail } from '../../core/errors.ts';
import { CLIP_FORMATS, importClip, parseClipFormat } from '../../models/import/clip.ts';
import { checkBundleId, idFromPath } from '../../models/import/common.ts';
import { flag, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['import', 'clip'],
  summary: "import CLIP weights (OpenAI's ViT-B-32.pt or state dict, Hugging Face model.safetensors) as an encoder bundle",
  usage: '<checkpoint> --out DIR [--format openai|hf] [--tokenizer FILE] [--id NAME] [--force]',
  details: `Reads the weights as data, derives the architecture from the shapes (ViT models only) and
writes visual.onnx, text.onnx and a tokenizer.json regenerated from the BPE merges, so token ids
match OpenAI CLIP's. The manifest records the checkpoint's sha256. Nothing is written on failure.

  <checkpoint>        OpenAI: the released TorchScript archive (ViT-B-32.pt; its module tree is read
                      as data, its code never run) or a torch.save of the model's state dict;
                      Hugging Face: model.safetensors (config.json beside it is checked when present)
  --out DIR           bundle folder to create (e.g. models/clip-vit-b32)
  --format NAME       ${CLIP_FORMATS.join(' or ')} (default: recognised from the file)
  --tokenizer FILE    tokenizer.json, merges.txt (+ vocab.json beside it), vocab.json or
                      bpe_simple_vocab_16e6.txt.gz; vocabularies are checked against the merges.
                      Default: Hugging Face's tokenizer.json/merges.txt beside the checkpoint, else
                      OpenAI's vocabulary shipped in data/clip/
  --id NAME           bundle id (default: the folder name, lower-cased)
  --force             replace an existing bundle folder

See docs/bring-your-own-generator.md.`,
  options: {
    out: { type: 'string' },
    format: { type: 'string' },
    tokenizer: { type: 'string' },
    id: { type: 'string' },
    force: { type: 'boolean' },
  },
  positionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) fail('E_USAGE', `expected one checkpoint file, got ${positionals.length}`, 'styleatlas import clip --help');
    const out = requireStr(values, 'out');
    if (existsSync(out) && !flag(values, 'force')) fail('E_INPUT', `--out ${out} already exists`, 'pass --force to replace it');
    const format = str(values, 'format');
    const t0 = performance.now();
    const r = await importClip(positionals[0], out, {
      id: checkBundleId(str(values, 'id') ?? idFromPath(out)),
      format: format === undefined ? undefined : parseClipFormat(format),
      tokenizer: str(values, 'tokenizer'),
      log: (m) => io.err(m),
    });
    const m = r.bundle.manifest;
    const bytes = Object.values(m.files).flat().reduce((s, f) => s + f.bytes, 0);
    io.err(`${m.id}: ${r.format} CLIP imported in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(bytes / 2 ** 20).toFixed(1)} MiB → ${r.bundle.dir}`);
    io.out(r.bundle.dir);
  },
});
