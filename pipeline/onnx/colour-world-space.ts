/**
 * The colour-world embedding space: its axes, what each measures in an image, and the words that
 * point along them. Pure data and maths; the graphs are in ./colour-world.ts, the prose in
 * docs/colour-world.md. Every axis is one standard basis vector of R^D, so an embedding can be
 * read off by name (`AXES[i]`).
 */

/**
 * Measured over the whole image. The first four are also measured per region, as the region's
 * mean minus the whole image's: a region axis says how much redder (or brighter) that part of the
 * frame is than the frame, so a change that is the same everywhere moves only the whole-image
 * axes, and "red" and "red top" can point at different changes.
 */
export const TONES = ['red', 'green', 'blue', 'brightness', 'saturation', 'contrast'] as const;
export type Tone = (typeof TONES)[number];
export const REGION_TONES = ['red', 'green', 'blue', 'brightness'] as const;
export const REGIONS = ['top', 'bottom', 'left', 'right', 'centre'] as const;
export type Region = (typeof REGIONS)[number];

/** The 26 feature axes, then the two common axes; D − 28 more axes stay zero (room to grow). */
export const FEATURE_AXES: readonly string[] = [...TONES, ...REGIONS.flatMap((r) => REGION_TONES.map((t) => `${r}.${t}`))];
export const IMAGE_AXIS = 'image';
export const PROMPT_AXIS = 'prompt';
export const EMBED_DIM = 32;
export const AXES: readonly string[] = [
  ...FEATURE_AXES,
  IMAGE_AXIS,
  PROMPT_AXIS,
  ...Array.from({ length: EMBED_DIM - FEATURE_AXES.length - 2 }, (_, i) => `unused.${i}`),
];

export function axisIndex(name: string): number {
  const i = AXES.indexOf(name);
  if (i < 0) throw new RangeError(`colour-world has no axis "${name}"`);
  return i;
}

/** Rec. 601 luma weights: brightness is Y = 0.299 R + 0.587 G + 0.114 B. */
export const LUMA: readonly [number, number, number] = [0.299, 0.587, 0.114];

/**
 * The value each feature is measured from: a mid-grey image has brightness 0.5; a typical photo
 * has mean HSV chroma (max − min) and luminance standard deviation around 0.2. The colour axes
 * are chroma (channel − Y), zero for every grey, so they need no offset.
 */
export const NEUTRAL: Readonly<Record<string, number>> = { brightness: 0.5, saturation: 0.2, contrast: 0.2 };

/**
 * Constants on the common axes. They are large on purpose: every image shares the `image`
 * component and every prompt the `prompt` component, as CLIP's embeddings share a large common
 * part. Then n(E) changes almost linearly with the features, and Δt = n(t(target) − t(neutral))
 * points along the target's words: for one word, its cosine with the word is
 * 1/√(1 + (c − √(1 + c²))²) — 0.92 for c = 1, 0.97 for c = 2, 0.71 for a "small" c → 0 (then
 * t(neutral) is the bare prompt axis and makes up half of Δt). With c = 2, "a photo" and
 * "a red photo" have cosine 2/√5 ≈ 0.89, about what CLIP gives such pairs. The two axes differ,
 * so they never meet in an image–text cosine; they only scale it, as CLIP's cosines are scaled.
 */
export const IMAGE_COMMON = 1;
export const PROMPT_COMMON = 2;

/** Where a word points: tone weights (normalised to length 1) and/or a region it names. */
export interface Meaning {
  tone?: Partial<Record<Tone, number>>;
  region?: Region;
}

/** The chroma an image of colour (r, g, b) has on the red/green/blue axes: channel − luma. */
export function chromaOf(r: number, g: number, b: number): Partial<Record<Tone, number>> {
  const y = LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
  return { red: r - y, green: g - y, blue: b - y };
}

function colour(r: number, g: number, b: number, brightness = 0): Meaning {
  const c = chromaOf(r, g, b);
  const n = Math.hypot(c.red!, c.green!, c.blue!);
  return { tone: { red: c.red! / n, green: c.green! / n, blue: c.blue! / n, brightness } };
}

const up = (t: Tone, w = 1): Meaning => ({ tone: { [t]: w } });
const lessColour = { tone: { saturation: -1 } } satisfies Meaning;

/**
 * The vocabulary. Keys are words or phrases as a prompt writes them; the tokenizer decides at
 * build time which are one token and which are several (see resolveVocabulary). Everything not
 * listed — templates, function words, nouns — is neutral (zero).
 */
