/**
 * `import clip`: one CLIP checkpoint (+ a tokenizer source) → one encoder bundle. The format is
 * recognised from the bytes and names: safetensors or `text_model.*`/`vision_model.*` tensors are
 * Hugging Face's, `visual.*` tensors in a torch.save file or a TorchScript archive (OpenAI's released
 * `ViT-B-32.pt`, whose module tree is read as data) are OpenAI's. The tokenizer.json is always
 * regenerated from BPE merges (./clip-tokenizer.ts) so ids match OpenAI's, and the bundle is written
 * atomically with the checkpoint's sha256 in its manifest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fail } from '../../core/errors.ts';
import { isSafetensors, readSafetensors } from '../../store/safetensors-read.ts';
import type { Bundle } from '../bundle.ts';
import { flattenTensors, readCheckpoint, scriptStateDict } from '../checkpoint/index.ts';
import { writeClipBundle } from '../clip-bundle.ts';
import { type SourceFile, type SourceTensor, readSource } from './common.ts';
import { importHfClip } from './clip-hf.ts';
import { type ImportedClip, importOpenAIClip } from './clip-openai.ts';
import { clipTokenizerFromFile, defaultClipTokenizer } from './clip-tokenizer.ts';

export const CLIP_FORMATS = ['openai', 'hf'] as const;
export type ClipFormat = (typeof CLIP_FORMATS)[number];

const ORIGIN_FORMAT: Readonly<Record<ClipFormat, string>> = {
  openai: 'openai/CLIP state dict',
  hf: 'Hugging Face transformers CLIPModel',
};
const TORCHSCRIPT_ORIGIN: Readonly<Record<ClipFormat, string>> = {
  openai: 'openai/CLIP TorchScript archive',
  hf: 'Hugging Face transformers CLIPModel TorchScript archive',
};

export interface ClipImportOptions {
  id: string;
  format?: ClipFormat;
  /** tokenizer.json, merges.txt, vocab.json or bpe_simple_vocab_16e6.txt(.gz); see ./clip-tokenizer.ts. */
  tokenizer?: string;
  log?: (message: string) => void;
}

export function parseClipFormat(name: string): ClipFormat {
  if (!(CLIP_FORMATS as readonly string[]).includes(name)) fail('E_USAGE', `unknown CLIP format "${name}"; valid formats: ${CLIP_FORMATS.join(', ')}`);
  return name as ClipFormat;
}

export interface ClipTensors {
  format: ClipFormat;
  /** The file is a TorchScript archive (OpenAI's released ViT-B-32.pt): its state dict was read from the module tree. */
  torchScript: boolean;
  tensors: Map<string, SourceTensor>;
}

/** The tensors of the file and the format they are in. */
export function readClipTensors(src: SourceFile): ClipTensors {
  if (isSafetensors(src.bytes)) return { format: 'hf', torchScript: false, tensors: readSafetensors(src.bytes, src.name).tensors };
  const checkpoint = readCheckpoint(src.bytes);
  const torchScript = checkpoint.format === 'torchscript';
  const tensors: Map<string, SourceTensor> = torchScript ? scriptStateDict(checkpoint.value, checkpoint.size) : flattenTensors(checkpoint.value, checkpoint.size);
  const names = [...tensors.keys()];
  if (names.some((n) => n.startsWith('text_model.') || n.startsWith('vision_model.'))) return { format: 'hf', torchScript, tensors };
  if (names.some((n) => n.startsWith('visual.'))) return { format: 'openai', torchScript, tensors };
  return fail('E_CHECKPOINT', `${src.name} holds no CLIP weights: no visual.* (OpenAI) or vision_model.* (Hugging Face) tensors (found ${names.slice(0, 5).join(', ') || 'none'})`);
}

function hfConfig(checkpointDir: string): unknown {
  const p = join(checkpointDir, 'config.json');
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    return fail('E_INPUT', `${p} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function importClip(file: string, outDir: string, opts: ClipImportOptions): Promise<{ bundle: Bundle; format: ClipFormat }> {
  const log = opts.log ?? (() => {});
  const src = readSource(file);
  log(`${src.name}: reading (${(src.bytes.length / 2 ** 20).toFixed(1)} MiB, sha256 ${src.sha256.slice(0, 12)}…)`);
  const { format, torchScript, tensors } = readClipTensors(src);
  if (opts.format && opts.format !== format) fail('E_INPUT', `--format ${opts.format}, but ${src.name} holds ${ORIGIN_FORMAT[format]} weights`);
  const dir = dirname(src.path);
  const imported: ImportedClip = format === 'hf' ? importHfClip(tensors, hfConfig(dir)) : importOpenAIClip(tensors);
  const origin = (torchScript ? TORCHSCRIPT_ORIGIN : ORIGIN_FORMAT)[format];
  if (torchScript) imported.notes.unshift('TorchScript archive read as data: the module tree\'s declared parameters and buffers (its code was not run)');
  const { arch } = imported;
  log(`${src.name}: ViT ${arch.imageResolution}px/${arch.visionPatchSize}, width ${arch.visionWidth}×${arch.visionLayers}; text width ${arch.textWidth}×${arch.textLayers}; embed ${arch.embedDim}`);
  const tok = opts.tokenizer
    ? clipTokenizerFromFile(opts.tokenizer, arch.vocabSize)
    : defaultClipTokenizer(format === 'hf' ? dir : undefined, arch.vocabSize);
  log(`${src.name}: tokenizer from ${tok.source}`);
  const bundle = await writeClipBundle(outDir, {
    id: opts.id,
    description: `CLIP ViT (${arch.imageResolution}px, patch ${arch.visionPatchSize}, embed ${arch.embedDim}) imported from ${src.name} (${origin})`,
    origin: {
      type: 'import',
      format: origin,
      sourceFile: src.name,
      sourceSha256: src.sha256,
      note: [...imported.notes, `tokenizer from ${tok.source}`].join('; '),
    },
    arch,
    weights: imported.weights,
    tokenizerJson: tok.tokenizerJson,
    log,
  });
  return { bundle, format };
}
