/**
 * The live direction, computed in the browser with the pipeline's own code: the CLIP tokenizer
 * (pipeline/text), t(p) and Δt (pipeline/core/directions.ts), the relevance table reader
 * (pipeline/store/relevance-arrow.ts), Δs by directionFromBuild (pipeline/core/directions.ts)
 * and the .json download by directionJson. Only the text tower runs on onnxruntime-web.
 *
 * One difference from the pipeline remains: directionFromBuild scales by the build's float64 σ
 * (build.sqlite), which the site does not ship; here σ is relevance.arrow's float32 column. Δs is
 * float32 either way, so the two agree to about one float32 rounding (relative ≤ 2.4e-7).
 */
import TEMPLATES_JSON from '../../../../data/clip/imagenet-templates-79.json';
import { type BuildDirection, type BuildRelevance, type TextDirection, directionFromBuild } from '../../../../pipeline/core/directions.ts';
import { fail } from '../../../../pipeline/core/errors.ts';
import { directionJson, splitByLayer } from '../../../../pipeline/store/direction-files.ts';
import { readRelevanceArrow } from '../../../../pipeline/store/relevance-arrow.ts';
import { type TextTower, checkPromptPair, checkedTextDirection, embedPrompts } from '../../../../pipeline/text/templates.ts';
import { type ClipTokenizer, createTokenizer } from '../../../../pipeline/text/tokenizer.ts';
import { type AssetHooks, loadAsset } from './assets.ts';
import type { LiveBuild } from './config.ts';
import { type BrowserSession, openSession } from './runtime.ts';

export const TEMPLATES: readonly string[] = TEMPLATES_JSON;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) fail('E_MISSING', `${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export class LiveText {
  private constructor(readonly build: LiveBuild, readonly tokenizer: ClipTokenizer, readonly session: BrowserSession) {}

  /** The tokenizer, and the text tower from the browser's cache or downloaded (progress through `hooks`). */
  static async open(build: LiveBuild, hooks: AssetHooks = {}): Promise<LiveText> {
    const label = `${build.encoder.id} text tower (${build.text.tower})`;
    const [json, model] = await Promise.all([fetchBytes(build.tokenizerUrl).then((b) => new TextDecoder().decode(b)), loadAsset({ ...build.text, label }, hooks)]);
    return new LiveText(build, createTokenizer(json), await openSession(build.text.url, model));
  }

  private tower(): TextTower {
    return {
      label: this.build.encoder.id,
      tokenizer: this.tokenizer,
      contextLength: this.build.contextLength,
      dim: this.build.dim,
      encode: async (ids, batch) => (await this.session.run({ input_ids: { type: 'int64', data: ids, dims: [batch, this.build.contextLength] } })).text_embeds,
    };
  }

  /** Δt = n(t(target) − t(neutral)) over the 79 templates, with the pipeline's own checks and maths. */
  async deltaT(neutral: string, target: string): Promise<TextDirection> {
    const tower = this.tower();
    checkPromptPair(tower, neutral, target);
    const [tNeutral, tTarget] = await embedPrompts(tower, [neutral, target], TEMPLATES);
    return checkedTextDirection(tower.label, neutral, target, tNeutral, tTarget);
  }
}

/** The build's relevance table as directionFromBuild reads it: Δi rows, channel index and σ. */
export class LiveRelevance {
  private constructor(readonly build: LiveBuild, private readonly relevance: BuildRelevance) {}

  static async open(build: LiveBuild, hooks: AssetHooks = {}): Promise<LiveRelevance> {
    const table = readRelevanceArrow(await loadAsset({ ...build.relevance, label: `${build.id} relevance table` }, hooks));
    if (table.dim !== build.dim) fail('E_STORE', `relevance.arrow has D = ${table.dim}, the build says ${build.dim}`);
    return new LiveRelevance(build, { ...table, total: build.total });
  }

  get channels(): number {
    return this.relevance.rows;
  }

  direction(deltaT: Float32Array, beta: number | 'auto'): BuildDirection {
    return directionFromBuild(this.relevance, deltaT, beta, this.build.betaFloor);
  }
}

/** The direction as the catalogue's .json download (format styleatlas-direction/1). */
export function liveDirectionJson(build: LiveBuild, neutral: string, target: string, d: BuildDirection): string {
  return directionJson({
    layers: splitByLayer(d.deltaS, build.layers),
    metadata: {
      neutral, target, beta: d.beta, alphaRange: build.alphaRange, alphaDefault: build.alphaDefault, activeChannels: d.active,
      generator: { id: build.generator.id, sha256: build.generator.sha256 }, encoder: { id: build.encoder.id, sha256: build.encoder.sha256 },
      buildId: build.id, toolVersion: `${build.toolVersion} (browser)`,
    },
  });
}
