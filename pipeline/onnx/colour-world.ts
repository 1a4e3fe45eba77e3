/**
 * The colour-world encoder: hand-built graphs with the CLIP contract (DESIGN §3) whose embeddings
 * are measured image properties and the words that name them (./colour-world-space.ts,
 * docs/colour-world.md). It is the method's semantic oracle: "red" means redder pixels.
 *
 *   visual: pixel_values [B, 3, S, S] → image_embeds [B, D]
 *   text:   input_ids [B, 77] int64   → text_embeds [B, D]
 * Neither output is normalised, as CLIP's projections are not.
 */
import { GraphBuilder, attr } from './graph.ts';
import { f32 } from './params.ts';
import {
  AXES, FEATURE_AXES, IMAGE_AXIS, IMAGE_COMMON, LUMA, NEUTRAL, PROMPT_AXIS, PROMPT_COMMON, REGIONS, REGION_TONES,
  type ResolvedVocabulary, TONES, WORD_SLOTS, axisIndex,
} from './colour-world-space.ts';

export interface ColourWorldVisualSpec {
  imageSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** [features.length, D]: feature k goes to the axis of the same name, at full weight. */
function placement(features: readonly string[]): Float32Array {
  const m = new Float32Array(features.length * AXES.length);
  features.forEach((name, k) => (m[k * AXES.length + axisIndex(name)] = 1));
  return m;
}

/** Like placement, but a region axis `r.t` receives mean_r(t) − mean_whole(t) (its feature minus feature `t`). */
function regionRelativePlacement(features: readonly string[]): Float32Array {
  const m = placement(features);
  features.forEach((name) => {
    const tone = name.split('.')[1];
    if (tone) m[features.indexOf(tone) * AXES.length + axisIndex(name)] = -1;
  });
  return m;
}

/** Is pixel row/column i (of `size`) in a region, judged by its centre? */
function inRegion(region: string, axis: 'row' | 'col', i: number, size: number): boolean {
  const c = (i + 0.5) / size;
  if (region === 'centre') return c > 0.25 && c < 0.75;
  if (axis === 'row' && region === 'top') return c < 0.5;
  if (axis === 'row' && region === 'bottom') return c > 0.5;
  if (axis === 'col' && region === 'left') return c < 0.5;
  if (axis === 'col' && region === 'right') return c > 0.5;
  return true; // 'whole', and the axis a region does not restrict
}

/** Averaging weights [1 + regions, S] along one axis: each row sums to 1 over its region. */
function regionWeights(axis: 'row' | 'col', size: number): Float32Array {
  const names = ['whole', ...REGIONS];
  const w = new Float32Array(names.length * size);
  names.forEach((r, k) => {
    const count = Array.from({ length: size }, (_, i) => inRegion(r, axis, i, size)).filter(Boolean).length;
    for (let i = 0; i < size; i++) if (inRegion(r, axis, i, size)) w[k * size + i] = 1 / count;
  });
  return w;
}

/** The image side: measure, centre on the neutral values (regions on the whole frame), place on the axes. */
export function buildColourWorldVisual(spec: ColourWorldVisualSpec): GraphBuilder {
  const S = spec.imageSize;
  const R = 1 + REGIONS.length;
  const g = new GraphBuilder('colour_world_visual');
  const pv = g.input('pixel_values', 'float32', ['batch', 3, S, S]);
  // Undo CLIP's normalisation: pixel_values·std + mean, clamped to displayable RGB.
  const std = g.constF32('std', spec.std, [1, 3, 1, 1]);
  const mean = g.constF32('mean', spec.mean, [1, 3, 1, 1]);
  const rgb = g.op('Clip', [g.op('Add', [g.op('Mul', [pv, std]), mean]), g.constF32('zero', [0], []), g.constF32('one', [1], [])], {}, 'rgb'); // [B, 3, S, S]
  const luma = g.op('Conv', [rgb, g.constF32('luma_weights', LUMA, [1, 3, 1, 1])], {}, 'luma'); // [B, 1, S, S]
  const chroma = g.op('Sub', [rgb, luma], {}, 'chroma'); // [B, 3, S, S]: channel − Y, 0 for greys
  const planes = g.op('Concat', [chroma, luma], { axis: attr.i(1) }); // [B, 4, S, S]: R−Y, G−Y, B−Y, Y

  // Region means as two contractions with separable weights (regions are products of row and column sets).
  const rowsRS = g.constant('region_rows', f32([R, S], regionWeights('row', S)));
  const colsRS = g.constant('region_cols', f32([R, S], regionWeights('col', S)));
  const byRow = g.op('MatMul', [rowsRS, planes]); // [R, S] @ [B, 4, S, S] -> [B, 4, R, S]
  const means = g.op('ReduceSum', [g.op('Mul', [byRow, colsRS]), g.constI64('axes_last', [3])], { keepdims: attr.i(0) }); // [B, 4, R]
  const perRegion = g.op('Transpose', [means], { perm: attr.ints([0, 2, 1]) }); // [B, R, 4]
  const regionFeatures = g.op('Reshape', [perRegion, g.constI64('shape_regions', [0, R * 4])]); // [B, R·4]

  // Saturation: mean HSV chroma max(R,G,B) − min(R,G,B); contrast: standard deviation of Y.
  const spread = g.op('Sub', [
    g.op('ReduceMax', [rgb], { axes: attr.ints([1]), keepdims: attr.i(1) }),
    g.op('ReduceMin', [rgb], { axes: attr.ints([1]), keepdims: attr.i(1) }),
  ]); // [B, 1, S, S]
  const saturation = g.op('Flatten', [g.op('ReduceMean', [spread], { axes: attr.ints([1, 2, 3]), keepdims: attr.i(1) })], {}, 'saturation'); // [B, 1]
  const lumaMean = g.op('ReduceMean', [luma], { axes: attr.ints([2, 3]), keepdims: attr.i(1) }); // [B, 1, 1, 1]
  const dev = g.op('Sub', [luma, lumaMean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [dev, dev])], { axes: attr.ints([1, 2, 3]), keepdims: attr.i(1) });
  const contrast = g.op('Flatten', [g.op('Sqrt', [variance])], {}, 'contrast'); // [B, 1]

