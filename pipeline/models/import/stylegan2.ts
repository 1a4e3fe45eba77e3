/**
 * `import stylegan2`: one checkpoint file → one generator bundle. Recognises the format from the bytes
 * (a torch.save zip or legacy file is rosinality's; a plain pickle is NVIDIA's), reads it with the safe
 * checkpoint reader (nothing in the file is ever run), maps it onto the builder's weights and writes
 * the bundle atomically with the source file's sha256 in the manifest.
 */
import { fail, isStyleAtlasError } from '../../core/errors.ts';
import { detectFormat, readCheckpoint, readNvidiaPickle } from '../checkpoint/index.ts';
import type { Bundle } from '../bundle.ts';
import type { GeneratorManifest } from '../manifest.ts';
import { writeGeneratorBundle } from '../stylegan2-bundle.ts';
import { type ImportedGenerator, type SourceFile, readSource } from './common.ts';
import { importNvidia } from './stylegan2-nvidia.ts';
import { importRosinality } from './stylegan2-rosinality.ts';

export const STYLEGAN2_FORMATS = ['rosinality', 'nvidia'] as const;
export type StyleGAN2Format = (typeof STYLEGAN2_FORMATS)[number];

const ORIGIN_FORMAT: Readonly<Record<StyleGAN2Format, string>> = {
  rosinality: 'rosinality/stylegan2-pytorch',
  nvidia: 'NVlabs/stylegan2-ada-pytorch',
};

export interface StyleGAN2ImportOptions {
  id: string;
  /** Checked against the file when given; recognised from the bytes when not. */
  format?: StyleGAN2Format;
  /** rosinality only: the mapping's lr_mul (default 0.01). */
  mappingLrMul?: number;
  log?: (message: string) => void;
}

export interface StyleGAN2ImportResult {
  bundle: Bundle<GeneratorManifest>;
  format: StyleGAN2Format;
  warnings: string[];
}

export function parseStyleGAN2Format(name: string): StyleGAN2Format {
  if (!(STYLEGAN2_FORMATS as readonly string[]).includes(name)) {
    fail('E_USAGE', `unknown StyleGAN2 format "${name}"; valid formats: ${STYLEGAN2_FORMATS.join(', ')}`);
  }
  return name as StyleGAN2Format;
}

/** The format the bytes are in: NVIDIA's network pickles are plain pickles, rosinality's are torch.save files. */
export function detectStyleGAN2Format(src: SourceFile): StyleGAN2Format {
  return detectFormat(src.bytes) === 'pickle' ? 'nvidia' : 'rosinality';
}

/** A common refusal gets a hint for its source: TensorFlow-era NVIDIA pickles. */
function explainRefusal(e: unknown): never {
  if (isStyleAtlasError(e) && e.code === 'E_CHECKPOINT' && e.message.includes('dnnlib.tflib')) {
    fail('E_CHECKPOINT', `${e.message} — this is a TensorFlow StyleGAN2 pickle`,
      "convert it with stylegan2-ada-pytorch's legacy.py (python legacy.py --source=old.pkl --dest=new.pkl) and import the result");
  }
  throw e;
}

export function readStyleGAN2(src: SourceFile, format: StyleGAN2Format, opts: Pick<StyleGAN2ImportOptions, 'mappingLrMul'> = {}): ImportedGenerator {
  try {
    if (format === 'nvidia') {
      if (opts.mappingLrMul !== undefined) fail('E_USAGE', 'the mapping lr_mul of an NVIDIA pickle is read from the pickle; do not pass it');
      return importNvidia(readNvidiaPickle(src.bytes));
    }
    const checkpoint = readCheckpoint(src.bytes);
    if (checkpoint.format === 'torchscript') {
      fail('E_CHECKPOINT', `${src.name} is a TorchScript archive; import stylegan2 reads rosinality torch.save checkpoints and NVIDIA pickles`,
        "in Python: torch.save({'g_ema': torch.jit.load(path, map_location='cpu').state_dict()}, 'g_ema.pt')");
    }
    return importRosinality(checkpoint, { mappingLrMul: opts.mappingLrMul });
  } catch (e) {
    return explainRefusal(e);
  }
}

export async function importStyleGAN2(file: string, outDir: string, opts: StyleGAN2ImportOptions): Promise<StyleGAN2ImportResult> {
  const log = opts.log ?? (() => {});
  const src = readSource(file);
  const found = detectStyleGAN2Format(src);
  if (opts.format && opts.format !== found) {
    fail('E_INPUT', `--format ${opts.format}, but ${src.name} is ${found === 'nvidia' ? 'a plain pickle (an NVIDIA network pickle)' : 'a torch.save file (a rosinality checkpoint)'}`);
  }
  log(`${src.name}: reading a ${ORIGIN_FORMAT[found]} checkpoint (${(src.bytes.length / 2 ** 20).toFixed(1)} MiB, sha256 ${src.sha256.slice(0, 12)}…)`);
  const g = readStyleGAN2(src, found, opts);
  const { arch } = g;
  const widths = Object.entries(arch.channels).map(([r, c]) => `${r}:${c}`).join(' ');
  log(`${src.name}: ${arch.resolution}×${arch.resolution}, z ${arch.zDim}, w ${arch.wDim}, ${arch.mappingLayers} mapping layers, channels ${widths}`);
  const bundle = await writeGeneratorBundle(outDir, {
    id: opts.id,
    description: `StyleGAN2 ${arch.resolution}×${arch.resolution} imported from ${src.name} (${ORIGIN_FORMAT[found]})`,
    origin: {
      type: 'import',
      format: ORIGIN_FORMAT[found],
      sourceFile: src.name,
      sourceSha256: src.sha256,
      note: [...g.notes, ...g.warnings.map((w) => `warning: ${w}`)].join('; '),
    },
    arch,
    weights: g.weights,
    wAvg: g.wAvg,
    log,
  });
  return { bundle: bundle as Bundle<GeneratorManifest>, format: found, warnings: g.warnings };
}
