/**
 * How progress looks: a redrawn bar on a terminal, plain lines (at most every few seconds) in a
 * log. renderProgress is pure; progressPrinter decides where and how often.
 */
import type { ProgressEvent } from '../stages/progress.ts';
import type { CliIO } from './command.ts';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function renderProgress(e: ProgressEvent, width = 24): string {
  const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 0;
  const filled = Math.round(frac * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const rate = e.rate >= 100 ? e.rate.toFixed(0) : e.rate.toFixed(1);
  return `${e.phase} ${bar} ${(frac * 100).toFixed(1).padStart(5)}% ${e.done}/${e.total} ${e.unit}  ${rate} ${e.unit}/s  ETA ${formatDuration(e.etaSeconds)}${e.detail ? `  ${e.detail}` : ''}`;
}

export function progressPrinter(io: CliIO, opts: { quiet?: boolean; intervalMs?: number } = {}): { onProgress: (e: ProgressEvent) => void; finish: () => void } {
  let last = 0;
  let lastPhase = '';
  let open = false;
  const interval = opts.intervalMs ?? (io.isTTY ? 100 : 5000);
  return {
    onProgress(e) {
      if (opts.quiet) return;
      const now = Date.now();
      const done = e.done >= e.total;
      if (e.phase === lastPhase && !done && now - last < interval) return;
      if (io.isTTY) {
        if (open && e.phase !== lastPhase) io.err('\n');
        io.err(`\r${renderProgress(e)}\x1b[K`);
        open = true;
        if (done) {
          io.err('\n');
          open = false;
        }
      } else {
        io.err(renderProgress(e));
      }
      last = now;
      lastPhase = e.phase;
    },
    finish() {
      if (open) io.err('\n');
      open = false;
    },
  };
}
