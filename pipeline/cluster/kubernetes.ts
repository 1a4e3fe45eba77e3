/**
 * The Kubernetes executor writes manifests; applying them is the user's `kubectl apply`. Per
 * build: a statistics Job (when the file is missing) and an Indexed Job — completionMode
 * Indexed, one completion per shard, JOB_COMPLETION_INDEX as the shard index, parallelism and
 * backoffLimitPerIndex from the config — whose pods run `relevance --shard i/n --resume`; then a
 * finishing Job (merges, catalogues, site). Kubernetes Jobs have no dependencies, so apply.sh
 * applies them in order and waits for each with `kubectl wait`. Every pod mounts the config's
 * folder (a PersistentVolumeClaim) at workingDir; paths in the commands are relative to it.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fail } from '../core/errors.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { SHARD_INDEX, finishCommands, shardCommand, shellWords, statsCommand } from './commands.ts';
import type { KubernetesSpec, NightlyConfig } from './config.ts';
import type { NightJob, NightRecord } from './night.ts';
import type { NightPlan } from './plan.ts';

type Manifest = Record<string, unknown>;

/** Paths as the pods see them: relative to the mounted config folder, never outside it. */
export function podPath(cfg: Pick<NightlyConfig, 'dir' | 'file'>): (p: string) => string {
  return (p) => {
    const r = relative(cfg.dir, p);
    if (r.startsWith('..') || isAbsolute(r)) fail('E_CONFIG', `${cfg.file}: ${p} is outside ${cfg.dir}, the folder the kubernetes pods mount`, 'keep models, prompts, "out", "catalogue" and "site" inside the config file\'s folder');
    return r === '' ? '.' : r;
  };
}

/** A Job name: a DNS label of at most 63 characters. */
export function jobName(build: string, step: string, night: string): string {
  const stamp = night.replace(/[^0-9]/g, '').slice(0, 14);
  const tail = `-${step}-${stamp}`;
  return `sa-${build.replace(/[^a-z0-9-]/g, '-').slice(0, 63 - 3 - tail.length)}${tail}`.replace(/-+/g, '-');
}

function podSpec(ex: KubernetesSpec, container: Manifest): Manifest {
  return {
    restartPolicy: 'Never',
    containers: [
      {
        image: ex.image,
        workingDir: ex.workingDir,
        ...container,
        ...(ex.gpus > 0 ? { resources: { limits: { 'nvidia.com/gpu': ex.gpus } } } : {}),
        volumeMounts: [{ name: 'styleatlas-data', mountPath: ex.workingDir }],
      },
    ],
    volumes: [{ name: 'styleatlas-data', persistentVolumeClaim: { claimName: ex.claimName } }],
  };
}

function job(ex: KubernetesSpec, name: string, labels: Record<string, string>, spec: Manifest, container: Manifest): Manifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ex.namespace, labels },
    spec: { ...spec, template: { metadata: { labels }, spec: podSpec(ex, container) } },
  };
}

/** The night's manifests, in the order they must run. Pure. */
export function kubernetesManifests(plan: NightPlan, night: string): { step: NightJob['step']; build?: string; name: string; manifest: Manifest }[] {
  const ex = plan.config.executor as KubernetesSpec;
  const where = podPath(plan.config);
  const label = (step: string, build?: string) => ({ 'app.kubernetes.io/name': 'styleatlas', 'styleatlas/night': night.replace(/[^0-9A-Za-z]/g, '').slice(0, 63), 'styleatlas/step': step, ...(build ? { 'styleatlas/build': build } : {}) });
  const out: { step: NightJob['step']; build?: string; name: string; manifest: Manifest }[] = [];
  for (const b of plan.builds) {
    const id = b.spec.id;
    if (b.statsNeeded) {
      const name = jobName(id, 'stats', night);
      out.push({ step: 'stats', build: id, name, manifest: job(ex, name, label('stats', id), { backoffLimit: ex.backoffLimitPerIndex }, { name: 'stats', command: ex.command, args: statsCommand(b, ex, where) }) });
    }
    if (b.shards.some((s) => s.state !== 'done')) {
      const name = jobName(id, 'shards', night);
      const args = shardCommand(b, ex, where, SHARD_INDEX).map((a) => a.replaceAll(SHARD_INDEX, '$(JOB_COMPLETION_INDEX)'));
      const spec = { completionMode: 'Indexed', completions: b.spec.shards, parallelism: Math.min(ex.parallelism, b.spec.shards), backoffLimitPerIndex: ex.backoffLimitPerIndex };
      out.push({ step: 'shards', build: id, name, manifest: job(ex, name, label('shards', id), spec, { name: 'shard', command: ex.command, args }) });
    }
  }
  if (plan.finishNeeded) {
    const { merges, rest } = finishCommands(plan, where);
    const sa = shellWords(ex.command);
    const stamp = where(plan.stampFile);
    const script = [
      'set -eu',
      ...merges.map((m) => `[ -e ${shellWords([m.done])} ] || ${sa} ${shellWords(m.command)}`),
      ...rest.map((c) => `${sa} ${shellWords(c)}`),
      `printf '%s\\n' ${shellWords([JSON.stringify({ key: plan.finishKey })])} > ${shellWords([`${stamp}.tmp`])} && mv ${shellWords([`${stamp}.tmp`, stamp])}`,
    ].join('\n');
    const name = jobName('all', 'finish', night);
    out.push({ step: 'finish', name, manifest: job(ex, name, label('finish'), { backoffLimit: ex.backoffLimitPerIndex }, { name: 'finish', command: ['/bin/sh', '-c'], args: [script] }) });
  }
  return out;
}

/** Write the manifests and apply.sh into the night's folder; returns what it wrote. */
export function writeKubernetes(plan: NightPlan, night: { dir: string; record: NightRecord }): { jobs: NightJob[]; applyScript: string } {
  const ex = plan.config.executor as KubernetesSpec;
  const dir = join(night.dir, 'kubernetes');
  mkdirSync(dir, { recursive: true });
  const lines = ['#!/bin/sh', '# Apply the night\'s Jobs in order, each after the one before has completed.', 'set -eu', `cd ${shellWords([dir])}`];
  const jobs: NightJob[] = [];
  for (const m of kubernetesManifests(plan, night.record.night)) {
    const file = join(dir, `${m.name}.json`);
    writeFileAtomic(file, `${JSON.stringify(m.manifest, null, 2)}\n`);
    jobs.push({ step: m.step, build: m.build, name: m.name, manifest: file });
    lines.push(`kubectl apply -f ${shellWords([`${m.name}.json`])}`);
    lines.push(`kubectl -n ${shellWords([ex.namespace])} wait --for=condition=complete --timeout=-1s job/${m.name}`);
  }
  const applyScript = join(dir, 'apply.sh');
  writeFileAtomic(applyScript, `${lines.join('\n')}\n`);
  chmodSync(applyScript, 0o755);
  return { jobs, applyScript };
}
