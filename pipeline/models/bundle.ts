/**
 * Reading and writing bundle folders: manifest.json plus files with sha256 sums.
 * Loading checks, in order: the folder, the manifest (schema), each file's presence and sha256,
 * and reads each ONNX graph's inputs and outputs (models/contract.ts checks them).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import { type GraphSignature, graphSignature } from '../onnx/signature.ts';
import { writeDirAtomic } from '../store/atomic.ts';
import { type EncoderManifest, type FileRef, type GeneratorManifest, type IdentityManifest, type Manifest, parseManifest } from './manifest.ts';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function fileRef(path: string, bytes: Uint8Array): FileRef {
  return { path, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}

export interface Bundle<M extends Manifest = Manifest> {
  dir: string;
  manifest: M;
  /** sha256 of manifest.json itself: identifies the bundle in provenance records. */
  manifestSha256: string;
}

const BUILD_HINT = (dir: string) =>
  `build the bundled models with \`npx styleatlas models build\` (or import your own: \`npx styleatlas import --help\`); looked in ${dir}`;

export function readBundle(dirArg: string): Bundle {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail('E_MISSING', `model bundle folder ${dirArg} does not exist`, BUILD_HINT(dir));
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) fail('E_MISSING', `${dirArg} has no manifest.json`, BUILD_HINT(dir));
  const text = readFileSync(manifestPath);
  let json: unknown;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch (e) {
    fail('E_MANIFEST', `${manifestPath} is not valid JSON: ${(e as Error).message}`);
  }
  const manifest = parseManifest(json, manifestPath);
  return { dir, manifest, manifestSha256: sha256Hex(text) };
}

/** A bundle whose files were verified, with the inputs and outputs of each ONNX graph by file key. */
export interface LoadedBundle<M extends Manifest = Manifest> extends Bundle<M> {
  graphs: Readonly<Record<string, GraphSignature>>;
}

/** Every file named by the manifest exists with its recorded size and sha256; returns the signature of each .onnx file, by its key in `files`. */
export function verifyBundleFiles(b: Bundle): Record<string, GraphSignature> {
  const graphs: Record<string, GraphSignature> = {};
  for (const [key, ref] of Object.entries(b.manifest.files) as [string, FileRef][]) {
    const p = join(b.dir, ref.path);
    if (!existsSync(p)) fail('E_MISSING', `${b.manifest.id}: file ${ref.path} is missing from ${b.dir}`, BUILD_HINT(b.dir));
    const bytes = readFileSync(p);
    if (bytes.byteLength !== ref.bytes || sha256Hex(bytes) !== ref.sha256) {
      fail(
        'E_CHECKSUM',
        `${b.manifest.id}: ${ref.path} does not match its manifest (sha256 ${sha256Hex(bytes).slice(0, 12)}…, ${bytes.byteLength} bytes; expected ${ref.sha256.slice(0, 12)}…, ${ref.bytes} bytes)`,
        'the file is corrupt or was changed; rebuild or re-import the bundle',
      );
    }
    if (ref.path.endsWith('.onnx')) graphs[key] = graphSignature(bytes, `${b.manifest.id}: ${ref.path}`);
  }
  return graphs;
}

export function bundlePath(b: Bundle, ref: FileRef): string {
  return join(b.dir, ref.path);
}

export function loadGeneratorBundle(dir: string): LoadedBundle<GeneratorManifest> {
  const b = readBundle(dir);
  if (b.manifest.kind !== 'generator') fail('E_MANIFEST', `${dir}: key "kind": expected "generator", found "${b.manifest.kind}"`);
  return { ...(b as Bundle<GeneratorManifest>), graphs: verifyBundleFiles(b) };
}

export function loadIdentityBundle(dir: string): LoadedBundle<IdentityManifest> {
  const b = readBundle(dir);
  if (b.manifest.kind !== 'identity') fail('E_MANIFEST', `${dir}: key "kind": expected "identity", found "${b.manifest.kind}"`);
  return { ...(b as Bundle<IdentityManifest>), graphs: verifyBundleFiles(b) };
}

export function loadEncoderBundle(dir: string): LoadedBundle<EncoderManifest> {
  const b = readBundle(dir);
  if (b.manifest.kind !== 'encoder') fail('E_MANIFEST', `${dir}: key "kind": expected "encoder", found "${b.manifest.kind}"`);
  return { ...(b as Bundle<EncoderManifest>), graphs: verifyBundleFiles(b) };
}

/** Write a bundle folder atomically: files first, manifest last, then move into place. */
export async function writeBundle(dir: string, files: ReadonlyMap<string, Uint8Array>, manifest: (refs: Map<string, FileRef>) => Manifest): Promise<Bundle> {
  const refs = new Map<string, FileRef>();
  for (const [name, bytes] of files) refs.set(name, fileRef(name, bytes));
  const m = manifest(refs);
  parseManifest(m, `${dir}/manifest.json (being written)`);
  const text = `${JSON.stringify(m, null, 2)}\n`;
  await writeDirAtomic(resolve(dir), (tmp) => {
    for (const [name, bytes] of files) writeFileSync(join(tmp, name), bytes);
    writeFileSync(join(tmp, 'manifest.json'), text);
  });
  return { dir: resolve(dir), manifest: m, manifestSha256: sha256Hex(Buffer.from(text)) };
}
