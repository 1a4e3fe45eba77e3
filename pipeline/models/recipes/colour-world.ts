/**
 * The colour-world encoder bundle: CLIP's contract, hand-built embeddings of measurable colour,
 * brightness, saturation and contrast (pipeline/onnx/colour-world*.ts, docs/colour-world.md).
 * Built from code in a second or two; identical bytes on every machine.
 */
import { readFileSync } from 'node:fs';
import { AXES, EMBED_DIM, FEATURE_AXES, resolveVocabulary } from '../../onnx/colour-world-space.ts';
import { buildColourWorldText, buildColourWorldVisual } from '../../onnx/colour-world.ts';
import { clipTokenizerJson } from '../../text/bpe.ts';
import { CONTEXT_LENGTH, createTokenizer } from '../../text/tokenizer.ts';
import type { Bundle } from '../bundle.ts';
import { CLIP_MEAN, CLIP_STD, writeEncoderBundle } from '../encoder-bundle.ts';
import { TOOL_VERSION } from '../../version.ts';
import type { Recipe } from './recipe.ts';

/** OpenAI's BPE vocabulary, shipped in the repository (MIT licence beside it). */
const CLIP_VOCAB = new URL('../../../data/clip/bpe_simple_vocab_16e6.txt.gz', import.meta.url);

/** CLIP ViT's input size, so the preprocessing path is the one real encoders take. */
export const COLOUR_WORLD_IMAGE_SIZE = 224;

const SUMMARY =
  'Colour-world: hand-built image/text embeddings of measured colour, brightness, saturation and contrast (whole frame and five regions), with a vocabulary of the words that name them — the semantic oracle';

/** Write the bundle for a tokenizer.json (the full CLIP vocabulary, so prompts tokenize as CLIP's do). */
export async function writeColourWorldBundle(outDir: string, tokenizerJson: string, log: (m: string) => void = () => {}): Promise<Bundle> {
  const tok = createTokenizer(tokenizerJson);
  const vocabulary = resolveVocabulary(tok.encode);
  log(`colour-world: ${vocabulary.tokens.size} one-token words, ${vocabulary.phrases.length} several-token words and phrases`);
  const meta = { metadata: { 'styleatlas.bundle': 'colour-world', 'colour-world.axes': AXES.join(',') }, producerVersion: TOOL_VERSION };
  const spec = { imageSize: COLOUR_WORLD_IMAGE_SIZE, mean: CLIP_MEAN, std: CLIP_STD };
  return writeEncoderBundle(outDir, {
    id: 'colour-world',
    description: SUMMARY,
    origin: {
      type: 'hand-built',
      note: 'not a trained model: image embeddings are measured pixel statistics on named axes, text embeddings sum the vectors of a fixed vocabulary (docs/colour-world.md)',
    },
    architecture: {
      family: 'colour-world',
      imageSize: spec.imageSize,
      embedDim: EMBED_DIM,
      contextLength: CONTEXT_LENGTH,
      mean: CLIP_MEAN,
      std: CLIP_STD,
      details: { featureAxes: FEATURE_AXES.length, axes: AXES.join(','), vocabularyTokens: vocabulary.tokens.size, phrases: vocabulary.phrases.length },
    },
    tokenizer: { vocabSize: tok.vocabSize, sot: tok.sot, eot: tok.eot },
    visualOnnx: buildColourWorldVisual(spec).toBytes(meta),
    textOnnx: buildColourWorldText({ vocabulary, vocabSize: tok.vocabSize, contextLength: CONTEXT_LENGTH }).toBytes(meta),
    tokenizerJson,
  });
}

export const colourWorldRecipe: Recipe = {
  id: 'colour-world',
  kind: 'encoder',
  summary: SUMMARY,
  onDemand: false,
  async build(outDir, ctx) {
    ctx.log('colour-world: writing tokenizer.json from the full CLIP vocabulary');
    return writeColourWorldBundle(outDir, clipTokenizerJson(readFileSync(CLIP_VOCAB)), ctx.log);
  },
};
