/**
 * Prompt catalogues (`data/prompts/*.json`): the (neutral, target) pairs a catalogue build turns
 * into directions, with suggested α and β. Validated once at load; an error names the entry, the
 * field, what was expected and what was found, and carries E_INPUT.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ALPHA_LIMITS } from '../core/directions.ts';
import { fail } from '../core/errors.ts';
import { decodeUtf8 } from '../core/utf8.ts';
import { describeValue, valueAt } from '../core/values.ts';

export const PROMPTS_FORMAT = 'styleatlas-prompts/1';
/** The prompt catalogues that ship with StyleAtlas (data/prompts/ of the checkout or the installed package). */
export const SHIPPED_PROMPTS_DIR = fileURLToPath(new URL('../../data/prompts/', import.meta.url));
/** The reference GUI's α slider (DESIGN §1), used where a prompt gives no range: all of ALPHA_LIMITS. */
export const DEFAULT_ALPHA_RANGE: readonly [number, number] = ALPHA_LIMITS;

const SLUG = /^[a-z0-9-]+$/;

// Every schema carries its expectation as its message, so the error can say "expected …".
// (A schema's `error` is the message of its every issue, a missing value included; zod 4 numbers
// are finite.)
const text = (expected = 'a non-empty string') => z.string({ error: expected }).refine((s) => s.trim() !== '', expected);
const slug = (expected: string) => z.string({ error: expected }).regex(SLUG, expected);
const num = (expected = 'a number') => z.number({ error: expected });
const BETA = 'a number in [0, 1] or "auto"';
const beta = z.union([num(BETA).min(0, BETA).max(1, BETA), z.literal('auto')], { error: BETA });
const [ALPHA_MIN, ALPHA_MAX] = ALPHA_LIMITS;
const ALPHA = `a number in [${ALPHA_MIN}, ${ALPHA_MAX}]`;
const alpha = num(ALPHA).min(ALPHA_MIN, ALPHA).max(ALPHA_MAX, ALPHA);
const RANGE = `[min, max] with ${ALPHA_MIN} ≤ min < max ≤ ${ALPHA_MAX}`;
const alphaRange = z.tuple([num(RANGE), num(RANGE)], { error: RANGE }).refine(([lo, hi]) => ALPHA_MIN <= lo && lo < hi && hi <= ALPHA_MAX, RANGE);

/** What a catalogue makes of a prompt: a global direction (method 3) and/or a latent mapper (method 2). */
export const PROMPT_KINDS = ['direction', 'mapper'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];
const KIND = `${PROMPT_KINDS.map((k) => `"${k}"`).join(' or ')} (the prompt kinds)`;
const KINDS = `a non-empty list of distinct kinds, each ${PROMPT_KINDS.map((k) => `"${k}"`).join(' or ')}`;
const kinds = z
  .array(z.enum(PROMPT_KINDS, { error: KIND }), { error: KINDS })
  .min(1, KINDS)
  .refine((k) => new Set(k).size === k.length, KINDS);

const posInt = (expected = 'an integer ≥ 1') => z.number({ error: expected }).int(expected).min(1, expected);
/** How the catalogue trains a prompt's mapper (stages/mapper-train.ts MAPPER_DEFAULTS where left out). */
export const MapperPromptSettings = z
  .object({
    steps: posInt().optional(),
    lr: num('a number > 0').positive('a number > 0').optional(),
    batch: posInt().optional(),
    lambdaL2: num('a number ≥ 0').min(0, 'a number ≥ 0').optional(),
    seed: z.number({ error: 'an integer ≥ 0' }).int('an integer ≥ 0').min(0, 'an integer ≥ 0').optional(),
    /** Training codes: the seeded samples 10000 … 10000 + N − 1. */
    trainSamples: posInt().optional(),
    /** Held-out codes: the seeded samples 1000 … 1000 + M − 1 (the gallery's samples among them). */
    testSamples: posInt().optional(),
    checkpointEvery: posInt().optional(),
    /** The gallery's row of strengths (w + α·0.1·M(w)). */
    strengths: z.array(num(), { error: 'a list of numbers' }).min(2, 'at least 2 strengths').optional(),
  }, { error: 'an object of mapper settings' })
  .strict();
export type MapperPromptSettings = z.infer<typeof MapperPromptSettings>;

export const PromptEntry = z
  .object({
    id: slug('a slug of a-z, 0-9 and "-"'),
    neutral: text(),
    target: text(),
    tags: z.array(slug('a tag of a-z, 0-9 and "-"'), { error: 'a list of tags' }),
    alpha: alpha.optional(),
    beta: beta.optional(),
    alphaRange: alphaRange.optional(),
    note: text().optional(),
    kinds: kinds.optional(),
    mapper: MapperPromptSettings.optional(),
  })
  .strict();
export type PromptEntry = z.infer<typeof PromptEntry>;

export const PromptCatalogue = z
  .object({
    format: z.literal(PROMPTS_FORMAT, { error: JSON.stringify(PROMPTS_FORMAT) }),
    id: slug('a slug of a-z, 0-9 and "-"'),
    title: text(),
    description: text(),
    defaults: z
      .object({
        alpha,
        beta,
        betaFloor: z.number({ error: 'an integer ≥ 0' }).int('an integer ≥ 0').min(0, 'an integer ≥ 0'),
        alphaRange: alphaRange.optional(),
        kinds: kinds.optional(),
        mapper: MapperPromptSettings.optional(),
      }, { error: 'an object {alpha, beta, betaFloor, alphaRange?, kinds?, mapper?}' })
      .strict(),
    prompts: z.array(PromptEntry, { error: 'a list of prompts' }).min(1, 'at least one prompt'),
  }, { error: 'a JSON object' })
  .strict();
