import { resolve } from 'node:path';
import { renderPlan } from '../../cluster/plan.ts';
import { runNightly } from '../../cluster/nightly.ts';
import { flag, requireStr } from '../args.ts';
import { defineCommand } from '../command.ts';
import { progressPrinter } from '../progress.ts';

export default defineCommand({
  path: ['nightly'],
  summary: 'the nightly job: statistics, shards, merge, catalogue and site, on this machine, Slurm or Kubernetes',
  usage: '--config FILE [--dry-run] [--wait]',
  details: `Reads a nightly config (JSON: builds, prompt catalogues, catalogue and site folders, executor;
see docs/nightly.md), plans from input hashes what is up to date and what must run, and runs only
that: a second run with nothing changed runs nothing, and after a partial failure only the
missing shards run again (they resume from their last committed chunk).

Executors ("executor": {"kind": …}):
  local        the default: shards as at most "parallel" processes on this machine, with progress
  slurm        sbatch scripts in the night's folder: a statistics job, a job array (task i runs
               relevance --shard i/n --resume --stats …, with --requeue), and an afterok job that
               merges, catalogues and builds the site; job ids are recorded
  kubernetes   writes an Indexed Job manifest per build and a finishing Job; you kubectl apply them

Each run that starts anything gets a night folder (<out>/nights/<time>) with the plan's record,
scripts or manifests, and logs; \`styleatlas nightly status\` reads the latest one.

  --config FILE   the nightly config
  --dry-run       print the plan and run nothing
  --wait          slurm: follow the jobs to the end and exit with their outcome (E_JOB if any failed)
  --quiet         no progress output`,
  options: { config: { type: 'string' }, 'dry-run': { type: 'boolean' }, wait: { type: 'boolean' }, quiet: { type: 'boolean' } },
  async run({ values, io }) {
    const quiet = flag(values, 'quiet');
    const printer = progressPrinter(io, { quiet });
    const result = await runNightly({
      configFile: resolve(io.cwd, requireStr(values, 'config')),
      dryRun: flag(values, 'dry-run'),
      wait: flag(values, 'wait'),
      env: io.env,
      log: quiet ? () => {} : (m) => io.err(m),
      onProgress: printer.onProgress,
    }).finally(() => printer.finish());
    if (flag(values, 'dry-run') || result.plan.upToDate) io.err(renderPlan(result.plan));
    if (result.next) io.err(`nightly: ${result.next}`);
    io.out(result.night ?? (result.plan.upToDate ? 'up to date' : 'dry run'));
  },
});
