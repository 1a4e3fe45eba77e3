/**
 * The live page on a full-size text tower, in real headless Chromium: a build of the tiny
 * generator with vitb32-arch (the ViT-B/32 shapes, random weights; its text.onnx is 242 MiB, over
 * the live page's 64 MiB) is catalogued, and the catalogue publishes its checked int8 copy. The
 * page lists the build, says it runs the int8 tower with its measured agreement, downloads it with
 * progress, turns a typed prompt pair into Δs equal to the pipeline's through the same int8 tower,
 * starts from the browser's cache on a second visit, and shows a sha256 mismatch as an error.
 *
 * The build's relevance table is imported (`import fs3`) from seeded random unit rows: what is
 * tested is the live page against the pipeline on the same table, not the relevance measurement,
 * which with a ViT-B/32 visual tower would cost far more than this whole test.
 * Slow project (`npx vitest run --project slow`): about 3 to 6 minutes on 2 shared cores.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directionFromBuild } from '../../pipeline/core/directions.ts';
import { cosine } from '../../pipeline/core/vec.ts';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { styleLayout } from '../../pipeline/core/styles.ts';
import { loadGeneratorBundle } from '../../pipeline/models/bundle.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { vitB32ArchRecipe } from '../../pipeline/models/recipes/clip-random.ts';
import { openBuild } from '../../pipeline/stages/build-reader.ts';
import { openTextVariant } from '../../pipeline/stages/live-text.ts';
import { channelsOf } from '../../pipeline/stages/relevance-plan.ts';
import { deltaT, loadTemplates } from '../../pipeline/stages/text-directions.ts';
import { encodeNpy } from '../../pipeline/store/npy.ts';
import { type Browser, launchBrowser, serveSite } from '../helpers/browser.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-live-vitb32-');
const models = join(tmp, 'models');
const BUILD = 'tiny-vitb32';
const buildDir = join(tmp, 'builds', BUILD);
const catalogueDir = join(tmp, 'catalogue');
const [NEUTRAL, TARGET] = ['face', 'smiling face'];
const prompts = {
  format: 'styleatlas-prompts/1', id: 'live-vitb32', title: 'Live ViT-B/32', description: 'One prompt pair for the full-size live test.',
  defaults: { alpha: 4.1, beta: 'auto', betaFloor: 5 },
  prompts: [{ id: 'smiling', neutral: NEUTRAL, target: TARGET, tags: ['expression'] }],
};
let server: Awaited<ReturnType<typeof serveSite>>;
let browser: Browser;
let catalogueErr = '';

function run(args: string[]): string {
  const r = cli(args, { cwd: tmp });
  if (r.status !== 0) throw new Error(`styleatlas ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stderr;
}

beforeAll(async () => {
  cpSync(modelDir('tiny'), join(models, 'tiny'), { recursive: true });
  await vitB32ArchRecipe.build(join(models, 'vitb32-arch'), { log: () => {} });
  const layout = styleLayout(loadGeneratorBundle(join(models, 'tiny')).manifest.layers);
  const rows = channelsOf(layout, 'conv').length;
  const D = 512;
  const rng = new Xoshiro128(15, 0);
  const fs3 = Float32Array.from({ length: rows * D }, () => rng.nextNormal());
  for (let r = 0; r < rows; r++) {
    const row = fs3.subarray(r * D, (r + 1) * D);
    const n = Math.hypot(...row);
    row.forEach((v, j) => (row[j] = v / n));
  }
  writeFileSync(join(tmp, 'fs3.npy'), encodeNpy({ dtype: 'float32', shape: [rows, D], data: fs3 }));
  run(['import', 'fs3', join(tmp, 'fs3.npy'), '--generator', join(models, 'tiny'), '--encoder', join(models, 'vitb32-arch'), '--out', buildDir, '--stats-samples', '500', '--quiet']);
  writeFileSync(join(tmp, 'prompts.json'), JSON.stringify(prompts));
  catalogueErr = run(['catalogue', '--build', buildDir, '--prompts', join(tmp, 'prompts.json'), '--out', catalogueDir, '--models-dir', models, '--gallery-seeds', '1000', '--columns', '2', '--no-cache', '--quiet']);
  run(['site', 'build', '--catalogue', catalogueDir, '--out', join(tmp, 'site'), '--cache-dir', join(tmp, 'astro-cache')]);
  server = await serveSite(join(tmp, 'site'));
  browser = await launchBrowser();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the live page on a full-size (vitb32-arch) text tower', () => {
  it("runs the catalogue's checked int8 tower and gives the pipeline's Δs for a typed prompt", { timeout: 900_000 }, async () => {
    const tower = JSON.parse(readFileSync(join(catalogueDir, 'assets', 'models', 'vitb32-arch', 'text-tower.json'), 'utf8'));
    expect(tower).toMatchObject({ format: 'styleatlas-live-text/1', tower: 'int8', file: 'assets/models/vitb32-arch/text.int8.onnx', float32: { bytes: 253776938 } });
    expect(tower.bytes).toBeLessThanOrEqual(64 * 2 ** 20);
    expect(tower.agreement.minCosine).toBeGreaterThanOrEqual(0.999);
    expect(catalogueErr).toMatch(/catalogue: live text tower of vitb32-arch: int8 text\.int8\.onnx \(6\d\.\d MiB\); Δt cosine to float32 min 0\.999\d+/);

    const page = await browser.newPage();
    await page.goto(new URL(`/live/?build=${BUILD}`, server.url).href);
    await page.waitForSelector('#live[data-state="ready"]', { timeout: 300_000 });
    expect(await page.locator('#live-build option').allTextContents()).toContain(`${BUILD} (tiny × vitb32-arch)`);
    expect(await page.getAttribute('#live', 'data-tower')).toBe('int8');
    expect(await page.textContent('[data-testid="int8-towers"]')).toMatch(/runs its weight-only int8 copy \(6\d\.\d MiB\): Δt cosine to float32 ≥ 0\.999/);
    const first = await page.locator('#live-progress li[data-source]').evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset })));
    expect(first.map((d) => [d.label, d.source, d.loaded === d.total])).toEqual(expect.arrayContaining([['vitb32-arch text tower (int8)', 'network', true], [`${BUILD} relevance table`, 'network', true]]));

    await page.fill('#live-neutral', NEUTRAL);
    await page.fill('#live-target', TARGET);
    await page.click('#live-go');
    // onnxruntime-web runs in a worker: while the 158 template sentences go through the tower
    // (about a minute), the page's own thread still answers — an evaluate returns, and sees the
    // box computing. On the page's thread the evaluate would only run after the result.
    await page.waitForSelector('#live[data-state="computing"]', { timeout: 60_000 });
    expect(await page.evaluate(() => document.querySelector('#live')?.getAttribute('data-state'))).toBe('computing');
    await page.waitForSelector('#live[data-state="done"], #live[data-state="error"]', { timeout: 600_000 });
    expect(await page.getAttribute('#live', 'data-state'), (await page.textContent('#live-status')) ?? '').toBe('done');
    // For looking at: the live page of a full-size text tower with its result.
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO, 'test-artifacts', 'live-vitb32-desktop.png'), fullPage: true });
    const liveDt = Float32Array.from(JSON.parse((await page.getAttribute('#live-result', 'data-delta-t'))!) as number[]);

    // The pipeline's Δt through the same int8 tower (onnxruntime-node), and through float32.
    const enc = await Encoder.open(join(models, 'vitb32-arch'), { parts: ['text'] });
    const templates = loadTemplates();
    const int8 = await openTextVariant(enc, readFileSync(join(catalogueDir, tower.file)), 'int8', {});
    const dt = await deltaT(int8, NEUTRAL, TARGET, { templates }).finally(() => int8.release());
    const dtFloat = await deltaT(enc, NEUTRAL, TARGET, { templates }).finally(() => enc.release());
    const dtDiff = Math.max(...liveDt.map((v, i) => Math.abs(v - dt.deltaT[i])));
    console.log(`vitb32-arch live Δt: max |Δt_live − Δt_pipeline(int8)| = ${dtDiff.toExponential(2)}, cos(Δt_live, Δt_float32) = ${cosine(liveDt, dtFloat.deltaT).toFixed(6)}`);
    expect(dtDiff).toBeLessThanOrEqual(1e-5); // wasm and native sum a 12-layer transformer in different orders
    expect(cosine(liveDt, dtFloat.deltaT)).toBeGreaterThanOrEqual(0.999);

    const build = openBuild(buildDir);
    const auto = directionFromBuild(build.relevance, dt.deltaT, 'auto', prompts.defaults.betaFloor);
    expect(Number(await page.getAttribute('#live-result', 'data-beta'))).toBe(auto.beta);
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('#live-download')]);
    const live = JSON.parse(readFileSync((await d.path())!, 'utf8'));
    expect([live.beta, live.buildId, live.activeChannels]).toEqual([auto.beta, BUILD, auto.active]);
    const got = new Float32Array(auto.deltaS.length);
    for (const a of live.active) got[a.globalIndex] = a.value;
    let maxRel = 0;
    auto.deltaS.forEach((v, ch) => {
      expect(got[ch] === 0, `channel ${ch}`).toBe(v === 0);
      if (v !== 0) maxRel = Math.max(maxRel, Math.abs(got[ch] - v) / Math.abs(v));
    });
    console.log(`vitb32-arch β = ${auto.beta}: ${auto.active} channels, max |Δs_live − Δs_pipeline| / |Δs_pipeline| = ${maxRel.toExponential(2)}`);
    expect(maxRel).toBeLessThanOrEqual(1e-4);

    // A second visit starts from the browser's cache: nothing large is downloaded again.
    const before = browser.log.requests.length;
    await page.reload();
    await page.waitForSelector('#live[data-state="ready"]', { timeout: 120_000 });
    const again = await page.locator('#live-progress li[data-source]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.source));
    expect(again).toEqual(['cache', 'cache']);
    expect(browser.log.requests.slice(before).filter((u) => u.endsWith('text.int8.onnx') || u.endsWith('relevance.arrow'))).toEqual([]);

    // A file whose bytes are not the ones the page was built with is an error, not a silent use.
    await page.evaluate(() => caches.delete('styleatlas-live-v1'));
    await page.route('**/relevance.arrow', async (route) => {
      const res = await route.fetch();
      const body = Buffer.from(await res.body());
      body[body.length - 1] ^= 0xff;
      await route.fulfill({ response: res, body });
    });
    await page.reload();
    await page.waitForSelector('#live[data-state="error"]', { timeout: 300_000 });
    expect(await page.textContent('#live-status')).toMatch(/^E_CHECKSUM: tiny-vitb32 relevance table: .*relevance\.arrow has sha256 [0-9a-f]{12}…, the page expects [0-9a-f]{12}…/);
    expect(browser.log.pageErrors).toEqual([]);
  });
});
