/**
 * `import fs3`: a reference `fs3.npy` (StyleCLIP's / HyperStyle's, or one computed by anyone with
 * the reference code) as a StyleAtlas build folder, so it can be catalogued, browsed and downloaded
 * like a build StyleAtlas measured. The rows are the relevance directions Δi of the reference's
 * channels (conv layers up to 128², or every conv layer, or every layer: recognised from the row
 * count against the generator bundle the file belongs to); μ and σ come from the reference's
 * `S_mean_std` when given, else from StyleAtlas's statistics step. Effect and consistency are not
 * in an fs3 file and are published as NaN ("not measured"). The config records the files' names
 * and sha256, and the whole folder is written atomically.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import { type StyleLayout, styleLayout } from '../core/styles.ts';
import { loadEncoderBundle, loadGeneratorBundle, sha256Hex } from '../models/bundle.ts';
import { Tensor, readCheckpoint } from '../models/checkpoint/index.ts';
import { describe } from '../models/checkpoint/values.ts';
import { Generator } from '../models/generator.ts';
import type { RuntimeOptions } from '../models/runtime.ts';
import { writeDirAtomic } from '../store/atomic.ts';
import { BuildDb } from '../store/build-db.ts';
import { decodeNpy } from '../store/npy.ts';
import { TOOL_VERSION } from '../version.ts';
import { toolProvenance } from '../store/provenance.ts';
import type { ImportedBuildConfig, ImportedRelevance } from './build-reader.ts';
import type { ProgressFn } from './progress.ts';
import { type ChannelSet, channelsOf } from './relevance-plan.ts';
import { type BuildOutputs, writeRelevanceFiles } from './relevance-output.ts';
import { computeStyleStats } from './stats.ts';

export interface Fs3ImportRun {
  fs3File: string;
  /** The reference's S_mean_std; without it, μ and σ are computed (statsSamples at psi). */
  statsFile?: string;
  generatorDir: string;
  encoderDir: string;
  outDir: string;
  psi: number;
  statsSamples: number;
  statsSeed: number;
  runtime: RuntimeOptions;
  /** Replace an existing folder at outDir. */
  force?: boolean;
  onProgress?: ProgressFn;
  log?: (m: string) => void;
}

export interface Fs3ImportSummary {
  outDir: string;
  rows: number;
  channelSet: ChannelSet;
  outputs: BuildOutputs;
}

/** Row counts tell the channel set apart; when two sets coincide (a generator ≤ 128²), the first wins. */
const SET_ORDER: readonly ChannelSet[] = ['reference', 'conv', 'all'];

export function channelSetOfRows(layout: StyleLayout, rows: number, what: string): ChannelSet {
  const found = SET_ORDER.find((s) => channelsOf(layout, s).length === rows);
  if (!found) {
    const counts = SET_ORDER.map((s) => `${s} ${channelsOf(layout, s).length}`).join(', ');
    fail('E_SHAPE', `${what} has ${rows} rows; this generator's channel sets have ${counts}`, 'import it with the generator the file was computed for');
  }
  return found;
}

/** fs3 rows are unit vectors n(mean n(d)) (the reference's GetFs); anything else is not an fs3. */
export function checkFs3Rows(fs3: Float32Array, rows: number, dim: number, what: string): void {
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let j = 0; j < dim; j++) {
      const v = fs3[r * dim + j];
      if (!Number.isFinite(v)) fail('E_NUMERIC', `${what}: row ${r} holds ${v}`);
      sq += v * v;
    }
    if (Math.abs(Math.sqrt(sq) - 1) > 1e-3) {
      fail('E_INPUT', `${what}: row ${r} has norm ${Math.sqrt(sq).toFixed(4)}; fs3 rows are unit vectors (n(mean n(d)))`, 'is this a reference fs3.npy?');
    }
  }
}

/** S_mean_std as the reference writes it: [m, std], one float array per style layer. */
export function readSMeanStd(bytes: Uint8Array, layout: StyleLayout, what: string): { mu: Float64Array; sigma: Float64Array } {
  const { value } = readCheckpoint(bytes);
  if (!Array.isArray(value) || value.length !== 2 || !value.every(Array.isArray)) {
    fail('E_INPUT', `${what} holds ${describe(value)}; S_mean_std is a pickled [m, std] of per-layer arrays`);
  }
  const out = { mu: new Float64Array(layout.total), sigma: new Float64Array(layout.total) };
  (value as unknown[][]).forEach((list, which) => {
    const name = which === 0 ? 'm' : 'std';
    if (list.length !== layout.layers.length) fail('E_SHAPE', `${what}: ${name} has ${list.length} layers, the generator ${layout.layers.length}`);
    layout.layers.forEach((l, i) => {
      const t = list[i];
      if (!(t instanceof Tensor) || (t.dtype !== 'float32' && t.dtype !== 'float64')) fail('E_INPUT', `${what}: ${name}[${i}] is ${describe(t)}, not a float array`);
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (n !== l.channels || t.shape[t.shape.length - 1] !== l.channels) {
        fail('E_SHAPE', `${what}: ${name}[${i}] has shape [${t.shape.join(', ')}]; layer ${l.name} has ${l.channels} channels`);
      }
      const dst = which === 0 ? out.mu : out.sigma;
      for (let c = 0; c < l.channels; c++) {
        const v = Number(t.data[c]);
        if (!Number.isFinite(v) || (which === 1 && v < 0)) fail('E_NUMERIC', `${what}: ${name}[${i}][${c}] is ${v}`);
        dst[l.offset + c] = v;
      }
    });
  });
  return out;
}

