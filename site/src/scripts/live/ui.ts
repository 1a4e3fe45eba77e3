/**
 * The live box: load a build's text tower, relevance table and (when small enough) generator,
 * then turn two prompts into Δt, Δs with a β slider, a .json download and a live edit. Data is
 * only ever written with textContent; the numbers the e2e test compares are left on #live-result.
 */
import type { BuildDirection, TextDirection } from '../../../../pipeline/core/directions.ts';
import { LiveRelevance, LiveText, liveDirectionJson } from './compute.ts';
import type { LiveBuild, LiveConfig } from './config.ts';
import { fileStem, message, num, setStatus } from './format.ts';
import { progressHooks } from './progress.ts';
import { LiveRenderer } from './render.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const TOP = 40;

interface State {
  build: LiveBuild;
  text?: LiveText;
  relevance?: LiveRelevance;
  renderer?: LiveRenderer;
  prompts?: { neutral: string; target: string };
  dt?: TextDirection;
  dir?: BuildDirection;
  sample: number;
  downloadUrl?: string;
}

export function initLive(): void {
  const root = $('live');
  if (!root) return;
  const config = JSON.parse($('live-config').textContent!) as LiveConfig & { examples: Record<string, { neutral: string; target: string }> };
  const status = $('live-status');
  const go = $<HTMLButtonElement>('live-go');
  const result = $('live-result');
  const beta = $<HTMLInputElement>('live-beta');
  const alpha = $<HTMLInputElement>('live-alpha');
  const select = $<HTMLSelectElement>('live-build');
  if (config.builds.length === 0) {
    setStatus(status, 'No build in this catalogue has a text encoder small enough for the browser.', 'error');
    root.dataset.state = 'error';
    return;
  }
  const wanted = new URLSearchParams(location.search).get('build');
  let state: State = { build: config.builds.find((b) => b.id === wanted) ?? config.builds[0], sample: 0 };
  select.value = state.build.id;

  const fail = (e: unknown) => {
    setStatus(status, message(e), 'error');
    root.dataset.state = 'error';
    go.disabled = !state.text || !state.relevance;
  };

  async function load(build: LiveBuild): Promise<void> {
    state = { build, sample: 0 };
    result.hidden = true;
    $('live-render').hidden = true; // until this build's renderer is open
    const off = $('live-render-off');
    off.hidden = build.synthesis !== undefined;
    off.textContent = build.synthesis ? '' : `Live edits are off for ${build.id}: ${build.renderOff ?? 'its generator is not on this page'}.`;
    go.disabled = true;
    root.dataset.state = 'loading';
    setStatus(status, `Loading ${build.encoder.id}'s text encoder (${build.text.tower}, ${build.text.size}), its tokenizer and the relevance table of ${build.id}…`, 'busy');
    const hooks = progressHooks($('live-progress'));
    try {
      const [text, relevance] = await Promise.all([LiveText.open(build, hooks), LiveRelevance.open(build, hooks)]);
      if (state.build !== build) return;
      Object.assign(state, { text, relevance });
      go.disabled = false;
      root.dataset.state = 'ready';
      root.dataset.tower = build.text.tower;
      const tower = build.text.tower === 'int8' ? `its int8 text tower (${build.text.agreement})` : 'its float32 text tower';
      setStatus(status, `Ready: ${build.encoder.id} (${build.encoder.origin}), ${tower}, and ${relevance.channels} channels of ${build.generator.id}. Type two prompts.`);
    } catch (e) {
      fail(e);
    }
    if (build.synthesis) {
      LiveRenderer.open(build).then(
        (r) => {
          if (state.build !== build) return;
          state.renderer = r;
          showSeeds();
          void render();
        },
        (e) => {
          if (state.build !== build) return;
          $('live-render').hidden = false;
          setStatus($('live-render-status'), message(e), 'error');
        },
      );
    }
  }

  function showSeeds(): void {
    const box = $('live-seeds');
    box.replaceChildren();
    state.build.sampleSeeds.slice(0, state.renderer?.count ?? 0).forEach((seed, k) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'chip';
      b.textContent = `seed ${seed}`;
      b.setAttribute('aria-pressed', String(k === state.sample));
      b.addEventListener('click', () => {
        state.sample = k;
        for (const c of box.children) c.setAttribute('aria-pressed', String(c === b));
        void render(true);
      });
      box.append(b);
    });
  }

  function showDirection(): void {
    const { dir, dt, prompts, build } = state;
    if (!dir || !dt || !prompts) return;
    $('live-beta-value').textContent = `${dir.beta.toFixed(2)}${dir.betaMode === 'auto' ? ' (auto)' : ''}`;
    $('live-active').textContent = String(dir.active);
    $('live-maxr').textContent = num(dir.maxAbsR, 3);
    $('live-norm').textContent = num(dt.normBefore, 3);
    $('live-cos').textContent = num(dt.cosine, 3);
    beta.value = String(dir.beta);
    const rows = dir.channels.slice(0, TOP).map((c) => {
      const tr = document.createElement('tr');
      const cells = [build.layers[c.layerIndex]?.name ?? String(c.layerIndex), String(c.channelInLayer), num(c.r), num(c.deltaS)];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (i > 0) td.className = i > 1 ? `num ${Number(text) >= 0 ? 'pos' : 'neg'}` : 'num';
        if (i === 0) td.className = 'mono';
        tr.append(td);
      });
      return tr;
    });
    $('live-channels').replaceChildren(...rows);
    $('live-more').textContent =
      dir.active === 0 ? `No channel has |r| ≥ β = ${dir.beta}; lower β (max |r| is ${num(dir.maxAbsR, 3)}).` : dir.active > TOP ? `Top ${TOP} of ${dir.active} by |Δs|; the download has them all.` : '';
    if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
    const link = $<HTMLAnchorElement>('live-download');
    try {
      state.downloadUrl = URL.createObjectURL(new Blob([liveDirectionJson(build, prompts.neutral, prompts.target, dir)], { type: 'application/json' }));
      link.href = state.downloadUrl;
      link.download = `${fileStem(prompts.neutral, prompts.target)}.json`;
      link.removeAttribute('aria-disabled');
    } catch (e) {
      link.setAttribute('aria-disabled', 'true');
      setStatus(status, message(e), 'error');
    }
    result.dataset.beta = String(dir.beta);
    result.dataset.active = String(dir.active);
    result.dataset.deltaT = JSON.stringify(Array.from(dt.deltaT));
    result.hidden = false;
  }

  // One synthesis run at a time; slider moves while it runs collapse into one more run.
  let rendering = false;
  let again = false;
  async function render(withBefore = false): Promise<void> {
    const r = state.renderer;
    if (!r) return;
    if (rendering) {
      again = true;
      return;
    }
    rendering = true;
    $('live-render').hidden = false;
    const a = Number(alpha.value);
    try {
      const before = $<HTMLCanvasElement>('live-before');
      if (withBefore || before.dataset.sample !== String(state.sample)) {
        paint(before, await r.render(state.sample, null, 0));
        before.dataset.sample = String(state.sample);
      }
      const after = $<HTMLCanvasElement>('live-after');
      paint(after, await r.render(state.sample, state.dir?.deltaS ?? null, a));
      after.dataset.alpha = String(a);
      after.dataset.active = String(state.dir?.active ?? 0);
      $('live-after-caption').textContent = state.dir ? `edited, α = ${a}` : 'edited (compute a direction first)';
      setStatus($('live-render-status'), `Rendered in your browser by ${state.build.generator.id}'s synthesis.onnx (${state.build.synthesis!.size}).`);
    } catch (e) {
      setStatus($('live-render-status'), message(e), 'error');
    }
    rendering = false;
    if (again) {
      again = false;
      void render();
    }
  }

  function paint(canvas: HTMLCanvasElement, img: ImageData): void {
    canvas.width = img.width;
    canvas.height = img.height;
    canvas.getContext('2d')!.putImageData(img, 0, 0);
  }

  $('live-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { text, relevance } = state;
    if (!text || !relevance) return;
    const neutral = $<HTMLInputElement>('live-neutral').value;
    const target = $<HTMLInputElement>('live-target').value;
    go.disabled = true;
    root.dataset.state = 'computing';
    setStatus(status, `Encoding ${2 * 79} template sentences with ${state.build.encoder.id}…`, 'busy');
    try {
      const dt = await text.deltaT(neutral, target);
      Object.assign(state, { dt, prompts: { neutral, target }, dir: relevance.direction(dt.deltaT, 'auto') });
      showDirection();
      root.dataset.state = 'done';
      setStatus(status, `Δs for “${neutral}” → “${target}” on ${state.build.id}: β chosen automatically; move the slider to change it.`);
      go.disabled = false;
      void render();
    } catch (e) {
      fail(e);
    }
  });
  beta.addEventListener('input', () => {
    if (!state.dt || !state.relevance) return;
    state.dir = state.relevance.direction(state.dt.deltaT, Math.round(Number(beta.value) * 100) / 100);
    showDirection();
    void render();
  });
  $('live-auto').addEventListener('click', () => {
    if (!state.dt || !state.relevance) return;
    state.dir = state.relevance.direction(state.dt.deltaT, 'auto');
    showDirection();
    void render();
  });
  alpha.addEventListener('input', () => {
    $('live-alpha-readout').textContent = `α = ${alpha.value}`;
    void render();
  });
  select.addEventListener('change', () => {
    const b = config.builds.find((x) => x.id === select.value)!;
    const ex = config.examples[b.id];
    if (ex) {
      $<HTMLInputElement>('live-neutral').value = ex.neutral;
      $<HTMLInputElement>('live-target').value = ex.target;
    }
    const [lo, hi] = b.alphaRange;
    Object.assign(alpha, { min: String(lo), max: String(hi), step: String((hi - lo) / 40), value: String(b.alphaDefault) });
    $('live-alpha-readout').textContent = `α = ${alpha.value}`;
    void load(b);
  });
  select.dispatchEvent(new Event('change'));
}
