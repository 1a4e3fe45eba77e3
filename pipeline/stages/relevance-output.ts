/**
 * A build folder's published files, written from its build.sqlite: `relevance.arrow` (one row per
 * channel, provenance in the schema metadata) and `fs3.npy` (float32 [C, D], the reference's
 * name and layout). Both are written atomically.
 */
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { type StyleLayout, styleLayout } from '../core/styles.ts';
import type { BuildDb } from '../store/build-db.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { encodeNpy } from '../store/npy.ts';
import type { RelevanceRow } from '../store/relevance-arrow.ts';
import { writeRelevanceArrowFile } from '../store/relevance-file.ts';

export interface BuildOutputs {
  arrow: string;
  fs3: string;
  channels: number;
}

/** layer, layer index and channel-in-layer of a global channel index. */
export function locateChannel(layout: StyleLayout, channel: number): { layer: string; layerIndex: number; channelInLayer: number; resolution: number } {
  for (let i = 0; i < layout.layers.length; i++) {
    const l = layout.layers[i];
    if (channel >= l.offset && channel < l.offset + l.channels) return { layer: l.name, layerIndex: i, channelInLayer: channel - l.offset, resolution: l.resolution };
  }
  return fail('E_STORE', `channel ${channel} is outside the generator's ${layout.total} style channels`);
}

/** The layer table and embedding size a build recorded when it started. */
export function buildShape(db: BuildDb): { layout: StyleLayout; dim: number } {
  const layers = db.getMeta('layers');
  const dim = Number(db.getMeta('dim'));
  if (!layers || !Number.isInteger(dim) || dim < 1) fail('E_STORE', `${db.path} has no layer table or embedding size: not a relevance build`);
  return { layout: styleLayout(JSON.parse(layers)), dim };
}

/** What a published row needs besides the channel's place and statistics. */
export interface MeasuredChannel {
  channel: number;
  /** NaN where not measured (an imported fs3 has no effect or consistency). */
  effect: number;
  consistency: number;
  degenerate: number;
  direction: Float32Array;
}

export interface RelevanceFilesInput {
  layout: StyleLayout;
  dim: number;
  mu: Float64Array;
  sigma: Float64Array;
  /** How many rows `pages` yields in all. */
  count: number;
  /** Rows in ascending channel order, a page at a time. */
  pages: Iterable<readonly MeasuredChannel[]>;
}

/** relevance.arrow and fs3.npy of a build folder, each written atomically. */
export function writeRelevanceFiles(dir: string, input: RelevanceFilesInput, metadata: Record<string, string>): BuildOutputs {
  const { layout, dim, mu, sigma, count } = input;
  const fs3 = new Float32Array(count * dim);
  let row = 0;
  const pages = function* (): Generator<RelevanceRow[]> {
    for (const page of input.pages) {
      yield page.map((r) => {
        if (row >= count) fail('E_STORE', `more than the ${count} rows announced`);
        fs3.set(r.direction, row++ * dim);
        return { ...locateChannel(layout, r.channel), channel: r.channel, mu: mu[r.channel], sigma: sigma[r.channel], effect: r.effect, consistency: r.consistency, degenerate: r.degenerate, direction: r.direction };
      });
    }
  };
  const arrow = join(dir, 'relevance.arrow');
  writeRelevanceArrowFile(arrow, dim, metadata, pages());
  if (row !== count) fail('E_STORE', `${row} rows written, ${count} announced`);
  const fs3Path = join(dir, 'fs3.npy');
  writeFileAtomic(fs3Path, encodeNpy({ dtype: 'float32', shape: [count, dim], data: fs3 }));
  return { arrow, fs3: fs3Path, channels: count };
}

export function writeBuildOutputs(dir: string, db: BuildDb, metadata: Record<string, string>): BuildOutputs {
  const { layout, dim } = buildShape(db);
  const { mu, sigma } = db.loadStats(layout.total);
  return writeRelevanceFiles(dir, { layout, dim, mu, sigma, count: db.resultCount(), pages: db.iterateResults() }, metadata);
}