export const VOCABULARY: Readonly<Record<string, Meaning>> = {
  // Hues: the direction of that colour's chroma, so "red" points where red images lie.
  red: colour(1, 0, 0),
  green: colour(0, 1, 0),
  blue: colour(0, 0, 1),
  yellow: colour(1, 1, 0),
  cyan: colour(0, 1, 1),
  magenta: colour(1, 0, 1),
  purple: colour(1, 0, 1),
  violet: colour(0.5, 0, 1),
  orange: colour(1, 0.5, 0),
  pink: colour(1, 0.4, 0.7, 0.5),
  brown: colour(0.6, 0.3, 0.1, -0.5),
  // Achromatic colours.
  white: { tone: { brightness: 1, saturation: -0.5 } },
  black: { tone: { brightness: -1, saturation: -0.5 } },
  grey: lessColour,
  gray: lessColour,
  // Brightness.
  bright: up('brightness'),
  brighter: up('brightness'),
  light: up('brightness'),
  lighter: up('brightness'),
  dark: up('brightness', -1),
  darker: up('brightness', -1),
  dim: up('brightness', -1),
  // Saturation.
  vivid: up('saturation'),
  vibrant: up('saturation'),
  colorful: up('saturation'),
  colourful: up('saturation'),
  saturated: up('saturation'),
  dull: lessColour,
  muted: lessColour,
  desaturated: lessColour,
  monochrome: lessColour,
  greyscale: lessColour,
  grayscale: lessColour,
  'black and white': lessColour,
  pale: { tone: { saturation: -1, brightness: 0.5 } },
  // Contrast: "high" and "low" mean nothing alone ("low light", "high up"), so only the phrases count.
  'high contrast': up('contrast'),
  'high-contrast': up('contrast'),
  contrasty: up('contrast'),
  'low contrast': up('contrast', -1),
  'low-contrast': up('contrast', -1),
  // Regions: they carry the prompt's colour and brightness words to that part of the frame.
  top: { region: 'top' },
  upper: { region: 'top' },
  bottom: { region: 'bottom' },
  lower: { region: 'bottom' },
  left: { region: 'left' },
  right: { region: 'right' },
  centre: { region: 'centre' },
  center: { region: 'centre' },
  middle: { region: 'centre' },
};

/** Per-token slots of the text side: the six tones, then one count per region. */
export const WORD_SLOTS = TONES.length + REGIONS.length;

/** A meaning as its word vector [WORD_SLOTS]: tones normalised to length 1, region as a 1. */
export function wordVector(m: Meaning): Float64Array {
  const v = new Float64Array(WORD_SLOTS);
  const entries = Object.entries(m.tone ?? {}) as [Tone, number][];
  const norm = Math.hypot(...entries.map(([, w]) => w));
  for (const [t, w] of entries) v[TONES.indexOf(t)] = w / norm;
  if (m.region) v[TONES.length + REGIONS.indexOf(m.region)] = 1;
  return v;
}

export interface Phrase {
  text: string;
  /** Token ids in order, without <|startoftext|>/<|endoftext|>. */
  pieces: number[];
  /** What the whole phrase adds on top of its pieces' own vectors [WORD_SLOTS]. */
  correction: Float64Array;
}

export interface ResolvedVocabulary {
  /** One-token words: token id → word vector. */
  tokens: Map<number, Float64Array>;
  /** Words and phrases of several tokens, found as n-grams in the graph. */
  phrases: Phrase[];
}

/**
 * Find each vocabulary entry's token ids with the encoder's tokenizer (`encode` gives
 * <|startoftext|> … <|endoftext|>). One-token entries become rows of the lookup table. An entry of
 * several tokens cannot be a row: its pieces are shared with other words ("cyan" is `cy` + `an</w>`,
 * and `an</w>` is the article), so it is matched as an n-gram and adds its vector minus what its
 * pieces already add ("desaturated" = `de` + `saturated</w>` adds −saturation − (+saturation)).
 */
export function resolveVocabulary(encode: (text: string) => number[], vocabulary: Readonly<Record<string, Meaning>> = VOCABULARY): ResolvedVocabulary {
  const split = Object.entries(vocabulary).map(([text, m]) => ({ text, m, ids: encode(text).slice(1, -1) }));
  const tokens = new Map<number, Float64Array>();
  const owner = new Map<number, string>();
  for (const { text, m, ids } of split) {
    if (ids.length === 0) throw new RangeError(`colour-world vocabulary entry "${text}" encodes to no tokens`);
    if (ids.length !== 1) continue;
    if (owner.has(ids[0])) throw new RangeError(`colour-world vocabulary: "${text}" and "${owner.get(ids[0])}" are the same token ${ids[0]}`);
    owner.set(ids[0], text);
    tokens.set(ids[0], wordVector(m));
  }
  const phrases: Phrase[] = [];
  const seen = new Map<string, string>();
  for (const { text, m, ids } of split) {
    if (ids.length === 1) continue;
    const key = ids.join(' ');
    if (seen.has(key)) throw new RangeError(`colour-world vocabulary: "${text}" and "${seen.get(key)}" are the same tokens ${key}`);
    seen.set(key, text);
    const correction = wordVector(m);
    for (const id of ids) tokens.get(id)?.forEach((w, k) => (correction[k] -= w));
    phrases.push({ text, pieces: ids, correction });
  }
  return { tokens, phrases };
}