export type PromptCatalogue = z.infer<typeof PromptCatalogue>;

/** A prompt with the catalogue's defaults filled in. */
export interface ResolvedPrompt {
  id: string;
  neutral: string;
  target: string;
  tags: string[];
  alpha: number;
  beta: number | 'auto';
  /** Used by auto-β: the least number of active channels the chosen β must exceed. */
  betaFloor: number;
  alphaRange: [number, number];
  note?: string;
  /** Default ["direction"]. */
  kinds: PromptKind[];
  /** The catalogue's and the prompt's mapper settings, the prompt's winning key by key. */
  mapper: MapperPromptSettings;
}

export function resolvePrompt(catalogue: PromptCatalogue, p: PromptEntry): ResolvedPrompt {
  const [lo, hi] = p.alphaRange ?? catalogue.defaults.alphaRange ?? DEFAULT_ALPHA_RANGE;
  return {
    id: p.id,
    neutral: p.neutral,
    target: p.target,
    tags: [...p.tags],
    alpha: p.alpha ?? catalogue.defaults.alpha,
    beta: p.beta ?? catalogue.defaults.beta,
    betaFloor: catalogue.defaults.betaFloor,
    alphaRange: [lo, hi],
    ...(p.note === undefined ? {} : { note: p.note }),
    kinds: [...(p.kinds ?? catalogue.defaults.kinds ?? ['direction'])],
    mapper: { ...catalogue.defaults.mapper, ...p.mapper },
  };
}

/** "prompts[3] (id "smile"): field "target"" or "field "defaults.beta"". */
function locate(json: unknown, path: readonly PropertyKey[]): string {
  if (path[0] === 'prompts' && typeof path[1] === 'number') {
    const id = valueAt(json, ['prompts', path[1], 'id']);
    const entry = `prompts[${path[1]}]${typeof id === 'string' ? ` (id "${id}")` : ''}`;
    return path.length > 2 ? `${entry}: field "${path.slice(2).map(String).join('.')}"` : entry;
  }
  return path.length ? `field "${path.map(String).join('.')}"` : 'the file';
}

function refuse(json: unknown, where: string, path: readonly PropertyKey[], expected: string, found = describeValue(valueAt(json, path))): never {
  return fail('E_INPUT', `${where}: ${locate(json, path)}: expected ${expected}, found ${found}`, 'fix the prompt file; see data/prompts/faces.json for the schema');
}

/** Validate a parsed prompt file; throws E_INPUT for the first problem. */
export function parsePrompts(json: unknown, where: string): PromptCatalogue {
  const r = PromptCatalogue.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      const known = issue.path.at(-1) === 'mapper' ? MapperPromptSettings.keyof().options : issue.path.length === 0 ? PromptCatalogue.keyof().options : issue.path[0] === 'defaults' ? ['alpha', 'beta', 'betaFloor', 'alphaRange', 'kinds', 'mapper'] : PromptEntry.keyof().options;
      return fail('E_INPUT', `${where}: ${locate(json, issue.path)}: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
    }
    return refuse(json, where, issue.path, issue.message);
  }
  const cat = r.data;
  const firstById = new Map<string, number>();
  cat.prompts.forEach((p, i) => {
    const earlier = firstById.get(p.id);
    if (earlier !== undefined) refuse(json, where, ['prompts', i, 'id'], `an id not used before (prompts[${earlier}] has it)`);
    firstById.set(p.id, i);
    if (p.neutral.trim() === p.target.trim()) refuse(json, where, ['prompts', i, 'target'], 'a target that differs from the neutral prompt');
    const rp = resolvePrompt(cat, p);
    if (rp.alpha < rp.alphaRange[0] || rp.alpha > rp.alphaRange[1]) {
      const field = p.alpha !== undefined ? 'alpha' : 'alphaRange';
      refuse(json, where, ['prompts', i, field], `α ${rp.alpha} within α range [${rp.alphaRange}]`, describeValue(field === 'alpha' ? p.alpha : rp.alphaRange));
    }
  });
  return cat;
}

/** The names of the shipped prompt catalogues (`colour-world`, `faces`, …). */
export function shippedPromptNames(): string[] {
  return readdirSync(SHIPPED_PROMPTS_DIR).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
}

/**
 * What `--prompts` names: a shipped catalogue by its name (`colour-world`: no folder, no .json),
 * read from the package wherever the command runs; anything else is a file path, relative to the
 * current folder. Never one for the other: a path that is not there is E_MISSING.
 */
export function promptsPath(arg: string, cwd: string): string {
  if (!SLUG.test(arg)) return resolve(cwd, arg);
  const names = shippedPromptNames();
  if (!names.includes(arg)) fail('E_MISSING', `no shipped prompt catalogue is named ${JSON.stringify(arg)}`, `the shipped ones are ${names.join(', ')}; a file of your own needs its path (e.g. ./${arg}.json)`);
  return join(SHIPPED_PROMPTS_DIR, `${arg}.json`);
}

/** Read and validate a prompt file: E_MISSING if absent, E_INPUT if not JSON or not valid. */
export function loadPrompts(path: string): PromptCatalogue {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    return fail('E_MISSING', `prompt file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, `check the --prompts path (relative to the current folder); a shipped catalogue is named without a path: ${shippedPromptNames().join(', ')}`);
  }
  const raw = decodeUtf8(bytes, path);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return fail('E_INPUT', `${path}: not valid JSON (${(e as Error).message})`);
  }
  return parsePrompts(json, path);
}
