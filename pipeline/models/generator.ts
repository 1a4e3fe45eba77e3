/**
 * A loaded generator bundle: its sessions checked against the manifest, and the S-space steps
 * z → w → (truncation) → ws → s → image as calls on flat typed arrays.
 */
import { readFileSync } from 'node:fs';
import { fail } from '../core/errors.ts';
import { latentZ } from '../core/rng.ts';
import { type StyleLayout, broadcastWs, joinStyles, styleFeeds, styleLayout, truncate } from '../core/styles.ts';
import { type StyleGAN2Arch, styleLayers } from '../onnx/stylegan2/arch.ts';
import { styleInputName } from '../onnx/stylegan2/graphs.ts';
import { decodeNpy } from '../store/npy.ts';
import { type Bundle, bundlePath, loadGeneratorBundle } from './bundle.ts';
import { checkGeneratorGraphs } from './contract.ts';
import type { GeneratorManifest } from './manifest.ts';
import { ModelSession, type RuntimeOptions, type TensorValue, float32 } from './runtime.ts';

export function archOf(m: GeneratorManifest): StyleGAN2Arch {
  const a = m.architecture;
  const channels: Record<number, number> = {};
  for (const [k, v] of Object.entries(a.channels)) channels[Number(k)] = v;
  return {
    resolution: a.resolution, zDim: a.zDim, wDim: a.wDim, mappingLayers: a.mappingLayers, mappingLrMul: a.mappingLrMul, channels,
    ...(a.convClamp === undefined ? {} : { convClamp: a.convClamp }),
  };
}

/** The manifest's layer table must be the one its architecture implies. */
export function checkLayerTable(m: GeneratorManifest): void {
  const expected = styleLayers(archOf(m));
  if (m.architecture.numWs !== 2 * Math.log2(m.architecture.resolution) - 2) {
    fail('E_MANIFEST', `${m.id}: key "architecture.numWs": expected ${2 * Math.log2(m.architecture.resolution) - 2}, found ${m.architecture.numWs}`);
  }
  if (m.layers.length !== expected.length) {
    fail('E_MANIFEST', `${m.id}: key "layers": expected ${expected.length} layers for resolution ${m.architecture.resolution}, found ${m.layers.length}`);
  }
  m.layers.forEach((l, i) => {
    const e = expected[i];
    for (const key of ['name', 'kind', 'resolution', 'channels', 'wIndex'] as const) {
      if (l[key] !== e[key]) fail('E_MANIFEST', `${m.id}: key "layers.${i}.${key}": expected ${JSON.stringify(e[key])}, found ${JSON.stringify(l[key])}`);
    }
  });
}

export class Generator {
  readonly layout: StyleLayout;
  readonly arch: StyleGAN2Arch;

  private constructor(
    readonly bundle: Bundle<GeneratorManifest>,
    readonly wAvg: Float32Array,
    private readonly mappingSession: ModelSession,
    private readonly stylesSession: ModelSession,
    readonly synthesisSession: ModelSession,
  ) {
    this.layout = styleLayout(bundle.manifest.layers);
    this.arch = archOf(bundle.manifest);
  }

  get manifest(): GeneratorManifest {
    return this.bundle.manifest;
  }

  static async open(dir: string, opts: RuntimeOptions = {}): Promise<Generator> {
    const bundle = loadGeneratorBundle(dir);
    const m = bundle.manifest;
    checkLayerTable(m);
    checkGeneratorGraphs(m, bundle.graphs);
    const a = m.architecture;
    const wAvgNpy = decodeNpy(readFileSync(bundlePath(bundle, m.files.wAvg)), `${m.id} w_avg.npy`);
    if (wAvgNpy.dtype !== 'float32' || wAvgNpy.data.length !== a.wDim) {
      fail('E_MANIFEST', `${m.id}: w_avg.npy must hold ${a.wDim} float32 values (architecture.wDim), found ${wAvgNpy.data.length} ${wAvgNpy.dtype}`);
    }
    const [mapping, styles, synthesis] = await Promise.all([
      ModelSession.open(bundlePath(bundle, m.files.mapping), `${m.id}/mapping.onnx`, opts),
      ModelSession.open(bundlePath(bundle, m.files.styles), `${m.id}/styles.onnx`, opts),
      ModelSession.open(bundlePath(bundle, m.files.synthesis), `${m.id}/synthesis.onnx`, opts),
    ]);
    return new Generator(bundle, wAvgNpy.data as Float32Array, mapping, styles, synthesis);
  }

  /** z [B, zDim] → w [B, wDim] (before truncation). */
  async mapping(z: Float32Array, batch: number): Promise<Float32Array> {
    const { w } = await this.mappingSession.run({ z: float32(z, [batch, this.arch.zDim]) });
    return w.data as Float32Array;
  }

  /** ws [B, numWs, wDim] → s [B, C_total] (flat, layout order). */
  async styles(ws: Float32Array, batch: number): Promise<Float32Array> {
    const a = this.manifest.architecture;
    const out = await this.stylesSession.run({ ws: float32(ws, [batch, a.numWs, a.wDim]) });
    const perLayer = new Map<string, Float32Array>();
    for (const l of this.layout.layers) perLayer.set(l.name, out[styleInputName(l.name)].data as Float32Array);
    return joinStyles(perLayer, batch, this.layout);
  }

  /**
   * The style codes of seeded samples: z = N(0, I) drawn from `seed` (one seed per image, as
   * StyleGAN's own tools do) → w → truncation ψ → s [B, C_total].
   */
  async stylesForSeeds(seeds: readonly number[], psi: number): Promise<Float32Array> {
    return this.styles(await this.wsForSeeds(seeds, psi), seeds.length);
  }

  /** The W+ codes [B, num_ws, w_dim] of seeded samples (every row the truncated w), as stylesForSeeds draws them. */
  async wsForSeeds(seeds: readonly number[], psi: number): Promise<Float32Array> {
    const a = this.manifest.architecture;
    const z = new Float32Array(seeds.length * a.zDim);
    seeds.forEach((seed, b) => latentZ(seed, 0, a.zDim, z.subarray(b * a.zDim, (b + 1) * a.zDim)));
    const w = truncate(await this.mapping(z, seeds.length), this.wAvg, psi);
    return broadcastWs(w, seeds.length, a.numWs);
  }

  /** The feeds of synthesis.onnx, and of the fused models that embed it, for s [B, C_total] (core/styles.ts styleFeeds). */
  synthesisFeeds(s: Float32Array, batch: number): Record<string, TensorValue> {
    return styleFeeds(s, batch, this.layout, styleInputName);
  }

  /** s [B, C_total] → image [B, 3, H, W] in about [-1, 1]. */
  async synthesis(s: Float32Array, batch: number): Promise<Float32Array> {
    const { image } = await this.synthesisSession.run(this.synthesisFeeds(s, batch), ['image']);
    return image.data as Float32Array;
  }

  async release(): Promise<void> {
    await Promise.all([this.mappingSession.release(), this.stylesSession.release(), this.synthesisSession.release()]);
  }
}
