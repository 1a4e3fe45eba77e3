/**
 * The catalogue website in real headless Chromium: a small catalogue (tiny × colour-world, a few
 * prompts, one of them hostile HTML) is built, the site is built and served on localhost by the
 * CLI, and a browser uses it as a visitor would. The live box's Δs is compared with the
 * pipeline's directionFromBuild for the same prompt pair and β; the live mapper's render with the
 * pipeline's render of the same catalogue mapper.
 *
 * Size budget: every check shares one built site and one browser (an Astro build and a Chromium
 * start cost tens of seconds on CI); split into files, each would pay for both again.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directionFromBuild } from '../../pipeline/core/directions.ts';
import { toRGB8 } from '../../pipeline/core/image.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { MapperApplier } from '../../pipeline/stages/mapper-apply.ts';
import { decodeMapperFile } from '../../pipeline/store/mapper-file.ts';
import { openBuild } from '../../pipeline/stages/build-reader.ts';
import { deltaT, loadTemplates } from '../../pipeline/stages/text-directions.ts';
import { readDirectionNpz, readDirectionSafetensors } from '../../pipeline/store/direction-files.ts';
import { decodeNpy } from '../../pipeline/store/npy.ts';
import { readRelevanceArrow } from '../../pipeline/store/relevance-arrow.ts';
import { type Browser, isLocal, launchBrowser, serveSite } from '../helpers/browser.ts';
import { MODELS, REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-site-');
const BUILD = 'tiny-cw';
/** A second build whose text tower is a real (random-weight) transformer, not colour-world's lookup. */
const CLIP_BUILD = 'tiny-tc';
const catalogueDir = join(tmp, 'catalogue');
const siteDir = join(tmp, 'site');
const ARTIFACTS = join(REPO, 'test-artifacts');
const HOSTILE_TARGET = 'red photo <img src=x onerror=alert(1)>';
const HOSTILE_NEUTRAL = '<script>alert("neutral")</script> photo';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const prompts = {
  format: 'styleatlas-prompts/1',
  id: 'site-test',
  title: 'Site test',
  description: 'A few colour-world prompts for the e2e test, one of them hostile HTML.',
  defaults: { alpha: 1, beta: 'auto', betaFloor: 10 },
  prompts: [
    { id: 'red', neutral: 'photo', target: 'red photo', tags: ['colour'], alphaRange: [-2, 2] },
    { id: 'bright', neutral: 'photo', target: 'bright photo', tags: ['brightness'], alphaRange: [-2, 2], kinds: ['direction', 'mapper'], mapper: { steps: 40, trainSamples: 16, testSamples: 4, checkpointEvery: 20 } },
    { id: 'hostile', neutral: HOSTILE_NEUTRAL, target: HOSTILE_TARGET, tags: ['colour'], alphaRange: [-2, 2], note: '<b id="bold">not bold</b><script>alert(2)</script>' },
  ],
};

const faces = {
  format: 'styleatlas-prompts/1',
  id: 'site-test-faces',
  title: 'Site test (faces)',
  description: 'One prompt for the tiny CLIP build.',
  defaults: { alpha: 4.1, beta: 'auto', betaFloor: 20 },
  prompts: [{ id: 'smiling', neutral: 'face', target: 'smiling face', tags: ['expression'] }],
};

let server: Awaited<ReturnType<typeof serveSite>>;
let browser: Browser;
let siteBuildSeconds = 0;