function readInput(path: string, what: string): Uint8Array {
  if (!existsSync(path) || !statSync(path).isFile()) fail('E_MISSING', `${what} ${path} does not exist`);
  return new Uint8Array(readFileSync(resolve(path)));
}

export async function importFs3(run: Fs3ImportRun): Promise<Fs3ImportSummary> {
  const log = run.log ?? (() => {});
  const out = resolve(run.outDir);
  if (existsSync(out) && !run.force) fail('E_INPUT', `--out ${run.outDir} already exists`, 'pass --force to replace it, or choose another folder');
  const genBundle = loadGeneratorBundle(run.generatorDir);
  const encBundle = loadEncoderBundle(run.encoderDir);
  const layout = styleLayout(genBundle.manifest.layers);
  const dim = encBundle.manifest.architecture.embedDim;
  const fs3Bytes = readInput(run.fs3File, 'fs3 file');
  const fs3Name = basename(run.fs3File);
  const npy = decodeNpy(fs3Bytes, fs3Name);
  if (npy.dtype !== 'float32' || npy.shape.length !== 2) fail('E_INPUT', `${fs3Name} must be float32 [C, D], found ${npy.dtype} [${npy.shape.join(', ')}]`);
  const [rows, d] = npy.shape;
  if (d !== dim) fail('E_SHAPE', `${fs3Name} has rows of ${d}; the encoder ${encBundle.manifest.id} embeds in ${dim}`, 'import it with the CLIP it was measured with');
  const channelSet = channelSetOfRows(layout, rows, fs3Name);
  checkFs3Rows(npy.data, rows, dim, fs3Name);
  const channels = channelsOf(layout, channelSet);

  let stats: { mu: Float64Array; sigma: Float64Array };
  let statsOrigin: ImportedRelevance['stats'];
  if (run.statsFile) {
    const bytes = readInput(run.statsFile, 'statistics file');
    stats = readSMeanStd(bytes, layout, basename(run.statsFile));
    statsOrigin = { file: basename(run.statsFile), sha256: sha256Hex(bytes) };
  } else {
    log(`stats: no S_mean_std given; μ, σ of ${layout.total} style channels over ${run.statsSamples} samples at ψ ${run.psi}`);
    const gen = await Generator.open(run.generatorDir, run.runtime);
    try {
      stats = await computeStyleStats(gen, { samples: run.statsSamples, seed: run.statsSeed, psi: run.psi, onProgress: run.onProgress });
    } finally {
      await gen.release();
    }
    statsOrigin = { samples: run.statsSamples, seed: run.statsSeed };
  }

  const config: ImportedBuildConfig = {
    generator: { id: genBundle.manifest.id, manifestSha256: genBundle.manifestSha256 },
    encoder: { id: encBundle.manifest.id, manifestSha256: encBundle.manifestSha256 },
    psi: run.psi,
    channelSet,
    imported: { format: 'fs3.npy', file: fs3Name, sha256: sha256Hex(fs3Bytes), rows, stats: statsOrigin },
  };
  const metadata = {
    'styleatlas.format': 'styleatlas-relevance/1',
    'styleatlas.config': JSON.stringify(config),
    'styleatlas.generator': `${config.generator.id} ${config.generator.manifestSha256}`,
    'styleatlas.encoder': `${config.encoder.id} ${config.encoder.manifestSha256}`,
    'styleatlas.imported': JSON.stringify(config.imported),
    'styleatlas.measured': 'direction only: effect and consistency are NaN (not in an fs3 file)',
    'styleatlas.psi': String(run.psi),
    'styleatlas.channel_set': channelSet,
    'styleatlas.tool': TOOL_VERSION,
  };
  let outputs: BuildOutputs | undefined;
  await writeDirAtomic(out, (tmp) => {
    const db = new BuildDb(join(tmp, 'build.sqlite'));
    try {
      const now = new Date().toISOString();
      db.setMeta({ config: JSON.stringify(config), layers: JSON.stringify(genBundle.manifest.layers), dim: String(dim), started: now, finished: now, ...toolProvenance() });
      db.saveStats(stats.mu, stats.sigma);
      const page = channels.map((channel, r) => ({
        channel, effect: NaN, consistency: NaN, degenerate: 0, direction: npy.data.subarray(r * dim, (r + 1) * dim),
      }));
      outputs = writeRelevanceFiles(tmp, { layout, dim, mu: stats.mu, sigma: stats.sigma, count: rows, pages: [page] }, metadata);
    } finally {
      db.close();
    }
  });
  log(`import fs3: ${rows} rows (${channelSet}) × ${dim} from ${fs3Name}, μ/σ ${run.statsFile ? `from ${basename(run.statsFile)}` : 'computed'} → ${out}`);
  return { outDir: out, rows, channelSet, outputs: { arrow: join(out, 'relevance.arrow'), fs3: join(out, 'fs3.npy'), channels: outputs!.channels } };
}
