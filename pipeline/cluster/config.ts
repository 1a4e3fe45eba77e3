/**
 * The nightly config file (`styleatlas nightly --config FILE`): one JSON schema for the builds
 * (bundles, relevance and statistics settings, shard count, prompt catalogues), the catalogue
 * and site folders, and the executor (local processes, Slurm, Kubernetes). Every error names
 * the key (E_CONFIG). Relative paths are resolved against the config file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { fail } from '../core/errors.ts';
import { describeValue, valueAt } from '../core/values.ts';
import { CHANNEL_SETS, RELEVANCE_DEFAULTS } from '../stages/relevance-plan.ts';

const id = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a lowercase id (letters, digits, . _ -)');
const posInt = z.number().int().positive();
const device = z.enum(['cpu', 'cuda', 'webgpu', 'auto']);
/** Extra scheduler options, passed through untouched (e.g. ["--qos=high", "--constraint=a100"]). */
const passThrough = z.array(z.string().regex(/^--?[A-Za-z]/, 'an option such as "--qos=high"')).default([]);

const Relevance = z
  .object({
    samples: posInt.default(RELEVANCE_DEFAULTS.samples),
    alphaP: z.number().positive().max(100).default(RELEVANCE_DEFAULTS.alphaP),
    psi: z.number().min(0).max(1).default(RELEVANCE_DEFAULTS.psi),
    seed: z.number().int().nonnegative().default(RELEVANCE_DEFAULTS.sampleSeed),
    channels: z.enum(Object.keys(CHANNEL_SETS) as [keyof typeof CHANNEL_SETS, ...(keyof typeof CHANNEL_SETS)[]]).default('conv'),
    chunk: posInt.default(RELEVANCE_DEFAULTS.chunk),
    batch: z.union([z.literal('auto'), z.number().int().min(2).multipleOf(2)]).default('auto'),
  })
  .strict();

const Stats = z
  .object({
    samples: z.number().int().min(2).default(RELEVANCE_DEFAULTS.statsSamples),
    seed: z.number().int().nonnegative().default(RELEVANCE_DEFAULTS.statsSeed),
  })
  .strict();

const Build = z
  .object({
    id,
    /** Bundle ids in `models`. */
    generator: id,
    encoder: id,
    shards: z.number().int().min(1, 'at least 1 shard').max(10_000),
    relevance: Relevance.prefault({}), // zod 4: prefault parses {} so the fields' defaults apply
    stats: Stats.prefault({}),
    prompts: z.array(z.string().min(1)).default([]),
  })
  .strict();

const Runtime = { device: device.default('cpu'), threads: z.number().int().min(0).max(1024).default(0) };

const Local = z.object({ kind: z.literal('local'), parallel: posInt.default(1), ...Runtime }).strict();

const Slurm = z
  .object({
    kind: z.literal('slurm'),
    partition: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    /** Time limit of each job, in sbatch's format (e.g. "04:00:00"). */
    time: z.string().min(1).optional(),
    /** GPUs per job: --gres=gpu:N. */
    gpus: z.number().int().min(0).default(0),
    cpusPerTask: posInt.optional(),
    mem: z.string().min(1).optional(),
    /** Array tasks running at once (--array=…%K); default: all. */
    maxParallel: posInt.optional(),
    options: passThrough,
    /** Seconds between scheduler polls of --wait and status. */
    pollSeconds: z.number().positive().max(3600).default(15),
    /** How a job runs styleatlas (default: this Node and this checkout's bin/styleatlas.mjs). */
    command: z.array(z.string().min(1)).min(1).optional(),
    ...Runtime,
  })
  .strict();

