/**
 * The downloads stage: the files a catalogue publishes beside its pages — per direction its
 * .safetensors/.npz/.json, per mapper its mapper.safetensors and mapper.onnx, per build
 * relevance.arrow, fs3.npy and the gallery samples' codes (s and W+), and the browser-sized model
 * files the live pages run. All files are written atomically and copied
 * only when their bytes changed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic.ts';
import { type Direction, splitByLayer } from '../store/direction-files.ts';
import { writeDirectionFiles } from '../store/direction-write.ts';
import { encodeNpy } from '../store/npy.ts';
import type { LiveTextChoice } from './live-text.ts';

/** Browsers get a model file for live edits only up to these sizes (bytes). */
export const LIVE_LIMITS = Object.freeze({ synthesis: 32 * 2 ** 20, styles: 32 * 2 ** 20, text: 64 * 2 ** 20, tokenizer: Number.POSITIVE_INFINITY });
export type LiveAssetKey = keyof typeof LIVE_LIMITS;

function copyIfChanged(src: string, dst: string): void {
  if (existsSync(dst) && statSync(dst).size === statSync(src).size && readFileSync(dst).equals(readFileSync(src))) return;
  writeFileAtomic(dst, readFileSync(src));
}

export interface LiveAssetSource {
  key: LiveAssetKey;
  /** The bundle's file, and the model it belongs to. */
  path: string;
  modelId: string;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Copy a model's live files into `<assets>/models/<id>/` when they fit LIVE_LIMITS (key → catalogue-relative path).
 * A file over its limit is left off, and `leftOut` gets a sentence saying which, how large, and what it costs.
 */
export function publishLiveAssets(assetsDir: string, sources: readonly LiveAssetSource[], relative: (p: string) => string, leftOut: string[]): Record<string, string> {
  const assets: Record<string, string> = {};
  for (const s of sources) {
    const size = statSync(s.path).size;
    if (size > LIVE_LIMITS[s.key]) {
      const costs = s.key === 'text' ? 'the live prompt box cannot run its builds' : 'live edits in the browser are off for its builds';
      leftOut.push(`${s.modelId} ${s.key}.onnx is ${mib(size)}, over the ${mib(LIVE_LIMITS[s.key])} the live pages download: left off, so ${costs} (directions, galleries and downloads are unaffected)`);
      continue;
    }
    const dst = join(assetsDir, 'models', s.modelId, s.key === 'tokenizer' ? 'tokenizer.json' : `${s.key}.onnx`);
    copyIfChanged(s.path, dst);
    assets[s.key] = relative(dst);
  }
  return assets;
}

/** Format of `text-tower.json`: which text tower the live box runs for a model, and why. */
export const LIVE_TEXT_FORMAT = 'styleatlas-live-text/1';

/**
 * The live text tower of a model (stages/live-text.ts chose it): text.onnx as it is (float32), or
 * its int8 copy as text.int8.onnx, and in every case `text-tower.json` saying which, with its
 * measured agreement or the reason none ships (a sentence in `leftOut` too). Keys: text (when one
 * ships) and textTower.
 */
export function publishLiveText(assetsDir: string, modelId: string, textPath: string, choice: LiveTextChoice, relative: (p: string) => string, leftOut: string[]): Record<string, string> {
  const dir = join(assetsDir, 'models', modelId);
  const assets: Record<string, string> = {};
  const float32 = { bytes: statSync(textPath).size };
  let info: object;
  if (choice.tower === 'float32') {
    const dst = join(dir, 'text.onnx');
    copyIfChanged(textPath, dst);
    assets.text = relative(dst);
    info = { tower: 'float32', file: assets.text, bytes: float32.bytes };
  } else if (choice.tower === 'int8') {
    const dst = join(dir, 'text.int8.onnx');
    if (!(existsSync(dst) && readFileSync(dst).equals(choice.data))) writeFileAtomic(dst, choice.data);
    assets.text = relative(dst);
    const { data: _data, ...rest } = choice;
    info = { ...rest, file: assets.text, float32 };
  } else {
    leftOut.push(`${modelId} text.onnx (${mib(float32.bytes)}) is left off: ${choice.reason} (${choice.code}), so the live prompt box cannot run its builds (directions, galleries and downloads are unaffected)`);
    info = { tower: 'none', code: choice.code, reason: choice.reason, float32 };
  }
  const json = join(dir, 'text-tower.json');
  writeFileAtomic(json, `${JSON.stringify({ format: LIVE_TEXT_FORMAT, model: modelId, ...info }, null, 2)}\n`);
  assets.textTower = relative(json);
  return assets;
}

/** A build's downloads: relevance.arrow and fs3.npy as built, and the gallery samples' codes s [K, C_total] and ws [K, num_ws, w_dim]. */
export function publishBuildFiles(
  buildAssetsDir: string,
  buildDir: string,
  samples: { codes: Float32Array; count: number; total: number; ws: Float32Array; numWs: number; wDim: number },
  relative: (p: string) => string,
): { relevance: string; fs3: string; samples: string; samplesWs: string } {
  const out = { relevance: join(buildAssetsDir, 'relevance.arrow'), fs3: join(buildAssetsDir, 'fs3.npy'), samples: join(buildAssetsDir, 'samples.npy'), samplesWs: join(buildAssetsDir, 'samples-ws.npy') };
  copyIfChanged(join(buildDir, 'relevance.arrow'), out.relevance);
  copyIfChanged(join(buildDir, 'fs3.npy'), out.fs3);
  writeFileAtomic(out.samples, encodeNpy({ dtype: 'float32', shape: [samples.count, samples.total], data: samples.codes }));
  writeFileAtomic(out.samplesWs, encodeNpy({ dtype: 'float32', shape: [samples.count, samples.numWs, samples.wDim], data: samples.ws }));
  return { relevance: relative(out.relevance), fs3: relative(out.fs3), samples: relative(out.samples), samplesWs: relative(out.samplesWs) };
}

/** A mapper's downloads, copied from its training folder: `<stem>.safetensors` and `<stem>.onnx` (extension → catalogue-relative path). */
export function publishMapperFiles(dir: string, stem: string, trained: { weights: string; onnx: string }, relative: (p: string) => string): { safetensors: string; onnx: string } {
  const out = { safetensors: join(dir, `${stem}.safetensors`), onnx: join(dir, `${stem}.onnx`) };
  copyIfChanged(trained.weights, out.safetensors);
  copyIfChanged(trained.onnx, out.onnx);
  return { safetensors: relative(out.safetensors), onnx: relative(out.onnx) };
}

/** A direction's three downloads, by extension → catalogue-relative path. */
export function publishDirectionFiles(dir: string, stem: string, deltaS: Float32Array, layers: readonly { name: string; channels: number }[], metadata: Direction['metadata'], relative: (p: string) => string): Record<string, string> {
  const files = writeDirectionFiles(dir, stem, { layers: splitByLayer(deltaS, layers), metadata });
  return Object.fromEntries(files.map((f) => [f.split('.').pop()!, relative(f)]));
}
