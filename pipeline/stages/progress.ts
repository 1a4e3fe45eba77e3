/** Progress events stages emit; the CLI decides how to show them. */
export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
  unit: string;
  /** Renders (or samples) per second since the phase started. */
  rate: number;
  /** Seconds left at the current rate (NaN when unknown). */
  etaSeconds: number;
  /** Optional extra facts, e.g. channels done. */
  detail?: string;
}

export type ProgressFn = (e: ProgressEvent) => void;

/** Rate and ETA bookkeeping for one phase. */
export class ProgressClock {
  private readonly t0 = performance.now();
  constructor(
    private readonly phase: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly emit: ProgressFn | undefined,
    private readonly rateUnitPerItem = 1,
  ) {}

  tick(done: number, detail?: string): void {
    if (!this.emit) return;
    const secs = (performance.now() - this.t0) / 1000;
    const rate = secs > 0 ? (done * this.rateUnitPerItem) / secs : 0;
    const perItem = done > 0 ? secs / done : NaN;
    this.emit({ phase: this.phase, done, total: this.total, unit: this.unit, rate, etaSeconds: perItem * (this.total - done), detail });
  }

  seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }
}
