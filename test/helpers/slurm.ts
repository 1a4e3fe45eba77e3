/**
 * A real single-node Slurm for the cluster tests: Debian's munged, slurmctld and slurmd
 * (scripts/install-test-deps.sh installs slurm-wlm and munge), configured for 127.0.0.1 in a
 * temporary folder — its own munge key and socket, ports, state and spool folders, and
 * SLURM_CONF pointing at its slurm.conf — started in the foreground as children of the test, so
 * their pids are known and exactly those are stopped. Jobs are submitted with the real sbatch.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface SlurmCluster {
  dir: string;
  /** SLURM_CONF (and PATH) for every Slurm command and for the nightly that submits. */
  env: Record<string, string>;
  pids: number[];
  /** A Slurm client command against this cluster; throws with its stderr on failure. */
  run(tool: string, args: readonly string[]): string;
  stop(): Promise<void>;
}

const SBIN = ['/usr/sbin', '/usr/bin'];

function tool(name: string): string {
  const found = SBIN.map((d) => join(d, name)).find((p) => existsSync(p));
  if (!found) throw new Error(`${name} is not installed: run scripts/install-test-deps.sh (Debian's slurm-wlm and munge), as .ci/run does`);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until(cond: () => boolean, what: string, ms: number, log: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Slurm test cluster: timed out after ${ms / 1000} s waiting for ${what}\n${log()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function slurmConf(dir: string, user: string, ports: [number, number]): string {
  return `# A single-node Slurm for StyleAtlas's cluster tests (test/helpers/slurm.ts).
ClusterName=styleatlas-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=${user}
SlurmdUser=${user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/run/munge.socket.2
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/run/slurmctld.pid
SlurmdPidFile=${dir}/run/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
ReturnToService=2
# Finished jobs stay known to scontrol for an hour (no accounting database here).
MinJobAge=3600
SlurmctldTimeout=60
SlurmdTimeout=120
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${availableParallelism()} State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`;
}

export async function startSlurm(): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'styleatlas-slurm-'));
  chmodSync(dir, 0o755); // munged wants every folder above its socket searchable by all
  for (const d of ['run', 'state', 'spool', 'log']) mkdirSync(join(dir, d), { mode: 0o755 });
  mkdirSync(join(dir, 'munge'), { mode: 0o700 });
  writeFileSync(join(dir, 'munge', 'munge.key'), randomBytes(1024), { mode: 0o600 });
  const user = userInfo().username;
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, slurmConf(dir, user, [await freePort(), await freePort()]));
  const env: Record<string, string> = { SLURM_CONF: conf, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const children: ChildProcess[] = [];
  const daemonEnv = { ...process.env, ...env };
  const start = (name: string, args: string[]) => {
    const out = openSync(join(dir, 'log', `${name}.out`), 'a');
    const child = spawn(tool(name), args, { env: daemonEnv, stdio: ['ignore', out, out] });
    children.push(child);
    return child;
  };
  const logs = () => ['munged.out', 'slurmctld.out', 'slurmd.out', 'slurmctld.log', 'slurmd.log'].map((f) => (existsSync(join(dir, 'log', f)) ? `--- ${f}\n${readFileSync(join(dir, 'log', f), 'utf8').slice(-2000)}` : '')).join('\n');
  const run = (name: string, args: readonly string[]) => execFileSync(tool(name), args, { env: daemonEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const cluster: SlurmCluster = {
    dir,
    env,
    get pids() {
      return children.map((c) => c.pid!).filter(Boolean);
    },
    run,
    async stop() {
      try {
        run('scancel', ['--user', user, '--full', '--signal=KILL']);
        run('scancel', ['--user', user]);
        await until(() => run('squeue', ['-h']).trim() === '', 'the queue to empty', 60_000, logs).catch(() => {});
      } catch {
        // slurmctld already gone: nothing to cancel
      }
      for (const c of [...children].reverse()) {
        if (c.exitCode !== null || c.signalCode !== null) continue;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    start('munged', ['--foreground', `--socket=${dir}/run/munge.socket.2`, `--key-file=${dir}/munge/munge.key`, `--log-file=${dir}/log/munged.log`, `--pid-file=${dir}/run/munged.pid`, `--seed-file=${dir}/munge/munged.seed`]);
    await until(() => existsSync(join(dir, 'run', 'munge.socket.2')), 'munged', 30_000, logs);
    start('slurmctld', ['-D', '-i']);
    start('slurmd', ['-D', '-N', 'localhost']);
    // On a loaded machine the daemons take their time; jobs are submitted only to an idle node.
    const nodeState = () => {
      try {
        return run('sinfo', ['-h', '-N', '-o', '%t']).trim();
      } catch {
        return '';
      }
    };
    await until(() => /^(idle|mix|alloc)/.test(nodeState()) || /^(down|drain)/.test(nodeState()), 'the node to register', 180_000, logs);
    if (/^(down|drain)/.test(nodeState())) run('scontrol', ['update', 'nodename=localhost', 'state=resume']);
    await until(() => nodeState() === 'idle', 'the node to be idle', 180_000, logs);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
