/**
 * The one schema of a bundle's `manifest.json`, for generator and encoder bundles. Validation
 * errors name the key, what was expected and what was found.
 */
import { z } from 'zod';
import { fail } from '../core/errors.ts';
import { describeValue, valueAt } from '../core/values.ts';

export const BUNDLE_FORMAT = 'styleatlas-bundle/1';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-character lowercase hex sha256');
const posInt = z.number().int().positive();

export const FileRef = z.object({
  path: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a file name inside the bundle folder'),
  sha256,
  bytes: z.number().int().nonnegative(),
});
export type FileRef = z.infer<typeof FileRef>;

/** Where the weights came from. Random and hand-built bundles say so; they are never trained. */
export const Origin = z.discriminatedUnion('type', [
  z.object({ type: z.literal('random'), seed: z.number().int(), note: z.string() }),
  z.object({ type: z.literal('hand-built'), note: z.string() }),
  z.object({
    type: z.literal('import'),
    format: z.string(),
    sourceFile: z.string(),
    sourceSha256: sha256,
    note: z.string().optional(),
  }),
]);
export type Origin = z.infer<typeof Origin>;

export const StyleLayerEntry = z.object({
  name: z.string().regex(/^b\d+\.(conv0|conv1|torgb)$/, 'a layer name like b4.conv1 or b8.torgb'),
  kind: z.enum(['conv', 'torgb']),
  resolution: posInt,
  channels: posInt,
  wIndex: z.number().int().nonnegative(),
});
export type StyleLayerEntry = z.infer<typeof StyleLayerEntry>;

/** What every kind of bundle's manifest starts with; `kind` says which contract the rest follows. */
function bundleManifest<K extends string>(kind: K) {
  return z.object({
    format: z.literal(BUNDLE_FORMAT),
    kind: z.literal(kind),
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a lowercase id'),
    description: z.string(),
    origin: Origin,
  });
}

export const GeneratorManifest = bundleManifest('generator').extend({
  architecture: z.object({
    family: z.literal('stylegan2'),
    resolution: posInt,
    zDim: posInt,
    wDim: posInt,
    numWs: posInt,
    mappingLayers: posInt,
    mappingLrMul: z.number().positive(),
    channels: z.record(z.string().regex(/^\d+$/), posInt),
    /** stylegan2-ada-pytorch's conv_clamp, applied in synthesis.onnx; absent: no clamp. */
    convClamp: z.number().positive().optional(),
  }),
  layers: z.array(StyleLayerEntry).min(1),
  files: z.object({
    mapping: FileRef,
    styles: FileRef,
    synthesis: FileRef,
    wAvg: FileRef,
  }),
  createdWith: z.string(),
});
export type GeneratorManifest = z.infer<typeof GeneratorManifest>;

export const EncoderManifest = bundleManifest('encoder').extend({
  architecture: z.object({
    /**
     * clip: OpenAI's ViT image tower and text transformer (imported, or random weights);
     * colour-world: the hand-built oracle (docs/colour-world.md);
     * custom: graphs written elsewhere that honour the contract (visual.onnx, text.onnx and the
     * tokenizer with the inputs and outputs above): nothing else is assumed of them.
     */
    family: z.enum(['clip', 'colour-world', 'custom']),
    imageSize: posInt,
    embedDim: posInt,
    contextLength: posInt,
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    /** Free-form shape facts (widths, layers, patch size) for people and provenance. */
    details: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
  }),
  tokenizer: z.object({ vocabSize: posInt, sot: z.number().int().nonnegative(), eot: z.number().int().nonnegative() }),
  files: z.object({ visual: FileRef, text: FileRef, tokenizer: FileRef }),
  createdWith: z.string(),
});
export type EncoderManifest = z.infer<typeof EncoderManifest>;

/** An identity network (DESIGN §1, method 1's L_ID): face [B, 3, S, S] in [-1, 1] → unit features [B, E]. */
export const IdentityManifest = bundleManifest('identity').extend({
  architecture: z.object({
    /** ir-se: TreB1eN's IR-SE ArcFace backbone (StyleCLIP's criteria/id_loss.py uses IR-SE50). */
    family: z.literal('ir-se'),
    inputSize: posInt,
    embedDim: posInt,
    stem: posInt,
    stages: z.array(z.object({ depth: posInt, units: posInt })).min(1),
    seReduction: posInt,
  }),
  files: z.object({ network: FileRef }),
  createdWith: z.string(),
});
export type IdentityManifest = z.infer<typeof IdentityManifest>;

export const Manifest = z.discriminatedUnion('kind', [GeneratorManifest, EncoderManifest, IdentityManifest]);
export type Manifest = z.infer<typeof Manifest>;

/** Parse and validate; throws E_MANIFEST naming the first bad key, expected and actual. */
export function parseManifest(json: unknown, where: string): Manifest {
  const r = Manifest.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = issue.path.length ? issue.path.join('.') : '(root)';
  const actual = describeValue(valueAt(json, issue.path));
  const oneOf = (values: readonly unknown[]) => values.map((o) => JSON.stringify(o)).join(' | ');
  const expected =
    issue.code === 'invalid_type'
      ? issue.expected
      : issue.code === 'invalid_value' // a literal or an enum
        ? oneOf(issue.values)
        : issue.code === 'invalid_union' && 'options' in issue && issue.options // a discriminator that matches no branch
          ? oneOf(issue.options)
          : issue.message;
  return fail('E_MANIFEST', `${where}: key "${key}": expected ${expected}, found ${actual}`);
}
