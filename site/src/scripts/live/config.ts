/** What the live page knows about each build it can run, baked into the page at build time. */
import type { LayerInfo } from '../../../../pipeline/core/styles.ts';

export interface LiveBuild {
  id: string;
  generator: { id: string; sha256: string; origin: string };
  encoder: { id: string; sha256: string; origin: string };
  /**
   * The encoder's text tower (catalogue live asset, with the bytes and sha256 the browser checks
   * and caches it by): float32 as the bundle has it, or the catalogue's int8 copy with its
   * measured Δt agreement with float32 (stages/live-text.ts).
   */
  text: { url: string; size: string; bytes: number; sha256: string; tower: 'float32' | 'int8'; agreement?: string };
  tokenizerUrl: string;
  contextLength: number;
  dim: number;
  relevance: { url: string; bytes: number; sha256: string };
  samplesUrl: string;
  sampleSeeds: number[];
  /** Absent when the generator is too large to run in a browser. */
  synthesis?: { url: string; size: string; resolution: number };
  /** Why there is no synthesis to render with, when there is none. */
  renderOff?: string;
  /** Style layers in generator order: synthesis input name and place in s [C_total]. */
  layers: (LayerInfo & { offset: number; input: string })[];
  total: number;
  /** Auto-β floor, α range and default of this build's catalogue prompts. */
  betaFloor: number;
  alphaRange: [number, number];
  alphaDefault: number;
  toolVersion: string;
}

export interface LiveConfig {
  builds: LiveBuild[];
}
