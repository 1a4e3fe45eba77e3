/**
 * How busy the rest of the machine was while we measured: CPU time spent by all processes
 * (/proc/stat) minus this process's own (every thread, the worker included), per second of wall
 * time, in cores. The load average cannot say this: our own threads raise it too. Linux only.
 */
import { readFileSync } from 'node:fs';

interface Mark {
  wall: number;
  /** Busy CPU seconds of the whole machine, or undefined off Linux. */
  machine?: number;
  /** CPU seconds of this process. */
  own: number;
}

function machineBusySeconds(): number | undefined {
  try {
    // cpu  user nice system idle iowait irq softirq steal … (in USER_HZ ticks, 100 per second on Linux)
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
    return busy / 100;
  } catch {
    return undefined;
  }
}

export function markCpu(): Mark {
  const u = process.cpuUsage();
  return { wall: performance.now() / 1000, machine: machineBusySeconds(), own: (u.user + u.system) / 1e6 };
}

/** Cores' worth of CPU that other processes used between `from` and now (undefined off Linux). */
export function othersCores(from: Mark): number | undefined {
  const to = markCpu();
  if (from.machine === undefined || to.machine === undefined) return undefined;
  return Math.max(0, to.machine - from.machine - (to.own - from.own)) / (to.wall - from.wall);
}
