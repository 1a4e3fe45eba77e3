import { resolve } from 'node:path';
import { loadNightlyConfig } from '../../cluster/config.ts';
import { nightStatus, waitNight } from '../../cluster/nightly.ts';
import { fail } from '../../core/errors.ts';
import { flag, requireStr } from '../args.ts';
import { defineCommand } from '../command.ts';
import { progressPrinter } from '../progress.ts';

export default defineCommand({
  path: ['nightly', 'status'],
  summary: 'the latest night of a nightly config: its jobs as the scheduler sees them, and shard progress',
  usage: '--config FILE [--wait] [--json]',
  details: `Reads the latest night's record (<out>/nights/latest). Slurm jobs are looked up with sacct, or
with scontrol where accounting storage is off (the line "states from" says which); local steps
show their exit codes and logs; Kubernetes Jobs are yours to query with kubectl. Every build shows
the chunks its shards have committed (shards i:done/planned), and whether the finishing step
(merges, catalogues, site) is up to date.

  --config FILE   the nightly config
  --wait          slurm: follow the jobs to the end; exit with E_JOB if any did not complete
  --json          the night's record and states on stdout`,
  options: { config: { type: 'string' }, wait: { type: 'boolean' }, json: { type: 'boolean' } },
  async run({ values, io }) {
    const cfg = loadNightlyConfig(resolve(io.cwd, requireStr(values, 'config')));
    const status = nightStatus(cfg, io.env);
    if (flag(values, 'wait') && status.active) {
      if (status.record.executor !== 'slurm') fail('E_USAGE', `--wait follows Slurm jobs; night ${status.record.night} ran with ${status.record.executor}`);
      const printer = progressPrinter(io);
      await waitNight(cfg, status.record, { env: io.env, log: (m) => io.err(m), onProgress: printer.onProgress }).finally(() => printer.finish());
    }
    const now = flag(values, 'wait') ? nightStatus(cfg, io.env) : status;
    if (flag(values, 'json')) io.out(JSON.stringify({ ...now.record, active: now.active, finished: now.finished }, null, 2));
    else io.out(now.text);
  },
});
