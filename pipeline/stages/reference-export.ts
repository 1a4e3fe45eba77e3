/**
 * `export reference`: a finished build as the files the StyleCLIP reference code and HyperStyle
 * load — `fs3.npy` (float32 [C, D], the rows of the reference's channels in its order) and
 * `S_mean_std` (pickle of [m, std], float32 per layer, all layers) — so people who already run
 * that code can use a StyleAtlas build without changing it.
 *
 * The reference measures conv layers up to 128² (SingleChannel.py keeps layer indices ≤ 16 of its
 * conv layers: `reference`, 5376 channels for FFHQ-1024), and its SplitS reads fs3 rows layer by
 * layer over the conv layers in synthesis order, so every conv layer (`conv`, 6048) works with
 * global_torch too; HyperStyle hard-codes the first 11 conv layers of FFHQ-1024, i.e. `reference`.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../core/errors.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { encodeNpy } from '../store/npy.ts';
import { encodeSMeanStd } from '../store/s-mean-std.ts';
import { checkOutputDir } from '../store/output-errors.ts';
import { type FinishedBuild, isImportedBuild, openBuild } from './build-reader.ts';
import { channelsOf } from './relevance-plan.ts';

export const REFERENCE_SUBSETS = Object.freeze({
  reference: "the reference's channels: conv layers up to 128² (5376 for FFHQ-1024; HyperStyle needs these)",
  conv: 'every conv layer (6048 for FFHQ-1024; read by global_torch\'s SplitS too)',
} as const);
export type ReferenceSubset = keyof typeof REFERENCE_SUBSETS;

export const REFERENCE_FILES = ['fs3.npy', 'S_mean_std', 'styleatlas-export.json'] as const;

export function parseReferenceSubset(name: string): ReferenceSubset {
  if (!Object.hasOwn(REFERENCE_SUBSETS, name)) fail('E_INPUT', `unknown channel subset "${name}"; valid: ${Object.keys(REFERENCE_SUBSETS).join(', ')}`);
  return name as ReferenceSubset;
}

/** fs3 [C, D] of the subset's channels, in the reference's order (ascending global index). */
export function referenceFs3(build: FinishedBuild, subset: ReferenceSubset): { fs3: Float32Array; rows: number } {
  const channels = channelsOf(build.layout, subset);
  const rowOf = new Map<number, number>();
  build.table.channel.forEach((c, i) => rowOf.set(c, i));
  const missing = channels.filter((c) => !rowOf.has(c));
  if (missing.length > 0) {
    fail('E_INPUT', `build ${build.id} (channel set ${build.config.channelSet}) lacks ${missing.length} of the ${channels.length} channels of the ${subset} subset`,
      subset === 'conv' ? 'export --channels reference, or rebuild with --channels conv' : 'rebuild with --channels reference, conv or all');
  }
  const d = build.dim;
  const fs3 = new Float32Array(channels.length * d);
  channels.forEach((c, k) => fs3.set(build.table.direction.subarray(rowOf.get(c)! * d, (rowOf.get(c)! + 1) * d), k * d));
  return { fs3, rows: channels.length };
}

/** μ and σ per layer (every layer, synthesis order), float32 as the reference's files hold them. */
export function referenceStats(build: FinishedBuild): { mu: Float32Array[]; std: Float32Array[] } {
  const per = (all: Float64Array) => build.layout.layers.map((l) => Float32Array.from(all.subarray(l.offset, l.offset + l.channels)));
  return { mu: per(build.mu), std: per(build.sigma) };
}

export interface ReferenceExport {
  dir: string;
  rows: number;
  dim: number;
  files: string[];
}

export function exportReference(buildDir: string, outDir: string, opts: { subset: ReferenceSubset; force?: boolean }): ReferenceExport {
  const out = resolve(outDir);
  checkOutputDir(out);
  const build = openBuild(buildDir);
  const present = existsSync(out) ? REFERENCE_FILES.filter((f) => readdirSync(out).includes(f)) : [];
  if (present.length > 0 && !opts.force) fail('E_INPUT', `${outDir} already holds ${present.join(', ')}`, 'pass --force to replace them');
  const { fs3, rows } = referenceFs3(build, opts.subset);
  const { mu, std } = referenceStats(build);
  const c = build.config;
  const about = {
    format: 'styleatlas-reference-export/1',
    build: build.id,
    relevanceSha256: build.relevanceSha256,
    generator: c.generator,
    encoder: c.encoder,
    subset: opts.subset,
    fs3: { shape: [rows, build.dim], order: 'conv channels in synthesis order (ascending global channel index), toRGB layers left out' },
    S_mean_std: {
      layers: build.layout.layers.map((l) => ({ name: l.name, kind: l.kind, channels: l.channels })),
      statistics: isImportedBuild(c) ? c.imported.stats : { samples: c.statsSamples, seed: c.statsSeed, psi: c.psi, std: 'population (ddof 0), as NumPy and the reference' },
    },
    relevance: isImportedBuild(c) ? { imported: c.imported } : { samples: c.samples, alphaP: c.alphaP, psi: c.psi, sampleSeed: c.sampleSeed, channelSet: c.channelSet },
  };
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, 'fs3.npy'), encodeNpy({ dtype: 'float32', shape: [rows, build.dim], data: fs3 }));
  writeFileAtomic(join(out, 'S_mean_std'), encodeSMeanStd(mu, std));
  writeFileAtomic(join(out, 'styleatlas-export.json'), `${JSON.stringify(about, null, 2)}\n`);
  return { dir: out, rows, dim: build.dim, files: REFERENCE_FILES.map((f) => join(out, f)) };
}