  const features = g.op('Concat', [regionFeatures, saturation, contrast], { axis: attr.i(1) }, 'features'); // [B, 26]
  const names = [
    ...['whole', ...REGIONS].flatMap((r) => REGION_TONES.map((t) => (r === 'whole' ? t : `${r}.${t}`))),
    'saturation',
    'contrast',
  ];
  // e = M·f − neutral + common: M places each feature on its axis (regions relative to the whole
  // frame); the offset holds the whole-frame neutral values and the image axis.
  const offset = new Float32Array(AXES.length);
  for (const name of names) if (!name.includes('.')) offset[axisIndex(name)] = -(NEUTRAL[name] ?? 0);
  offset[axisIndex(IMAGE_AXIS)] = IMAGE_COMMON;
  const place = g.constant('feature_axes', f32([names.length, AXES.length], regionRelativePlacement(names)));
  const embeds = g.op('Add', [g.op('MatMul', [features, place]), g.constF32('image_offset', offset)]); // [B, D]
  g.output(embeds, 'image_embeds', 'float32', ['batch', AXES.length]);
  return g;
}

export interface ColourWorldTextSpec {
  vocabulary: ResolvedVocabulary;
  /** Rows of the lookup table: the tokenizer's vocabulary size. */
  vocabSize: number;
  contextLength: number;
}

