/**
 * The kubernetes executor's manifests pass the schema check of batch/v1 Job. No API server is
 * reachable here and `kubectl --dry-run=client` needs one (it downloads the OpenAPI schema), so
 * the check is kubernetes-models' Job.validate(): the ajv validators that package generates
 * from Kubernetes' own OpenAPI schema. A corrupted copy must fail it, so the check can fail.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { expect, it } from 'vitest';
import type { NightRecord } from '../../pipeline/cluster/night.ts';
import { REPO } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-k8s-');

it('writes an Indexed Job per build and a finishing Job that pass the batch/v1 Job schema', () => {
  const file = join(tmp, 'nightly.json');
  writeFileSync(
    file,
    JSON.stringify({
      out: 'out',
      models: 'models',
      builds: [{ id: 'tiny-colour-world', generator: 'tiny', encoder: 'colour-world', shards: 4, relevance: { samples: 8 }, prompts: ['colour-world.json'] }],
      catalogue: 'out/catalogue',
      site: 'out/site',
      executor: { kind: 'kubernetes', image: 'registry.example/styleatlas:0.1.0', namespace: 'atlas', claimName: 'atlas-data', workingDir: '/data', parallelism: 2, backoffLimitPerIndex: 3, gpus: 1, device: 'cuda' },
    }),
  );
  // The pods mount the config's folder: bundles and prompts live inside it.
  cli(['models', 'build', 'tiny', 'colour-world', '--models-dir', join(tmp, 'models')]);
  writeFileSync(join(tmp, 'colour-world.json'), readFileSync(join(REPO, 'data', 'prompts', 'colour-world.json')));
  const r = cli(['nightly', '--config', file]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/kubectl apply the manifests in order, or run .*apply\.sh/);
  const rec = JSON.parse(readFileSync(join(tmp, 'out', 'nights', r.stdout.trim(), 'night.json'), 'utf8')) as NightRecord;
  expect(rec.jobs.map((j) => j.step)).toEqual(['stats', 'shards', 'finish']);
  const manifests = rec.jobs.map((j) => JSON.parse(readFileSync(j.manifest!, 'utf8')));
  for (const m of manifests) expect(() => new Job(m).validate()).not.toThrow();

  const shards = manifests[1];
  expect(shards.spec).toMatchObject({ completionMode: 'Indexed', completions: 4, parallelism: 2, backoffLimitPerIndex: 3 });
  const pod = shards.spec.template.spec;
  expect(pod.restartPolicy).toBe('Never');
  expect(pod.containers[0]).toMatchObject({ image: 'registry.example/styleatlas:0.1.0', workingDir: '/data', command: ['styleatlas'], resources: { limits: { 'nvidia.com/gpu': 1 } } });
  const args: string[] = pod.containers[0].args;
  expect(args.slice(0, 1)).toEqual(['relevance']);
  expect(args[args.indexOf('--shard') + 1]).toBe('$(JOB_COMPLETION_INDEX)/4');
  expect(args[args.indexOf('--out') + 1]).toMatch(/^out\/builds\/tiny-colour-world-[0-9a-f]{12}\/shards\/\$\(JOB_COMPLETION_INDEX\)$/);
  expect(args).toContain('--resume');
  expect(args[args.indexOf('--device') + 1]).toBe('cuda');
  expect(pod.volumes).toEqual([{ name: 'styleatlas-data', persistentVolumeClaim: { claimName: 'atlas-data' } }]);
  expect(manifests[2].spec.template.spec.containers[0].args[0]).toMatch(/styleatlas merge --out .*\nstyleatlas catalogue .*\nstyleatlas site build /);
  expect(readFileSync(join(tmp, 'out', 'nights', rec.night, 'kubernetes', 'apply.sh'), 'utf8')).toMatch(/kubectl apply -f sa-tiny-colour-world-stats-\d+\.json\nkubectl -n atlas wait --for=condition=complete/);

  const broken = structuredClone(shards);
  broken.spec.completionMode = 'Indxed';
  expect(() => new Job(broken).validate()).toThrow(/completionMode/);
  const noName = structuredClone(shards);
  delete noName.spec.template.spec.containers[0].name;
  expect(() => new Job(noName).validate()).toThrow(/name/);
}, 300_000);