function run(args: string[]): void {
  const r = cli(args, { cwd: tmp });
  if (r.status !== 0) throw new Error(`styleatlas ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
}

beforeAll(async () => {
  for (const [build, encoder, set] of [[BUILD, 'colour-world', prompts], [CLIP_BUILD, 'tiny-clip', faces]] as const) {
    writeFileSync(join(tmp, `${set.id}.json`), JSON.stringify(set));
    const dir = join(tmp, 'builds', build);
    run(['relevance', '--generator', modelDir('tiny'), '--encoder', modelDir(encoder), '--out', dir, '--samples', '4', '--stats-samples', '2000', '--quiet']);
    // Method 1 on the prompt that also has a mapper, so the comparison page joins all three methods.
    const method1 = build === BUILD ? ['--method1', '--method1-prompts', 'bright', '--method1-steps', '10'] : [];
    run(['catalogue', '--build', dir, '--prompts', join(tmp, `${set.id}.json`), '--out', catalogueDir, '--models-dir', MODELS, '--gallery-seeds', '1000-1001', '--columns', '5', '--no-cache', '--quiet', ...method1]);
  }
  const t0 = performance.now();
  run(['site', 'build', '--catalogue', catalogueDir, '--out', siteDir, '--cache-dir', join(tmp, 'astro-cache')]);
  siteBuildSeconds = (performance.now() - t0) / 1000;
  server = await serveSite(siteDir);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(path: string, viewport = DESKTOP): Promise<Page> {
  const page = await browser.newPage(viewport);
  await page.goto(new URL(path, server.url).href);
  return page;
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function download(page: Page, selector: string): Promise<Uint8Array> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return readFileSync((await d.path())!);
}

async function liveReady(path: string, viewport = DESKTOP): Promise<Page> {
  const page = await open(path, viewport);
  await page.waitForSelector('#live[data-state="ready"]', { timeout: 60_000 });
  return page;
}

async function compute(page: Page, neutral: string, target: string): Promise<void> {
  await page.fill('#live-neutral', neutral);
  await page.fill('#live-target', target);
  await page.click('#live-go');
  await page.waitForSelector('#live[data-state="done"], #live[data-state="error"]', { timeout: 60_000 });
}

describe('the catalogue site', () => {
  it('builds quickly and refuses a slug that would escape the site', () => {
    console.log(`site build: ${siteBuildSeconds.toFixed(1)} s`);
    const evil = join(tmp, 'evil-catalogue');
    cpSync(catalogueDir, evil, { recursive: true });
    const db = new Database(join(evil, 'catalogue.sqlite'));
    db.prepare("UPDATE directions SET slug = '../evil' WHERE slug = 'red'").run();
    db.close();
    const r = cli(['site', 'build', '--catalogue', evil, '--out', join(tmp, 'evil-site')], { cwd: tmp });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/E_INPUT: catalogue: direction slug .*"\.\.\/evil" cannot become a site path/);
  });

  it('home page lists the directions and search narrows them', async () => {
    const page = await open('/');
    const visible = () => page.locator('#cards .card:not([hidden])').count();
    expect(await visible()).toBe(4);
    await shoot(page, 'home-desktop');
    await page.fill('#q', 'bright');
    expect(await visible()).toBe(1);
    await expect.poll(() => page.textContent('#count')).toBe('1 of 4 directions');
    await page.fill('#q', 'no such words');
    expect(await visible()).toBe(0);
    expect(await page.isVisible('#no-match')).toBe(true);
    await page.fill('#q', '');
    await page.click('.chip[data-tag="colour"]');
    expect(await visible()).toBe(2);
    await shoot(await open('/', PHONE), 'home-phone');
  });

  it("a direction page's α slider changes the image; plots and channels are there", async () => {
    const page = await open(`/d/${BUILD}/red/`);
    const frame = page.locator('img[data-frame="0"]');
    const before = await frame.getAttribute('src');
    await page.locator('#alpha-slider').fill('0');
    const after = await frame.getAttribute('src');
    expect(after).not.toBe(before);
    expect(after).toMatch(/\/assets\/gallery\/tiny-cw\/red\/0-0\.webp$/);
    expect(await page.textContent('#alpha-readout')).toBe('α = -2');
    await expect.poll(() => frame.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    expect(await page.locator('.plot svg').count()).toBe(3); // β curve, score, pixel change (colour-world)
    expect(await page.locator('details.layer').count()).toBeGreaterThan(0);
    expect(await page.textContent('pre.code')).toContain('def apply_direction');
    await shoot(page, 'direction-desktop');
    await shoot(await open(`/d/${BUILD}/red/`, PHONE), 'direction-phone');
  });

  it('every download link returns a valid file', async () => {
    const page = await open(`/d/${BUILD}/red/`);
    const st = readDirectionSafetensors(await download(page, 'a[data-download="safetensors"]'));
    const npz = readDirectionNpz(await download(page, 'a[data-download="npz"]'));
    const json = JSON.parse(new TextDecoder().decode(await download(page, 'a[data-download="json"]')));
    expect(st.header.target).toBe('red photo');
    expect(npz.header).toEqual(st.header);
    expect(json.format).toBe('styleatlas-direction/1');
    expect(json.active.length).toBeGreaterThan(0);
    const flat = st.layers.flatMap((l) => Array.from(l.deltaS));
    for (const a of json.active) expect(flat[a.globalIndex]).toBe(Math.fround(a.value));
    expect(npz.layers.flatMap((l) => Array.from(l.deltaS))).toEqual(flat);

    const build = await open(`/builds/${BUILD}/`);
    const fs3 = decodeNpy(await download(build, 'a[data-download="fs3"]'));
    const rel = readRelevanceArrow(await download(build, 'a[data-download="relevance"]'));
    expect(fs3.dtype).toBe('float32');
    expect(fs3.shape).toEqual([rel.rows, rel.dim]);
    expect(Array.from((fs3.data as Float32Array).subarray(0, rel.dim))).toEqual(Array.from(rel.direction.subarray(0, rel.dim)));
    expect(await build.locator('svg[data-heatmap] rect').count()).toBeGreaterThan(rel.rows);
    // The page says how the build rendered, as its relevance.arrow records it (the default here: prefix-nchwc or prefix).
    const config = JSON.parse(rel.metadata['styleatlas.config']);
    const row = async (k: string) => (await build.locator('table.kv tr', { has: build.locator(`th:text-is("${k}")`) }).locator('td').innerText()).trim();
    expect(config.renderGraph).toMatch(/^prefix/);
    expect(await row('Render graph')).toMatch(new RegExp(`^${config.renderGraph} — prefix reuse .*exact`));
    expect(await row('Rendered to')).toBe('the full image (exact)');
    expect(await row('Renders per onnxruntime call')).toBe(String(config.batch));
    await shoot(build, 'build-desktop');
  });

  it('the live box turns two prompts into active channels and a rendered edit, and says what is wrong with bad prompts', async () => {
    const page = await liveReady(`/live/?build=${BUILD}`);
    await compute(page, 'photo', 'red photo');
    expect(await page.getAttribute('#live', 'data-state')).toBe('done');
    expect(Number(await page.getAttribute('#live-result', 'data-active'))).toBeGreaterThan(0);
    expect(await page.locator('#live-channels tr').count()).toBeGreaterThan(0);
    const after = page.locator('#live-after[data-alpha]');
    await after.waitFor({ timeout: 60_000 });
    const pixels = (id: string) => page.evaluate((sel) => {
      const c = document.querySelector<HTMLCanvasElement>(sel)!;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
    }, id);
    const unedited = await pixels('#live-before');
    expect(unedited.some((v, i) => i % 4 !== 3 && v !== 0)).toBe(true);
    expect(await pixels('#live-after')).not.toEqual(unedited); // α = 1 by default: the edit shows
    const wasm = browser.log.requests.find((u) => u.endsWith('.wasm'))!;
    expect((await fetch(wasm, { method: 'HEAD' })).headers.get('content-type')).toBe('application/wasm');
    await shoot(page, 'live-desktop');

    await compute(page, '', 'red photo');
    expect(await page.textContent('#live-status')).toMatch(/^E_PROMPT: the neutral prompt is empty/);
    await compute(page, 'photo', 'red '.repeat(80));
    expect(await page.textContent('#live-status')).toMatch(/^E_PROMPT: prompt "red red .* tokens; in template .* over the limit of 77/);
    await compute(page, 'Photo', ' photo ');
    expect(await page.textContent('#live-status')).toMatch(/^E_PROMPT: neutral and target are the same prompt/);

    const phone = await liveReady(`/live/?build=${BUILD}`, PHONE);
    await compute(phone, 'photo', 'bright photo');
    await phone.locator('#live-after[data-alpha]').waitFor({ timeout: 60_000 });
    await shoot(phone, 'live-phone');
  });

  // Tolerances: colour-world's text tower is a lookup that wasm and native compute alike, so Δt
  // matches to float32 rounding; tiny CLIP is a transformer whose sums round differently in wasm.
  // Δs adds the site's float32 σ (the pipeline's is float64): with the product's own rounding to
  // float32 that is at most 3·2⁻²⁴ ≈ 1.8e-7 relative, under the 2⁻²² asserted.
  it.each([
    { build: BUILD, encoder: 'colour-world', neutral: 'photo', target: 'red photo', floor: prompts.defaults.betaFloor, dt: 1e-7, ds: 2 ** -22 },
    { build: CLIP_BUILD, encoder: 'tiny-clip', neutral: 'face', target: 'smiling face', floor: faces.defaults.betaFloor, dt: 1e-6, ds: 1e-5 },
  ])("the live Δs equals the pipeline's directionFromBuild on $build for the same prompts and β", async (c) => {
    const page = await liveReady(`/live/?build=${c.build}`);
    await compute(page, c.neutral, c.target);
    const enc = await Encoder.open(modelDir(c.encoder), { parts: ['text'] });
    const dt = await deltaT(enc, c.neutral, c.target, { templates: loadTemplates() }).finally(() => enc.release());
    const build = openBuild(join(tmp, 'builds', c.build));
    const liveDt = JSON.parse((await page.getAttribute('#live-result', 'data-delta-t'))!) as number[];
    const dtDiff = Math.max(...liveDt.map((v, i) => Math.abs(v - dt.deltaT[i])));
    expect(dtDiff).toBeLessThanOrEqual(c.dt);
    const auto = directionFromBuild(build.relevance, dt.deltaT, 'auto', c.floor);
    expect(Number(await page.getAttribute('#live-result', 'data-beta'))).toBe(auto.beta);

    for (const beta of [auto.beta, 0.12]) {
      await page.locator('#live-beta').fill(String(beta));
      await expect.poll(() => page.getAttribute('#live-result', 'data-beta')).toBe(String(beta));
      const live = JSON.parse(new TextDecoder().decode(await download(page, '#live-download')));
      const want = directionFromBuild(build.relevance, dt.deltaT, beta);
      expect(live.format).toBe('styleatlas-direction/1');
      expect([live.beta, live.buildId, live.activeChannels]).toEqual([beta, c.build, want.active]);
      const got = new Float32Array(want.deltaS.length);
      for (const a of live.active) got[a.globalIndex] = a.value;
      let maxRel = 0;
      want.deltaS.forEach((v, ch) => {
        expect(got[ch] === 0, `channel ${ch}`).toBe(v === 0);
        if (v !== 0) maxRel = Math.max(maxRel, Math.abs(got[ch] - v) / Math.abs(v));
      });
      console.log(`${c.build} β = ${beta}: ${want.active} channels, max |Δs_live − Δs_pipeline| / |Δs_pipeline| = ${maxRel.toExponential(2)}, max |Δt_live − Δt_pipeline| = ${dtDiff.toExponential(2)}`);
      expect(maxRel).toBeLessThanOrEqual(c.ds);
    }
  });

  it('a mapper page steps its gallery by strength, plots its training, offers files that load; the comparison page shows all three methods', async () => {
    const page = await open(`/m/${BUILD}/bright/`);
    const frame = page.locator('img[data-frame="0"]');
    await page.locator('#alpha-slider').fill('0');
    expect(await frame.getAttribute('src')).toMatch(/\/assets\/mapper-gallery\/tiny-cw\/bright\/0-0\.webp$/);
    expect(await page.textContent('#alpha-readout')).toBe('strength = 0');
    expect(await page.locator('.plot svg').count()).toBe(3); // loss, score, pixel change (colour-world)
    const weights = decodeMapperFile(await download(page, 'a[data-download="safetensors"]'));
    expect(weights.header.target).toBe('bright photo');
    expect(weights.header.steps).toBe(40);
    const onnx = await download(page, 'a[data-download="onnx"]');
    const session = await ModelSession.open(onnx, 'downloaded mapper.onnx');
    const out = await session.run({ ws: float32(new Float32Array(10 * 64).fill(0.5), [1, 10, 64]), strength: float32(Float32Array.of(1), []) }).finally(() => session.release());
    expect(out.delta.dims).toEqual([1, 10, 64]);
    expect(await page.textContent('pre.code')).toContain('ort.InferenceSession("bright-mapper.onnx")');
    await shoot(page, 'mapper-desktop');

    const compare = await open(`/compare/${BUILD}/bright/`);
    expect(await compare.locator('#compare-table tbody tr').count()).toBe(3); // direction, mapper, method 1 (joined from its own tables)
    expect(await compare.locator('#compare-sheet thead th').allTextContents()).toEqual(['seed', 'unedited', 'direction, α = 1', 'mapper, strength 1', 'method 1, 10 steps']);
    expect(await compare.locator('#compare-sheet tbody tr').count()).toBe(2); // gallery seeds 1000-1001
    await expect.poll(() => compare.locator('#compare-sheet img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0))).toBe(true);
    const home = await open('/');
    expect(await home.locator('#mapper-cards .card').count()).toBe(1);
    expect(await home.locator('a.badge', { hasText: 'vs mapper' }).count()).toBe(1);
    await shoot(compare, 'compare-desktop');
  });

  it('the live mapper renders a catalogue mapper on a gallery sample in the browser as the pipeline does, and brighter', async () => {
    const page = await open(`/m/${BUILD}/bright/`);
    await page.waitForSelector('#live-mapper[data-state="ready"][data-rendered="0:1"]', { timeout: 60_000 });
    const pixels = (id: string) => page.evaluate((sel) => {
      const c = document.querySelector<HTMLCanvasElement>(sel)!;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
    }, id);
    const before = await pixels('#live-mapper-before');
    const after = await pixels('#live-mapper-after');
    const luma = (px: number[]) => px.reduce((a, v, i) => a + (i % 4 === 3 ? 0 : v), 0) / ((px.length * 3) / 4);
    expect(luma(after)).toBeGreaterThan(luma(before) + 10);

    const gen = await Generator.open(modelDir('tiny'));
    const enc = await Encoder.open(modelDir('colour-world'), { parts: ['text'] });
    try {
      const { weights } = decodeMapperFile(readFileSync(join(catalogueDir, 'assets', 'mappers', BUILD, 'bright.safetensors')));
      const applier = await MapperApplier.open(gen, enc, { numWs: 10, wDim: 64 }, weights);
      const ws = await gen.wsForSeeds([1000], 0.7);
      const { s } = await applier.editedStyles(ws, 1, [1]).finally(() => applier.release());
      const want = toRGB8(await gen.synthesis(s, 1), 0, 64, 64);
      let worst = 0;
      for (let p = 0; p < 64 * 64; p++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(after[p * 4 + c] - want[p * 3 + c]));
      console.log(`live mapper vs pipeline render: max |Δ| = ${worst} of 255`);
      expect(worst).toBeLessThanOrEqual(2);
    } finally {
      await enc.release();
      await gen.release();
    }
    await page.locator('#live-strength').fill('0');
    await page.waitForSelector('#live-mapper[data-rendered="0:0"]');
    expect(await pixels('#live-mapper-after')).toEqual(before);
  });

  it('hostile prompt text is shown as text and never runs', async () => {
    const page = await open(`/d/${BUILD}/hostile/`);
    expect(await page.textContent('h1')).toContain(HOSTILE_TARGET);
    expect(await page.textContent('h1')).toContain(HOSTILE_NEUTRAL);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('#bold').count()).toBe(0);
    const home = await open('/?q=onerror');
    expect(await home.locator('#cards .card:not([hidden])').count()).toBe(1);
    expect(await home.locator('img[src="x"]').count()).toBe(0);
    const live = await liveReady(`/live/?build=${BUILD}`);
    await compute(live, 'photo', HOSTILE_TARGET);
    expect(await live.textContent('#live-status')).toContain(HOSTILE_TARGET);
    expect(await live.locator('img[src="x"]').count()).toBe(0);
    expect(browser.log.dialogs).toEqual([]);
  });

  it('no request left localhost, and no page logged an error', () => {
    expect(browser.log.requests.length).toBeGreaterThan(20);
    expect(browser.log.requests.filter((u) => !isLocal(u))).toEqual([]);
    expect(browser.log.consoleErrors).toEqual([]);
    expect(browser.log.pageErrors).toEqual([]);
    expect(browser.log.dialogs).toEqual([]);
  });
});
