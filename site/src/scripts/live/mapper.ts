/**
 * A catalogue mapper applied live in the browser: the gallery samples' W+ codes (samples-ws.npy)
 * → mapper.onnx (ws + strength·0.1·M_t(ws)) → the generator's styles.onnx → synthesis.onnx →
 * pixels, all with onnxruntime-web on this site's files. Data is only written with textContent;
 * the rendered pixels stay on the canvases for the e2e test to read.
 */
import { fail, isStyleAtlasError } from '../../../../pipeline/core/errors.ts';
import { toRGB8 } from '../../../../pipeline/core/image.ts';
import { decodeNpy } from '../../../../pipeline/store/npy.ts';
import { type BrowserSession, openSession } from './runtime.ts';

export interface LiveMapperConfig {
  mapperUrl: string;
  stylesUrl: string;
  synthesisUrl: string;
  samplesWsUrl: string;
  sampleSeeds: number[];
  numWs: number;
  wDim: number;
  resolution: number;
  /** The styles.onnx outputs that are synthesis.onnx inputs, with their widths. */
  styles: { input: string; channels: number }[];
}

export class LiveMapper {
  private constructor(
    readonly cfg: LiveMapperConfig,
    private readonly mapper: BrowserSession,
    private readonly styles: BrowserSession,
    private readonly synthesis: BrowserSession,
    private readonly ws: Float32Array,
    readonly count: number,
  ) {}

  static async open(cfg: LiveMapperConfig): Promise<LiveMapper> {
    const [mapper, styles, synthesis, bytes] = await Promise.all([
      openSession(cfg.mapperUrl),
      openSession(cfg.stylesUrl),
      openSession(cfg.synthesisUrl),
      fetch(cfg.samplesWsUrl).then(async (r) => (r.ok ? new Uint8Array(await r.arrayBuffer()) : fail('E_MISSING', `${cfg.samplesWsUrl}: HTTP ${r.status}`))),
    ]);
    const npy = decodeNpy(bytes, 'samples-ws.npy');
    if (npy.dtype !== 'float32' || npy.shape.length !== 3 || npy.shape[1] !== cfg.numWs || npy.shape[2] !== cfg.wDim) {
      fail('E_SHAPE', `samples-ws.npy: expected float32 [K, ${cfg.numWs}, ${cfg.wDim}], found ${npy.dtype} [${npy.shape}]`);
    }
    return new LiveMapper(cfg, mapper, styles, synthesis, npy.data as Float32Array, npy.shape[0]);
  }

  /** RGBA pixels of sample `k` edited at `strength` (0: the sample as it is). */
  async render(k: number, strength: number): Promise<ImageData> {
    const { numWs, wDim, resolution: res } = this.cfg;
    const ws = this.ws.slice(k * numWs * wDim, (k + 1) * numWs * wDim); // [1, num_ws, w_dim]
    const { ws_edited } = await this.mapper.run({ ws: { type: 'float32', data: ws, dims: [1, numWs, wDim] }, strength: { type: 'float32', data: Float32Array.of(strength), dims: [] } });
    const s = await this.styles.run({ ws: { type: 'float32', data: ws_edited, dims: [1, numWs, wDim] } });
    const feeds = Object.fromEntries(this.cfg.styles.map((l) => [l.input, { type: 'float32' as const, data: s[l.input], dims: [1, l.channels] }]));
    const { image } = await this.synthesis.run(feeds);
    const rgb = toRGB8(image, 0, res, res);
    const rgba = new Uint8ClampedArray(res * res * 4);
    for (let p = 0; p < res * res; p++) {
      rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = 255;
    }
    return new ImageData(rgba, res, res);
  }
}

const $ = <T extends HTMLElement = HTMLElement>(root: HTMLElement, sel: string) => root.querySelector(sel) as T;

export function initLiveMapper(): void {
  const root = document.getElementById('live-mapper');
  if (!root) return;
  const cfg = JSON.parse($(root, '#live-mapper-config').textContent!) as LiveMapperConfig;
  const status = $(root, '#live-mapper-status');
  const slider = $<HTMLInputElement>(root, '#live-strength');
  const readout = $(root, '#live-strength-readout');
  const seeds = $(root, '#live-mapper-seeds');
  const paint = (canvas: HTMLCanvasElement, img: ImageData) => {
    canvas.width = img.width;
    canvas.height = img.height;
    canvas.getContext('2d')!.putImageData(img, 0, 0);
  };
  const say = (text: string, kind: 'busy' | 'error' | 'ok') => {
    status.textContent = text;
    status.classList.toggle('busy', kind === 'busy');
    status.classList.toggle('error', kind === 'error');
  };
  let live: LiveMapper | undefined;
  let sample = 0;
  let pending = Promise.resolve();
  const draw = () => {
    pending = pending.then(async () => {
      if (!live) return;
      const strength = Number(slider.value);
      readout.textContent = `strength = ${strength}`;
      paint($(root, '#live-mapper-before'), await live.render(sample, 0));
      paint($(root, '#live-mapper-after'), await live.render(sample, strength));
      root.dataset.state = 'ready';
      root.dataset.rendered = `${sample}:${strength}`;
    }).catch((e) => {
      say(isStyleAtlasError(e) ? `${e.code}: ${e.message}` : `Something failed: ${(e as Error).message}`, 'error');
      root.dataset.state = 'error';
    });
  };
  say('Loading the mapper and the generator…', 'busy');
  LiveMapper.open(cfg).then((m) => {
    live = m;
    cfg.sampleSeeds.slice(0, m.count).forEach((seed, k) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'chip';
      b.textContent = `seed ${seed}`;
      b.setAttribute('aria-pressed', String(k === 0));
      b.addEventListener('click', () => {
        sample = k;
        for (const other of seeds.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === b));
        draw();
      });
      seeds.append(b);
    });
    say('Ready: drag the strength.', 'ok');
    draw();
  }, (e) => {
    say(isStyleAtlasError(e) ? `${e.code}: ${e.message}` : `Could not load: ${(e as Error).message}`, 'error');
    root.dataset.state = 'error';
  });
  slider.addEventListener('input', draw);
}
