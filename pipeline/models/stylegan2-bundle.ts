/**
 * Write a StyleGAN2 generator bundle (DESIGN §3) from an architecture and a rosinality-named
 * state dict. Recipes (random weights) and importers (real checkpoints) both end here.
 */
import { latentBatch } from '../core/rng.ts';
import { type StyleGAN2Arch, numWs, styleLayers, stylegan2ParamSpec } from '../onnx/stylegan2/arch.ts';
import { foldSynthesis } from '../onnx/stylegan2/folded.ts';
import { buildMapping, buildStyles, buildSynthesis } from '../onnx/stylegan2/graphs.ts';
import { type StateDict, checkStateDict } from '../onnx/params.ts';
import { encodeNpy } from '../store/npy.ts';
import { type Bundle, writeBundle } from './bundle.ts';
import { BUNDLE_FORMAT, type GeneratorManifest, type Origin } from './manifest.ts';
import { ModelSession, float32 } from './runtime.ts';
import { TOOL_VERSION } from '../version.ts';

export interface GeneratorBundleSpec {
  id: string;
  description: string;
  origin: Origin;
  arch: StyleGAN2Arch;
  weights: StateDict;
  /** The mean w for truncation; estimated from `wAvgSamples` seeded z when absent. */
  wAvg?: Float32Array;
  wAvgSamples?: number;
  log?: (message: string) => void;
}

/** rosinality's mean_latent: the mean of mapping(z) over n seeded z (seed 0 of a fixed stream set). */
export async function estimateWAvg(mappingOnnx: Uint8Array, arch: StyleGAN2Arch, n: number): Promise<Float32Array> {
  const session = await ModelSession.open(mappingOnnx, 'mapping.onnx');
  const acc = new Float64Array(arch.wDim);
  const chunk = 512;
  for (let first = 0; first < n; first += chunk) {
    const b = Math.min(chunk, n - first);
    const z = latentBatch(0x5eed, first, b, arch.zDim);
    const { w } = await session.run({ z: float32(z, [b, arch.zDim]) });
    for (let i = 0; i < w.data.length; i++) acc[i % arch.wDim] += (w.data as Float32Array)[i];
  }
  await session.release();
  return Float32Array.from(acc, (v) => v / n);
}

export async function writeGeneratorBundle(outDir: string, spec: GeneratorBundleSpec): Promise<Bundle> {
  const log = spec.log ?? (() => {});
  const { arch, weights } = spec;
  checkStateDict(weights, stylegan2ParamSpec(arch), `${spec.id} weights`);
  log(`${spec.id}: writing mapping, styles and synthesis graphs`);
  const meta = { metadata: { 'styleatlas.bundle': spec.id }, producerVersion: TOOL_VERSION };
  const mapping = buildMapping(arch, weights).toBytes(meta);
  const styles = buildStyles(arch, weights).toBytes(meta);
  const synthesis = buildSynthesis(foldSynthesis(arch, weights)).toBytes(meta);
  let wAvg = spec.wAvg;
  if (!wAvg) {
    const n = spec.wAvgSamples ?? 4096;
    log(`${spec.id}: estimating w_avg over ${n} seeded z`);
    wAvg = await estimateWAvg(mapping, arch, n);
  }
  const files = new Map<string, Uint8Array>([
    ['mapping.onnx', mapping],
    ['styles.onnx', styles],
    ['synthesis.onnx', synthesis],
    ['w_avg.npy', encodeNpy({ dtype: 'float32', shape: [arch.wDim], data: wAvg })],
  ]);
  return writeBundle(outDir, files, (refs): GeneratorManifest => ({
    format: BUNDLE_FORMAT,
    kind: 'generator',
    id: spec.id,
    description: spec.description,
    origin: spec.origin,
    architecture: {
      family: 'stylegan2',
      resolution: arch.resolution,
      zDim: arch.zDim,
      wDim: arch.wDim,
      numWs: numWs(arch),
      mappingLayers: arch.mappingLayers,
      mappingLrMul: arch.mappingLrMul,
      channels: Object.fromEntries(Object.entries(arch.channels).map(([k, v]) => [k, v])),
      ...(arch.convClamp === undefined ? {} : { convClamp: arch.convClamp }),
    },
    layers: styleLayers(arch).map((l) => ({ name: l.name, kind: l.kind, resolution: l.resolution, channels: l.channels, wIndex: l.wIndex })),
    files: {
      mapping: refs.get('mapping.onnx')!,
      styles: refs.get('styles.onnx')!,
      synthesis: refs.get('synthesis.onnx')!,
      wAvg: refs.get('w_avg.npy')!,
    },
    createdWith: TOOL_VERSION,
  }));
}
