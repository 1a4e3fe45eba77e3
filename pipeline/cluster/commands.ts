/**
 * The `styleatlas` commands each step of a nightly runs — the same commands a user would type —
 * as argument lists. Every executor runs exactly these: the local one as child processes, Slurm
 * in sbatch scripts, Kubernetes as container args. `where` maps an absolute path to the form
 * the executor uses (absolute on a shared file system, relative to the pod's working folder).
 * A shard's index is the placeholder SHARD_INDEX, which each executor fills in its own way.
 */
import type { ExecutorSpec, NightlyConfig } from './config.ts';
import { configPath } from './config.ts';
import { type BuildPlan, type NightPlan, shardDir } from './plan.ts';

export const SHARD_INDEX = '{shard}';

export type PathForm = (absolute: string) => string;

function runtimeArgs(ex: ExecutorSpec): string[] {
  return ['--device', ex.device, ...(ex.threads > 0 ? ['--threads', String(ex.threads)] : [])];
}

export function statsCommand(b: BuildPlan, ex: ExecutorSpec, where: PathForm): string[] {
  const s = b.spec;
  return ['stats', '--generator', where(b.generatorDir), '--samples', String(s.stats.samples), '--psi', String(s.relevance.psi), '--seed', String(s.stats.seed), '--out', where(b.statsFile), ...runtimeArgs(ex), '--quiet'];
}

/** One shard, resumable: a requeued or re-run shard continues from its last committed chunk. */
export function shardCommand(b: BuildPlan, ex: ExecutorSpec, where: PathForm, index: number | typeof SHARD_INDEX): string[] {
  const r = b.spec.relevance;
  return [
    'relevance', '--generator', where(b.generatorDir), '--encoder', where(b.encoderDir),
    '--out', where(shardDir(b, index)), '--shard', `${index}/${b.spec.shards}`, '--resume', '--stats', where(b.statsFile),
    '--samples', String(r.samples), '--alpha-p', String(r.alphaP), '--psi', String(r.psi), '--seed', String(r.seed),
    '--channels', r.channels, '--chunk', String(r.chunk), '--batch', String(r.batch), ...runtimeArgs(ex), '--quiet',
  ];
}

export function mergeCommand(b: BuildPlan, where: PathForm): string[] {
  return ['merge', '--out', where(b.mergedDir), ...b.shards.map((s) => where(shardDir(b, s.index)))];
}

/** The finishing step after every shard: merges (where not merged yet), catalogues, the site. */
export function finishCommands(plan: NightPlan, where: PathForm): { merges: { build: string; done: string; command: string[] }[]; rest: string[][] } {
  const cfg: NightlyConfig = plan.config;
  const ex = cfg.executor;
  const merges = plan.builds.map((b) => ({ build: b.spec.id, done: where(`${b.mergedDir}/relevance.arrow`), command: mergeCommand(b, where) }));
  const rest: string[][] = [];
  if (cfg.catalogue !== null) {
    const catalogue = where(configPath(cfg, cfg.catalogue));
    for (const b of plan.builds) {
      for (const p of b.spec.prompts) {
        rest.push(['catalogue', '--build', where(b.mergedDir), '--prompts', where(configPath(cfg, p)), '--out', catalogue, '--models-dir', where(configPath(cfg, cfg.models)), ...runtimeArgs(ex), '--quiet']);
      }
    }
    if (cfg.site !== null) rest.push(['site', 'build', '--catalogue', catalogue, '--out', where(configPath(cfg, cfg.site))]);
  }
  return { merges, rest };
}

/** POSIX shell quoting; SHARD_INDEX becomes `"$var"` so the shell fills in the index. */
export function shellWords(args: readonly string[], indexVar?: string): string {
  return args
    .map((a) => {
      const q = /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
      return indexVar ? q.replaceAll(SHARD_INDEX, `'"$${indexVar}"'`).replace(/^''|''$/g, '') : q;
    })
    .join(' ');
}
