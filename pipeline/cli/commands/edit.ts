import { resolve } from 'node:path';
import { checkAlpha, directionFromBuild } from '../../core/directions.ts';
import { fail } from '../../core/errors.ts';
import { tileGrid, toRGB8 } from '../../core/image.ts';
import { Encoder } from '../../models/encoder.ts';
import { Generator } from '../../models/generator.ts';
import { asWs, readCodesFile } from '../../models/latent-codes.ts';
import { bundleForBuild, openBuild } from '../../stages/build-reader.ts';
import { editCodes, renderCodes } from '../../stages/edits.ts';
import { deltaT, loadTemplates } from '../../stages/text-directions.ts';
import { writeRGB } from '../../store/images.ts';
import { TextCache } from '../../store/text-cache.ts';
import { num, parseIntList, parseNumberList, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';
import { textCacheOptionHelp, textCacheOptionSpec, textCachePath } from '../text-cache-options.ts';
import { checkOutputFile } from '../../store/output-errors.ts';

/** Base style codes [K, C_total] from s [K, C_total], w [K, wDim] or ws [K, numWs, wDim] (.npy or latents.pt). */
async function codesFromFile(gen: Generator, path: string): Promise<{ codes: Float32Array; k: number; rowNames: string[] | null }> {
  const file = readCodesFile(path);
  const { wDim, numWs } = gen.manifest.architecture;
  if (file.shape.length === 2 && file.shape[1] === gen.layout.total) return { codes: file.data, k: file.shape[0], rowNames: file.rowNames };
  const { ws, k } = asWs(file, numWs, wDim);
  return { codes: await gen.styles(ws, k), k, rowNames: file.rowNames };
}

export default defineCommand({
  path: ['edit'],
  summary: 'apply a text direction to samples and render a grid (rows: samples, columns: α)',
  usage: '--build DIR --neutral TEXT --target TEXT --out FILE.png [--seeds 0-3 | --codes FILE] [--alpha LIST] [--beta X|auto] [--text-cache FILE | --no-cache]',
  details: `s' = s + α Δs with Δs from the build's relevance and the prompt pair (DESIGN §1).

  --build DIR        a finished relevance build
  --neutral TEXT     e.g. "photo" or "face"
  --target TEXT      e.g. "red photo" or "smiling face"
  --out FILE         .png or .webp
  --seeds LIST       sample seeds (default 0-3), truncated with the build's ψ
  --codes FILE       instead of seeds, your own codes (rows: one per code): a float32 .npy of
                     s [K, C_total], w [K, w_dim] or ws [K, num_ws, w_dim], or an e4e / pSp /
                     ReStyle latents.pt (a tensor [K, num_ws, w_dim] or a dict of [num_ws, w_dim]
                     tensors, read as data); used as they are (no truncation).
                     See docs/edit-your-own-photo.md
  --alpha LIST       α values in [-10, 10], e.g. -4,-2,0,2,4 (default)
  --beta X|auto      β in [0, 1], or auto (default 0.15, the reference's)
  --beta-floor N     auto-β's channel floor (default 20)
  --models-dir DIR   where the build's bundles are (default models)
  --scale K          enlarge small images K× (default: 2 below 128 px)
${textCacheOptionHelp}
${runtimeOptionHelp}`,
  options: {
    build: { type: 'string' }, neutral: { type: 'string' }, target: { type: 'string' }, out: { type: 'string' },
    seeds: { type: 'string' }, codes: { type: 'string' }, alpha: { type: 'string' }, beta: { type: 'string' },
    'beta-floor': { type: 'string' }, 'models-dir': { type: 'string' }, scale: { type: 'string' },
    ...textCacheOptionSpec,
    ...runtimeOptionSpec,
  },
  async run({ values, io }) {
    const out = requireStr(values, 'out');
    if (!/\.(png|webp)$/i.test(out)) fail('E_INPUT', `--out must end in .png or .webp, got ${out}`);
    checkOutputFile(resolve(io.cwd, out));
    const alphas = parseNumberList(str(values, 'alpha') ?? '-4,-2,0,2,4', '--alpha');
    for (const a of alphas) checkAlpha(a, '--alpha');
    const betaRaw = str(values, 'beta') ?? '0.15';
    const beta = betaRaw === 'auto' ? 'auto' : num(values, 'beta', 0.15, [0, 1]);
    const betaFloor = num(values, 'beta-floor', 20, [0, 1e9]);
    if (str(values, 'seeds') && str(values, 'codes')) fail('E_USAGE', 'give --seeds or --codes, not both');
    const seeds = parseIntList(str(values, 'seeds') ?? '0-3', '--seeds');
    const cachePath = textCachePath(values, io);
    const build = openBuild(requireStr(values, 'build'));
    const modelsDir = resolve(io.cwd, str(values, 'models-dir') ?? 'models');
    const runtime = runtimeOptions(values, io);
    const gen = await Generator.open(bundleForBuild(modelsDir, build.config.generator, 'generator'), runtime);
    const enc = await Encoder.open(bundleForBuild(modelsDir, build.config.encoder, 'encoder'), { ...runtime, parts: ['text'] });
    const cache = cachePath === undefined ? undefined : TextCache.open(cachePath);
    try {
      const dt = await deltaT(enc, requireStr(values, 'neutral'), requireStr(values, 'target'), { templates: loadTemplates(), cache });
      const d = directionFromBuild(build.relevance, dt.deltaT, beta, betaFloor);
      const codesPath = str(values, 'codes');
      const base = codesPath
        ? await codesFromFile(gen, resolve(io.cwd, codesPath))
        : { codes: await gen.stylesForSeeds(seeds, build.config.psi), k: seeds.length, rowNames: null };
      if (base.rowNames) io.err(`edit: rows are ${base.rowNames.join(', ')}`);
      const { images } = await renderCodes(gen, editCodes(base.codes, base.k, d.deltaS, alphas), base.k * alphas.length);
      const res = gen.arch.resolution;
      const tiles = Array.from({ length: base.k * alphas.length }, (_, n) => toRGB8(images, n, res, res));
      const grid = tileGrid(tiles, { rows: base.k, cols: alphas.length, tile: res, gap: Math.max(1, res >> 5), background: [255, 255, 255] });
      await writeRGB(out, grid.data, grid.width, grid.height, num(values, 'scale', res < 128 ? 2 : 1, [0.05, 16]));
      io.err(`edit: β=${d.beta} (${d.betaMode}), ${d.active} active channels, α ∈ {${alphas.join(', ')}} → ${out}`);
      io.out(out);
    } finally {
      cache?.close();
      await enc.release();
      await gen.release();
    }
  },
});