const Kubernetes = z
  .object({
    kind: z.literal('kubernetes'),
    image: z.string().min(1),
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name').default('default'),
    /** A PersistentVolumeClaim holding the config's folder, mounted at workingDir in every pod. */
    claimName: z.string().min(1),
    workingDir: z.string().regex(/^\//, 'an absolute path in the container'),
    parallelism: posInt.default(1),
    backoffLimitPerIndex: z.number().int().min(0).default(2),
    gpus: z.number().int().min(0).default(0),
    command: z.array(z.string().min(1)).min(1).default(['styleatlas']),
    ...Runtime,
  })
  .strict();

const Executor = z.discriminatedUnion('kind', [Local, Slurm, Kubernetes]);

const Config = z
  .object({
    /** Build folders, night folders and the nightly's lock live here. */
    out: z.string().min(1),
    models: z.string().min(1).default('models'),
    builds: z.array(Build).min(1, 'at least one build'),
    /** The catalogue folder (null: no catalogue, and so no site). */
    catalogue: z.string().min(1).nullable().default(null),
    site: z.string().min(1).nullable().default(null),
    executor: Executor.prefault({ kind: 'local' }),
  })
  .strict();

export type NightlyConfig = z.infer<typeof Config> & { file: string; dir: string };
export type BuildSpec = z.infer<typeof Build>;
export type ExecutorSpec = z.infer<typeof Executor>;
export type SlurmSpec = z.infer<typeof Slurm>;
export type KubernetesSpec = z.infer<typeof Kubernetes>;
export type LocalSpec = z.infer<typeof Local>;

const KEYS: Record<string, readonly string[]> = {
  '': Config.keyof().options,
  build: Build.keyof().options,
  relevance: Relevance.keyof().options,
  stats: Stats.keyof().options,
  local: Local.keyof().options,
  slurm: Slurm.keyof().options,
  kubernetes: Kubernetes.keyof().options,
};

function knownKeys(json: unknown, path: readonly (string | number)[]): readonly string[] {
  const last = path.at(-1);
  if (path.length === 0) return KEYS[''];
  if (path[0] === 'builds') return path.length === 2 ? KEYS.build : KEYS[String(last)] ?? [];
  if (path[0] === 'executor') return KEYS[String(valueAt(json, ['executor', 'kind']))] ?? [];
  return [];
}

function keyName(path: readonly (string | number)[]): string {
  return path.length ? path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') : '(top level)';
}

/** Validate parsed JSON; E_CONFIG naming the first bad key, what was expected and what was found. */
export function parseNightlyConfig(json: unknown, file: string): NightlyConfig {
  const r = Config.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const at = path.length ? `${keyName(path)}.` : '';
      return fail('E_CONFIG', `${file}: unknown key ${issue.keys.map((k) => `"${at}${k}"`).join(', ')} (known here: ${knownKeys(json, path).join(', ')})`);
    }
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const found = valueAt(json, path);
    const oneOf = (values: readonly unknown[]) => `one of ${values.map((o) => JSON.stringify(o)).join(', ')}`;
    const expected =
      issue.code === 'invalid_type'
        ? `${issue.expected}${found === undefined ? ' (the key is required)' : ''}`
        : issue.code === 'invalid_union' && 'options' in issue && issue.options ? oneOf(issue.options) // a "kind" that matches no executor
          : issue.code === 'invalid_value' ? oneOf(issue.values) : issue.message;
    return fail('E_CONFIG', `${file}: key "${keyName(path)}": expected ${expected}, found ${describeValue(found)}`);
  }
  const cfg = { ...r.data, file, dir: dirname(file) };
  const seen = new Set<string>();
  cfg.builds.forEach((b, i) => {
    if (seen.has(b.id)) fail('E_CONFIG', `${file}: key "builds[${i}].id": "${b.id}" is used by an earlier build`);
    seen.add(b.id);
  });
  if (cfg.site !== null && cfg.catalogue === null) fail('E_CONFIG', `${file}: key "site": a site needs a "catalogue" folder`);
  return cfg;
}

/** A path of the config, absolute (relative ones are relative to the config file's folder). */
export function configPath(cfg: Pick<NightlyConfig, 'dir'>, p: string): string {
  return isAbsolute(p) ? p : resolve(cfg.dir, p);
}

/** Read, parse and check that every bundle and prompt file it names exists (E_CONFIG). */
export function loadNightlyConfig(fileArg: string): NightlyConfig {
  const file = resolve(fileArg);
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    return fail('E_MISSING', `nightly config ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'see docs/nightly.md for an example');
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return fail('E_CONFIG', `${file}: not valid JSON (${(e as Error).message})`);
  }
  const cfg = parseNightlyConfig(json, file);
  cfg.builds.forEach((b, i) => {
    for (const part of ['generator', 'encoder'] as const) {
      const dir = join(configPath(cfg, cfg.models), b[part]);
      if (!existsSync(join(dir, 'manifest.json'))) fail('E_CONFIG', `${file}: key "builds[${i}].${part}": no bundle ${dir} (no manifest.json)`, 'build it with `styleatlas models build`, import it, or fix "models"');
    }
    b.prompts.forEach((p, k) => {
      if (!existsSync(configPath(cfg, p))) fail('E_CONFIG', `${file}: key "builds[${i}].prompts[${k}]": no prompt file ${configPath(cfg, p)}`);
    });
    if (b.prompts.length > 0 && cfg.catalogue === null) fail('E_CONFIG', `${file}: key "builds[${i}].prompts": prompt catalogues need a "catalogue" folder`);
  });
  return cfg;
}
