/**
 * What `styleatlas optimise` leaves in its output folder, written all at once (a temporary folder
 * renamed into place: a failed or killed run leaves nothing half-written):
 *   ws.npy, ws_start.npy  float32 [K, num_ws, w_dim]   the optimised and the start W+ codes
 *   s.npy                 float32 [K, C_total]         the optimised codes in S-space (layer order)
 *   before-<k>.png, after-<k>.png, comparison.png      renders; the grid has one row per code
 *   loss.json, loss.svg   the objective's terms per step and sample, and their plot
 *   provenance.json       everything that determines the numbers (bundles, target, settings, start)
 *   run.json              how this run went (seconds, per step, threads, device): not part of the result
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tileGrid, toRGB8 } from '../core/image.ts';
import type { Generator } from '../models/generator.ts';
import { writeDirAtomic } from '../store/atomic.ts';
import { encodeRGB } from '../store/images.ts';
import { renderLossCurveSvg } from '../store/loss-curve-svg.ts';
import { encodeNpy } from '../store/npy.ts';
import type { OptimiseRun } from './optimise.ts';

export const OPTIMISE_FILES = Object.freeze({
  ws: 'ws.npy',
  wsStart: 'ws_start.npy',
  s: 's.npy',
  comparison: 'comparison.png',
  loss: 'loss.json',
  lossSvg: 'loss.svg',
  provenance: 'provenance.json',
  run: 'run.json',
});

export interface OptimiseOutput {
  run: OptimiseRun;
  /** The optimised codes in S-space [K, C_total]. */
  s: Float32Array;
  provenance: Record<string, unknown>;
  runInfo: Record<string, unknown>;
}

/** The loss curve file: per step, the objective and each term for every sample. */
export function lossCurveJson(run: OptimiseRun): object {
  return {
    samples: run.k,
    steps: run.curve.length - 1,
    terms: 'loss = clip + lambda_l2 * l2 + lambda_id * id, per sample; each point is measured before its step\'s update, the last after the final one',
    curve: run.curve,
  };
}

export async function writeOptimiseOutput(outDir: string, gen: Generator, o: OptimiseOutput): Promise<void> {
  const { run } = o;
  const a = gen.manifest.architecture;
  const res = a.resolution;
  const F = OPTIMISE_FILES;
  const scale = res < 128 ? 2 : 1;
  await writeDirAtomic(outDir, async (tmp) => {
    writeFileSync(join(tmp, F.ws), encodeNpy({ dtype: 'float32', shape: [run.k, a.numWs, a.wDim], data: run.ws }));
    writeFileSync(join(tmp, F.wsStart), encodeNpy({ dtype: 'float32', shape: [run.k, a.numWs, a.wDim], data: run.wsStart }));
    writeFileSync(join(tmp, F.s), encodeNpy({ dtype: 'float32', shape: [run.k, gen.layout.total], data: o.s }));
    const tiles: Uint8Array[] = [];
    for (let k = 0; k < run.k; k++) {
      const before = toRGB8(run.before, k, res, res);
      const after = toRGB8(run.after, k, res, res);
      writeFileSync(join(tmp, `before-${k}.png`), await encodeRGB(before, res, res, 'png', scale));
      writeFileSync(join(tmp, `after-${k}.png`), await encodeRGB(after, res, res, 'png', scale));
      tiles.push(before, after);
    }
    const grid = tileGrid(tiles, { rows: run.k, cols: 2, tile: res, gap: Math.max(1, res >> 5), background: [255, 255, 255] });
    writeFileSync(join(tmp, F.comparison), await encodeRGB(grid.data, grid.width, grid.height, 'png', scale));
    writeFileSync(join(tmp, F.loss), `${JSON.stringify(lossCurveJson(run), null, 1)}\n`);
    const series = Array.from({ length: run.k }, (_, k) => [
      { name: `sample ${k}: loss`, values: run.curve.map((p) => p.loss[k]) },
      { name: `sample ${k}: D_CLIP`, values: run.curve.map((p) => p.clip[k]), dashed: true },
    ]).flat();
    writeFileSync(join(tmp, F.lossSvg), renderLossCurveSvg(series, { title: `method 1: "${String(o.provenance.target)}"` }));
    writeFileSync(join(tmp, F.provenance), `${JSON.stringify(o.provenance, null, 2)}\n`);
    writeFileSync(join(tmp, F.run), `${JSON.stringify(o.runInfo, null, 2)}\n`);
  });
}
