/**
 * How far the live page's int8 text tower (pipeline/onnx/quantise.ts) agrees with float32: the
 * cosine of the two towers' Δt over the prompt pairs of each prompt catalogue given (docs/live-page.md
 * has the numbers). One JSON line per catalogue.
 *
 *   node bin/run-ts.mjs scripts/live-text-agreement.ts ENCODER_DIR data/prompts/faces.json data/prompts/colour-world.json
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Encoder } from '../pipeline/models/encoder.ts';
import { quantiseWeightsInt8 } from '../pipeline/onnx/quantise.ts';
import { measureAgreement, openTextVariant } from '../pipeline/stages/live-text.ts';
import { loadTemplates } from '../pipeline/stages/text-directions.ts';
import { loadPrompts, resolvePrompt } from '../pipeline/store/prompts.ts';

const [dir, ...catalogues] = process.argv.slice(2);
if (!dir || catalogues.length === 0) {
  console.error('usage: node bin/run-ts.mjs scripts/live-text-agreement.ts ENCODER_DIR PROMPTS.json…');
  process.exit(2);
}
const enc = await Encoder.open(dir, { parts: ['text'] });
const float32 = readFileSync(join(dir, 'text.onnx'));
const int8 = quantiseWeightsInt8(float32, `${dir}/text.onnx`);
const variant = await openTextVariant(enc, int8.bytes, 'int8', {});
const templates = loadTemplates();
try {
  for (const file of catalogues) {
    const cat = loadPrompts(file);
    const pairs = cat.prompts.map((p) => resolvePrompt(cat, p)).map((p) => ({ neutral: p.neutral, target: p.target }));
    const t0 = performance.now();
    const a = await measureAgreement(enc, variant, pairs, { templates });
    const mib = (n: number) => Number((n / 2 ** 20).toFixed(2));
    console.log(JSON.stringify({ encoder: enc.manifest.id, prompts: cat.id, float32MiB: mib(float32.length), int8MiB: mib(int8.bytes.length), ...a, seconds: Math.round((performance.now() - t0) / 1000) }));
  }
} finally {
  await variant.release();
  await enc.release();
}
