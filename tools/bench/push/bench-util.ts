/** Small helpers of the push benchmark: wall-clock time shared across processes, percentiles, progress, tables. */
import * as fs from 'node:fs';

/** CPU time (user + system, ms) a process has used so far, from /proc; 0 when it cannot be read. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the parenthesised command name: state is field 3, utime 14 and stime 15 (in clock ticks).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / 100;
  } catch {
    return 0;
  }
}

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes of one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The nearest-rank percentile `p` (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** A one-line progress bar on stderr (when it is a terminal, else one line per 10 %). */
export class Progress {
  private lastDecile = -1;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    const frac = this.total === 0 ? 1 : Math.min(1, done / this.total);
    if (this.tty) {
      const width = 30;
      const full = Math.round(frac * width);
      process.stderr.write(
        `\r  ${this.label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${this.total}   `,
      );
      if (frac >= 1) process.stderr.write('\n');
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      process.stderr.write(`  ${this.label} ${Math.round(frac * 100)}% (${done}/${this.total})\n`);
    }
  }
}

/** One compared measure: what sofareg and etcd achieved, and which way is better. */
export interface Measure {
  name: string;
  unit: string;
  sofareg: number;
  etcd: number;
  /** true when a higher figure is better (throughput), false for latency. */
  higherIsBetter: boolean;
}

/** Formats a number for the result table. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1_000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * The closing lines: one per measure, `name: sofareg X unit, etcd Y unit, ratio R` where the ratio is how many
 * times better sofareg is (etcd/sofareg for latency, sofareg/etcd for throughput; above 1 means sofareg wins).
 */
export function resultLines(measures: readonly Measure[]): string[] {
  const width = Math.max(...measures.map((m) => m.name.length));
  return measures.map((m) => {
    const ratio = m.higherIsBetter ? m.sofareg / m.etcd : m.etcd / m.sofareg;
    return `${m.name.padEnd(width)}  sofareg ${fmt(m.sofareg).padStart(8)} ${m.unit.padEnd(5)}  etcd ${fmt(m.etcd).padStart(8)} ${m.unit.padEnd(5)}  ratio ${ratio.toFixed(2)}x ${ratio >= 1 ? '(sofareg better)' : '(etcd better)'}`;
  });
}