/** The text side: sum the word vectors of the prompt, spread colour onto named regions, place. */
export function buildColourWorldText(spec: ColourWorldTextSpec): GraphBuilder {
  const { vocabulary, vocabSize, contextLength: L } = spec;
  const g = new GraphBuilder('colour_world_text');
  const ids = g.input('input_ids', 'int64', ['batch', L]);

  const table = new Float32Array(vocabSize * WORD_SLOTS); // every other token, sot and eot included, is zero
  for (const [id, v] of vocabulary.tokens) table.set(v, id * WORD_SLOTS);
  const rows = g.op('Gather', [g.constant('word_vectors', f32([vocabSize, WORD_SLOTS], table)), ids], { axis: attr.i(0) }); // [B, L, W]
  // Positions before <|endoftext|> (the largest id, found as CLIP's text pooling finds it), so
  // padding — zeros or repeated <|endoftext|> — never counts.
  const eot = g.op('ArgMax', [ids], { axis: attr.i(1), keepdims: attr.i(1) }); // [B, 1]
  const positions = g.constI64('positions', Array.from({ length: L }, (_, i) => i), [1, L]);
  const inText = g.op('Cast', [g.op('Less', [positions, eot])], { to: attr.i(1) }, 'in_text'); // [B, L] float
  const axisTwo = g.constI64('axis_2', [2]);
  const axisOne = g.constI64('axis_1', [1]);
  let words = g.op('ReduceSum', [g.op('Mul', [rows, g.op('Unsqueeze', [inText, axisTwo])]), axisOne], { keepdims: attr.i(0) }); // [B, W]

  // Several-token words and phrases: count each n-gram, add its correction.
  const lengths = [...new Set(vocabulary.phrases.map((p) => p.pieces.length))].sort((a, b) => a - b);
  for (const n of lengths) {
    const group = vocabulary.phrases.filter((p) => p.pieces.length === n);
    const P = L - n + 1; // possible start positions
    let hit = '';
    for (let k = 0; k < n; k++) {
      const window = g.op('Slice', [ids, g.constI64('start', [k]), g.constI64('end', [k + P]), axisOne]); // [B, P]
      const pieceK = g.constI64(`ngram${n}_piece${k}`, group.map((p) => p.pieces[k]), [1, 1, group.length]);
      const eq = g.op('Equal', [g.op('Unsqueeze', [window, axisTwo]), pieceK]); // [B, P, M]
      hit = k === 0 ? eq : g.op('And', [hit, eq]);
    }
    const ends = g.op('Slice', [inText, g.constI64('start', [n - 1]), g.constI64('end', [n - 1 + P]), axisOne]); // [B, P]: last piece in the text
    const hits = g.op('Mul', [g.op('Cast', [hit], { to: attr.i(1) }), g.op('Unsqueeze', [ends, axisTwo])]);
    const counts = g.op('ReduceSum', [hits, axisOne], { keepdims: attr.i(0) }); // [B, M]
    const corrections = new Float32Array(group.length * WORD_SLOTS);
    group.forEach((p, m) => corrections.set(p.correction, m * WORD_SLOTS));
    const c = g.constant(`ngram${n}_corrections`, f32([group.length, WORD_SLOTS], corrections));
    words = g.op('Add', [words, g.op('MatMul', [counts, c])]); // [B, W]
  }

  // Region words carry the colour and brightness slots onto their region's axes (an outer product).
  const T = TONES.length;
  const tones = g.op('Slice', [words, g.constI64('start', [0]), g.constI64('end', [T]), axisOne]); // [B, 6]
  const where = g.op('Slice', [words, g.constI64('start', [T]), g.constI64('end', [WORD_SLOTS]), axisOne]); // [B, 5]
  const colour = g.op('Slice', [tones, g.constI64('start', [0]), g.constI64('end', [REGION_TONES.length]), axisOne]); // [B, 4]
  const regional = g.op('Mul', [g.op('Unsqueeze', [where, axisTwo]), g.op('Unsqueeze', [colour, axisOne])]); // [B, 5, 1]·[B, 1, 4] -> [B, 5, 4]
  const flat = g.op('Reshape', [regional, g.constI64('shape_regional', [0, REGIONS.length * REGION_TONES.length])]); // [B, 20]
  const features = g.op('Concat', [tones, flat], { axis: attr.i(1) }, 'features'); // [B, 26] in FEATURE_AXES order
  const common = new Float32Array(AXES.length);
  common[axisIndex(PROMPT_AXIS)] = PROMPT_COMMON;
  const place = g.constant('feature_axes', f32([FEATURE_AXES.length, AXES.length], placement(FEATURE_AXES)));
  const embeds = g.op('Add', [g.op('MatMul', [features, place]), g.constF32('prompt_offset', common)]); // [B, D]
  g.output(embeds, 'text_embeds', 'float32', ['batch', AXES.length]);
  return g;
}
