/**
 * A loaded encoder bundle (CLIP contract): sessions checked against the manifest, the bundle's
 * own tokenizer, and image/text embedding calls on flat typed arrays.
 */
import { readFileSync } from 'node:fs';
import { fail } from '../core/errors.ts';
import { type ClipTokenizer, createTokenizer } from '../text/tokenizer.ts';
import { type Bundle, bundlePath, loadEncoderBundle } from './bundle.ts';
import { checkEncoderGraphs } from './contract.ts';
import type { EncoderManifest } from './manifest.ts';
import { ModelSession, type RuntimeOptions, float32, int64 } from './runtime.ts';

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
    const tokenizer = createTokenizer(readFileSync(bundlePath(bundle, m.files.tokenizer), 'utf8'));
    if (tokenizer.vocabSize !== m.tokenizer.vocabSize || tokenizer.eot !== m.tokenizer.eot || tokenizer.sot !== m.tokenizer.sot) {
      fail('E_MANIFEST', `${m.id}: key "tokenizer": expected vocabSize/sot/eot ${m.tokenizer.vocabSize}/${m.tokenizer.sot}/${m.tokenizer.eot} (manifest), tokenizer.json has ${tokenizer.vocabSize}/${tokenizer.sot}/${tokenizer.eot}`);
    }
    // Both towers are checked, whichever gets a session: the relevance and gallery models embed visual.onnx.
    checkEncoderGraphs(m, bundle.graphs);
    const parts = opts.parts ?? ['visual', 'text'];
    let visual: ModelSession | undefined;
    let text: ModelSession | undefined;
    if (parts.includes('visual')) visual = await ModelSession.open(bundlePath(bundle, m.files.visual), `${m.id}/visual.onnx`, opts);
    if (parts.includes('text')) text = await ModelSession.open(bundlePath(bundle, m.files.text), `${m.id}/text.onnx`, opts);
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
