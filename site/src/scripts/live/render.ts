/**
 * Live edits: s' = s + α Δs on the build's gallery samples (samples.npy, the exact codes the
 * catalogue rendered), through the generator's synthesis.onnx in the browser.
 */
import { fail } from '../../../../pipeline/core/errors.ts';
import { toRGB8 } from '../../../../pipeline/core/image.ts';
import { type StyleLayout, styleFeeds } from '../../../../pipeline/core/styles.ts';
import { decodeNpy } from '../../../../pipeline/store/npy.ts';
import type { LiveBuild } from './config.ts';
import { type BrowserSession, openSession } from './runtime.ts';

export class LiveRenderer {
  private constructor(
    readonly build: LiveBuild,
    private readonly session: BrowserSession,
    /** Base codes [K, C_total]. */
    private readonly samples: Float32Array,
    readonly count: number,
  ) {}

  static async open(build: LiveBuild): Promise<LiveRenderer> {
    if (!build.synthesis) fail('E_MISSING', `the generator ${build.generator.id} is too large to run in the browser`);
    const [session, bytes] = await Promise.all([
      openSession(build.synthesis.url),
      fetch(build.samplesUrl).then(async (r) => (r.ok ? new Uint8Array(await r.arrayBuffer()) : fail('E_MISSING', `${build.samplesUrl}: HTTP ${r.status}`))),
    ]);
    const npy = decodeNpy(bytes, 'samples.npy');
    if (npy.dtype !== 'float32' || npy.shape.length !== 2 || npy.shape[1] !== build.total) {
      fail('E_SHAPE', `samples.npy: expected float32 [K, ${build.total}], found ${npy.dtype} [${npy.shape}]`);
    }
    for (const l of build.layers) if (!session.inputNames.includes(l.input)) fail('E_SHAPE', `synthesis.onnx has no input ${l.input}`);
    return new LiveRenderer(build, session, npy.data as Float32Array, npy.shape[0]);
  }

  /** RGBA pixels of sample `k` edited by α·Δs (Δs over all channels [C_total]; null renders the sample as it is). */
  async render(k: number, deltaS: Float32Array | null, alpha: number): Promise<ImageData> {
    const total = this.build.total;
    const codes = this.samples.slice(k * total, (k + 1) * total); // s [1, C_total]
    if (deltaS) for (let c = 0; c < total; c++) codes[c] += alpha * deltaS[c];
    const layout: StyleLayout = { total, layers: this.build.layers };
    const inputOf = new Map(this.build.layers.map((l) => [l.name, l.input]));
    const feeds = styleFeeds(codes, 1, layout, (name) => inputOf.get(name)!);
    const { image } = await this.session.run(feeds); // [1, 3, H, W] in [-1, 1]
    const res = this.build.synthesis!.resolution;
    const rgb = toRGB8(image, 0, res, res); // [H, W, 3]
    const rgba = new Uint8ClampedArray(res * res * 4);
    for (let p = 0; p < res * res; p++) {
      rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = 255;
    }
    return new ImageData(rgba, res, res);
  }
}
