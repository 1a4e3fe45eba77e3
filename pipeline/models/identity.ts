/**
 * Identity bundles (kind "identity"): an IR-SE ArcFace network.onnx, face [B, 3, 112, 112] in
 * [-1, 1] → unit features [B, E], checked against its manifest at open. Method 1 embeds it behind
 * the face crop of StyleCLIP's identity loss (onnx/arcface/face-pool.ts).
 */
import { readFileSync } from 'node:fs';
import { addFacePool } from '../onnx/arcface/face-pool.ts';
import { buildIrSe } from '../onnx/arcface/graph.ts';
import type { IrSeArch } from '../onnx/arcface/arch.ts';
import { embedModel } from '../onnx/compose.ts';
import type { GraphBuilder } from '../onnx/graph.ts';
import type { IdentityGraph } from '../onnx/latent-loss.ts';
import type { StateDict } from '../onnx/params.ts';
import { type Bundle, type LoadedBundle, bundlePath, loadIdentityBundle, writeBundle } from './bundle.ts';
import { checkIdentityGraphs } from './contract.ts';
import { BUNDLE_FORMAT, type IdentityManifest } from './manifest.ts';
import { TOOL_VERSION } from '../version.ts';

export interface IdentityBundleSpec {
  id: string;
  description: string;
  origin: IdentityManifest['origin'];
  arch: IrSeArch;
  weights: StateDict;
}

export async function writeIdentityBundle(outDir: string, spec: IdentityBundleSpec): Promise<Bundle> {
  const onnx = buildIrSe(spec.arch, spec.weights).toBytes({ producerVersion: TOOL_VERSION, metadata: { 'styleatlas.bundle': spec.id } });
  const { inputSize, embedDim, stem, stages, seReduction } = spec.arch;
  return writeBundle(outDir, new Map([['network.onnx', onnx]]), (refs): IdentityManifest => ({
    format: BUNDLE_FORMAT,
    kind: 'identity',
    id: spec.id,
    description: spec.description,
    origin: spec.origin,
    architecture: { family: 'ir-se', inputSize, embedDim, stem, stages: stages.map((s) => ({ ...s })), seReduction },
    files: { network: refs.get('network.onnx')! },
    createdWith: TOOL_VERSION,
  }));
}

export class Identity {
  private constructor(readonly bundle: LoadedBundle<IdentityManifest>) {}

  static open(dir: string): Identity {
    const bundle = loadIdentityBundle(dir);
    checkIdentityGraphs(bundle.manifest, bundle.graphs);
    return new Identity(bundle);
  }

  get manifest(): IdentityManifest {
    return this.bundle.manifest;
  }

  /** The network behind the face crop for images of side `resolution`, as method 1's identity term embeds it. */
  graphFor(resolution: number): IdentityGraph {
    const bytes = readFileSync(bundlePath(this.bundle, this.manifest.files.network));
    const id = this.manifest.id;
    return {
      id,
      embedDim: this.manifest.architecture.embedDim,
      add: (g: GraphBuilder, image: string) => embedModel(g, bytes, `${id}/network.onnx`, 'identity/', { face: addFacePool(g, image, resolution) }).features,
    };
  }
}
