/**
 * Write an encoder bundle (DESIGN §3, CLIP contract): visual.onnx (pixel_values [B,3,S,S] →
 * image_embeds [B,D]), text.onnx (input_ids [B,77] int64 → text_embeds [B,D]) and the
 * tokenizer.json the text side was built for. Recipes and the CLIP importer both end here.
 */
import { type Bundle, writeBundle } from './bundle.ts';
import { BUNDLE_FORMAT, type EncoderManifest } from './manifest.ts';
import { TOOL_VERSION } from '../version.ts';

export interface EncoderBundleSpec {
  id: string;
  description: string;
  origin: EncoderManifest['origin'];
  architecture: EncoderManifest['architecture'];
  tokenizer: EncoderManifest['tokenizer'];
  visualOnnx: Uint8Array;
  textOnnx: Uint8Array;
  /** The tokenizer.json text. */
  tokenizerJson: string;
}

/** OpenAI CLIP's image normalisation. */
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export async function writeEncoderBundle(outDir: string, spec: EncoderBundleSpec): Promise<Bundle> {
  const files = new Map<string, Uint8Array>([
    ['visual.onnx', spec.visualOnnx],
    ['text.onnx', spec.textOnnx],
    ['tokenizer.json', new TextEncoder().encode(spec.tokenizerJson)],
  ]);
  return writeBundle(outDir, files, (refs): EncoderManifest => ({
    format: BUNDLE_FORMAT,
    kind: 'encoder',
    id: spec.id,
    description: spec.description,
    origin: spec.origin,
    architecture: spec.architecture,
    tokenizer: spec.tokenizer,
    files: { visual: refs.get('visual.onnx')!, text: refs.get('text.onnx')!, tokenizer: refs.get('tokenizer.json')! },
    createdWith: TOOL_VERSION,
  }));
}
