/**
 * The live direction, computed in the browser with the pipeline's own code: the CLIP tokenizer
 * (pipeline/text), t(p) and Δt (pipeline/core/directions.ts), the relevance table reader
 * (pipeline/store/relevance-arrow.ts), Δs by directionFromBuild (pipeline/stages/directions.ts)
 * and the .json download by directionJson. Only the text tower runs on onnxruntime-web.
 *
 * One difference from the pipeline remains: directionFromBuild scales by the build's float64 σ
 * (build.sqlite), which the site does not ship; here σ is relevance.arrow's float32 column. Δs is
 * float32 either way, so the two agree to about one float32 rounding (relative ≤ 2.4e-7).
 */
import TEMPLATES_JSON from '../../../../data/clip/imagenet-templates-79.json';
import { promptEmbedding, textDirection, type TextDirection } from '../../../../pipeline/core/directions.ts';
import { fail } from '../../../../pipeline/core/errors.ts';
import { assertFinite } from '../../../../pipeline/core/finite.ts';
import type { StyleLayout } from '../../../../pipeline/core/styles.ts';
import type { FinishedBuild } from '../../../../pipeline/stages/build-reader.ts';
import { type BuildDirection, directionFromBuild } from '../../../../pipeline/stages/directions.ts';
import { directionJson, splitByLayer } from '../../../../pipeline/store/direction-files.ts';
import { readRelevanceArrow } from '../../../../pipeline/store/relevance-arrow.ts';
import { type ClipTokenizer, createTokenizer } from '../../../../pipeline/text/tokenizer.ts';
import type { LiveBuild } from './config.ts';
import { type BrowserSession, openSession } from './runtime.ts';

export const TEMPLATES: readonly string[] = TEMPLATES_JSON;
/** As pipeline/stages/text-directions.ts (DEFAULT_TEXT_BATCH, MIN_NORM_BEFORE, fillTemplate), which reads files when it loads and so cannot be imported here. */
const TEXT_BATCH = 256;
const MIN_NORM_BEFORE = 1e-6;
const fillTemplate = (template: string, prompt: string) => template.split('{}').join(prompt);

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export class LiveText {
  private constructor(readonly build: LiveBuild, readonly tokenizer: ClipTokenizer, readonly session: BrowserSession) {}

  static async open(build: LiveBuild): Promise<LiveText> {
    const [json, session] = await Promise.all([fetchBytes(build.tokenizerUrl).then((b) => new TextDecoder().decode(b)), openSession(build.text.url)]);
    return new LiveText(build, createTokenizer(json), session);
  }

  /** E_PROMPT for an empty prompt, or one whose longest template expansion exceeds the context. */
  checkPrompt(prompt: string, role: 'neutral' | 'target'): void {
    if (prompt.trim() === '') fail('E_PROMPT', `the ${role} prompt is empty${prompt === '' ? '' : ' (only whitespace)'}`, 'give a few words, e.g. "photo"');
    let longest = '';
    let tokens = 0;
    for (const t of TEMPLATES) {
      const text = fillTemplate(t, prompt);
      const n = this.tokenizer.encode(text).length;
      if (n > tokens) [tokens, longest] = [n, text];
    }
    try {
      this.tokenizer.encodeBatch([longest], { contextLength: this.build.contextLength });
    } catch (e) {
      (e as Error).message = `the ${role} prompt is too long in its longest template: ${(e as Error).message}`;
      throw e;
    }
  }

  /** Δt = n(t(target) − t(neutral)) over the 79 templates, as pipeline/stages/text-directions.ts deltaT. */
  async deltaT(neutral: string, target: string): Promise<TextDirection> {
    this.checkPrompt(neutral, 'neutral');
    this.checkPrompt(target, 'target');
    const a = this.tokenizer.encode(neutral);
    const b = this.tokenizer.encode(target);
    if (a.length === b.length && a.every((id, i) => id === b[i])) {
      fail('E_PROMPT', 'neutral and target are the same prompt to CLIP (it lower-cases and collapses spaces): Δt is undefined', 'the target should add what the edit changes, e.g. "photo" → "red photo"');
    }
    const k = TEMPLATES.length;
    const d = this.build.dim;
    const ctx = this.build.contextLength;
    const texts = [...TEMPLATES.map((t) => fillTemplate(t, neutral)), ...TEMPLATES.map((t) => fillTemplate(t, target))];
    const embeds = new Float32Array(texts.length * d); // [2K, D], prompt-major
    for (let start = 0; start < texts.length; start += TEXT_BATCH) {
      const batch = this.tokenizer.encodeBatch(texts.slice(start, start + TEXT_BATCH), { contextLength: ctx }); // ids [b, 77]
      const out = await this.session.run({ input_ids: { type: 'int64', data: batch.ids, dims: [batch.batch, ctx] } });
      embeds.set(out.text_embeds, start * d); // [b, D]
    }
    assertFinite(embeds, `${this.build.encoder.id} text_embeds`);
    const dir = textDirection(promptEmbedding(embeds.subarray(0, k * d), k, d), promptEmbedding(embeds.subarray(k * d), k, d));
    if (!(dir.normBefore >= MIN_NORM_BEFORE)) {
      fail('E_NUMERIC', `${this.build.encoder.id} sees no difference between the prompts (‖t(target) − t(neutral)‖ = ${dir.normBefore.toExponential(2)})`, 'use words this encoder knows');
    }
    return dir;
  }
}

/** The build's relevance table as directionFromBuild reads it: Δi rows, channel index and σ. */
export class LiveRelevance {
  private constructor(readonly build: LiveBuild, private readonly finished: Pick<FinishedBuild, 'dim' | 'table' | 'sigma' | 'layout'>) {}

  static async open(build: LiveBuild): Promise<LiveRelevance> {
    const table = readRelevanceArrow(await fetchBytes(build.relevanceUrl));
    if (table.dim !== build.dim) fail('E_STORE', `relevance.arrow has D = ${table.dim}, the build says ${build.dim}`);
    const sigma = new Float64Array(build.total);
    for (let i = 0; i < table.rows; i++) sigma[table.channel[i]] = table.sigma[i];
    const layout: StyleLayout = { total: build.total, layers: build.layers };
    return new LiveRelevance(build, { dim: table.dim, table, sigma, layout });
  }

  get channels(): number {
    return this.finished.table.rows;
  }

  direction(deltaT: Float32Array, beta: number | 'auto'): BuildDirection {
    // directionFromBuild reads only dim, table, sigma and layout.total of a finished build.
    return directionFromBuild(this.finished as FinishedBuild, deltaT, beta, this.build.betaFloor);
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
