/**
 * What a finished mapper training leaves in its folder (each file written atomically; the
 * checkpoint stays, so `--resume` of a finished run only writes these again):
 *   mapper.safetensors   the weights under the official names, with what they edit (store/mapper-file.ts)
 *   mapper.onnx          ws [B, num_ws, w_dim], strength [] → delta = M_t(ws), ws_edited = ws + strength·0.1·delta
 *   loss.json            the training batch's loss terms at every step
 *   scores.json          held-out codes before/after: CLIP score, ‖w' − w‖, pixel facts; means and per code
 *   heldout.png          the first held-out codes, before | after, one row each
 *   provenance.json      everything that determines the numbers (bundles, target, settings, codes)
 *   run.json             how this run went (seconds, steps per second, threads): not part of the result
 */
import { join } from 'node:path';
import { tileGrid, toRGB8 } from '../core/image.ts';
import type { MapperShape, MapperWeights } from '../core/mapper.ts';
import { buildMapperModel } from '../onnx/mapper.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { encodeRGB } from '../store/images.ts';
import { type MapperMetadata, encodeMapperFile } from '../store/mapper-file.ts';
import type { MapperScores } from './mapper-apply.ts';
import type { LossPoint } from './mapper-checkpoint.ts';

export const MAPPER_FILES = Object.freeze({
  weights: 'mapper.safetensors',
  onnx: 'mapper.onnx',
  loss: 'loss.json',
  scores: 'scores.json',
  preview: 'heldout.png',
  provenance: 'provenance.json',
  run: 'run.json',
});

export interface MapperOutput {
  shape: MapperShape;
  weights: MapperWeights;
  metadata: MapperMetadata;
  curve: readonly LossPoint[];
  scores: MapperScores;
  /** Before/after renders [2n, 3, H, W] of the first n held-out codes (interleaved), and the resolution. */
  preview: { images: Float32Array; n: number; resolution: number };
  provenance: Record<string, unknown>;
  runInfo: Record<string, unknown>;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 1)}\n`;

export async function writeMapperOutput(dir: string, o: MapperOutput): Promise<Record<keyof typeof MAPPER_FILES, string>> {
  const F = MAPPER_FILES;
  const path = (k: keyof typeof F) => join(dir, F[k]);
  writeFileAtomic(path('weights'), encodeMapperFile(o.weights, o.metadata));
  writeFileAtomic(path('onnx'), buildMapperModel(o.shape, o.weights).toBytes({ metadata: { 'styleatlas.mapper.target': o.metadata.target, 'styleatlas.generator': o.metadata.generator.id } }));
  writeFileAtomic(path('loss'), json({ terms: 'batch means, measured before each step\'s update: loss = clip + lambda_l2 * l2', steps: o.curve.length, curve: o.curve }));
  writeFileAtomic(path('scores'), json(o.scores));
  const { images, n, resolution: res } = o.preview;
  const tiles = Array.from({ length: 2 * n }, (_, i) => toRGB8(images, i, res, res));
  const grid = tileGrid(tiles, { rows: n, cols: 2, tile: res, gap: Math.max(1, res >> 5), background: [255, 255, 255] });
  writeFileAtomic(path('preview'), await encodeRGB(grid.data, grid.width, grid.height, 'png', res < 128 ? 2 : 1));
  writeFileAtomic(path('provenance'), json(o.provenance));
  writeFileAtomic(path('run'), json(o.runInfo));
  return Object.fromEntries(Object.keys(F).map((k) => [k, path(k as keyof typeof F)])) as Record<keyof typeof F, string>;
}
