/**
 * A loaded encoder bundle (CLIP contract): sessions checked against the manifest, the bundle's
 * own tokenizer, and image/text embedding calls on flat typed arrays.
 */
import { readFileSync } from 'node:fs';
import { fail } from '../core/errors.ts';
import { type ClipTokenizer, createTokenizer } from '../text/tokenizer.ts';
import { type Bundle, bundlePath, loadEncoderBundle } from './bundle.ts';
import type { EncoderManifest } from './manifest.ts';
import { ModelSession, type RuntimeOptions, type ValueInfo, float32, int64 } from './runtime.ts';

function expectValue(m: EncoderManifest, file: string, list: readonly ValueInfo[], side: string, name: string, shape: readonly (number | string)[], why: string): void {
  const v = list.find((x) => x.name === name);
  if (!v) fail('E_MANIFEST', `${m.id}: ${file} has no ${side} ${name}; its ${side}s are ${list.map((x) => x.name).join(', ')}`);
  const ok = v.shape.length === shape.length && shape.every((d, i) => typeof d === 'string' || v.shape[i] === d);
  if (!ok) fail('E_MANIFEST', `${m.id}: ${why} expects ${file} ${side} ${name} of shape [${shape.join(', ')}], the graph has [${v.shape.join(', ')}]`);
}

export class Encoder {
  private constructor(
    readonly bundle: Bundle<EncoderManifest>,
    readonly tokenizer: ClipTokenizer,
    private readonly visual: ModelSession | undefined,
    private readonly text: ModelSession | undefined,
  ) {}

  get manifest(): EncoderManifest {
    return this.bundle.manifest;
  }

  get dim(): number {
    return this.manifest.architecture.embedDim;
  }

  /** Open the bundle; `parts` limits which towers get a session (the fused relevance model needs neither). */
  static async open(dir: string, opts: RuntimeOptions & { parts?: readonly ('visual' | 'text')[] } = {}): Promise<Encoder> {
    const bundle = loadEncoderBundle(dir);
    const m = bundle.manifest;
    const a = m.architecture;
    const tokenizer = createTokenizer(readFileSync(bundlePath(bundle, m.files.tokenizer), 'utf8'));
    if (tokenizer.vocabSize !== m.tokenizer.vocabSize || tokenizer.eot !== m.tokenizer.eot || tokenizer.sot !== m.tokenizer.sot) {
      fail('E_MANIFEST', `${m.id}: key "tokenizer": expected vocabSize/sot/eot ${m.tokenizer.vocabSize}/${m.tokenizer.sot}/${m.tokenizer.eot} (manifest), tokenizer.json has ${tokenizer.vocabSize}/${tokenizer.sot}/${tokenizer.eot}`);
    }
    const parts = opts.parts ?? ['visual', 'text'];
    let visual: ModelSession | undefined;
    let text: ModelSession | undefined;
    if (parts.includes('visual')) {
      visual = await ModelSession.open(bundlePath(bundle, m.files.visual), `${m.id}/visual.onnx`, opts);
      expectValue(m, 'visual.onnx', visual.inputs, 'input', 'pixel_values', ['batch', 3, a.imageSize, a.imageSize], 'architecture.imageSize');
      expectValue(m, 'visual.onnx', visual.outputs, 'output', 'image_embeds', ['batch', a.embedDim], 'architecture.embedDim');
    }
    if (parts.includes('text')) {
      text = await ModelSession.open(bundlePath(bundle, m.files.text), `${m.id}/text.onnx`, opts);
      expectValue(m, 'text.onnx', text.inputs, 'input', 'input_ids', ['batch', a.contextLength], 'architecture.contextLength');
      expectValue(m, 'text.onnx', text.outputs, 'output', 'text_embeds', ['batch', a.embedDim], 'architecture.embedDim');
    }
    return new Encoder(bundle, tokenizer, visual, text);
  }

  visualBytes(): Uint8Array {
    return readFileSync(bundlePath(this.bundle, this.manifest.files.visual));
  }

  /** pixel_values [B, 3, S, S] → image_embeds [B, D] (not normalised). */
  async encodeImages(pixelValues: Float32Array, batch: number): Promise<Float32Array> {
    if (!this.visual) fail('E_RUNTIME', `${this.manifest.id}: the visual tower was not opened`);
    const s = this.manifest.architecture.imageSize;
    const { image_embeds } = await this.visual.run({ pixel_values: float32(pixelValues, [batch, 3, s, s]) });
    return image_embeds.data as Float32Array;
  }

  /** Token ids [B, 77] → text_embeds [B, D] (not normalised). */
  async encodeTokenIds(ids: BigInt64Array, batch: number): Promise<Float32Array> {
    if (!this.text) fail('E_RUNTIME', `${this.manifest.id}: the text tower was not opened`);
    const { text_embeds } = await this.text.run({ input_ids: int64(ids, [batch, this.manifest.architecture.contextLength]) });
    return text_embeds.data as Float32Array;
  }

  async release(): Promise<void> {
    await Promise.all([this.visual?.release(), this.text?.release()]);
  }
}
