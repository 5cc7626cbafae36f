/**
 * Known-truth history for the planner's tests: weeks of the series Switchboard exports (same names and
 * labels: switchboard_calls_offered_total, …_answered_total, …_abandoned_total, the
 * switchboard_handle_seconds and switchboard_queue_wait_seconds histograms), generated call by call from
 * a model with a weekly pattern, a linear trend, Poisson noise, holidays and outages, written as
 * OpenMetrics and backfilled with `promtool tsdb create-blocks-from openmetrics`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

export const WEEK = 7 * 86_400;

export interface CallModel {
  queue: string;
  /** Epoch seconds of the first sample (a week boundary of the plan's weekly slots). */
  start: number;
  weeks: number;
  /** Seconds between samples (must divide the planning interval). */
  stepSeconds: number;
  /** Arrivals per hour at time t (seconds), before holidays. */
  ratePerHour(t: number): number;
  ahtSeconds: number;
  patienceSeconds: number;
  /** Mean of the (exponential) wait a caller would have before an agent answers. */
  offeredWaitSeconds: number;
  /** [from, to) epoch-second ranges whose volume is multiplied by `factor` (a holiday). */
  holidays: { from: number; to: number; factor: number }[];
  /** [from, to) ranges with no samples at all (the app or Prometheus down). */
  outages: { from: number; to: number }[];
  seed: number;
}

/** Expected calls in [t0, t1) under the model (the generator's rate is constant within a step). */
export function expectedCalls(m: CallModel, t0: number, t1: number): number {
  let sum = 0;
  for (let t = t0; t < t1; t += m.stepSeconds) sum += rateAt(m, t) * (m.stepSeconds / 3600);
  return sum;
}

function rateAt(m: CallModel, t: number): number {
  const mid = t + m.stepSeconds / 2;
  const h = m.holidays.find((x) => mid >= x.from && mid < x.to);
  return m.ratePerHour(mid) * (h ? h.factor : 1);
}

/** mulberry32 */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

function poisson(u: () => number, mean: number): number {
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(u)));
  const l = Math.exp(-mean);
  let k = 0;
  let p = u();
  while (p > l) {
    k++;
    p *= u();
  }
  return k;
}
const normal = (u: () => number): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());

const HANDLE_BUCKETS = [10, 30, 60, 120, 180, 300, 600, 900, 1800, 3600];
const WAIT_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200];

class Histo {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(x: number): void {
    this.sum += x;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (x <= this.bounds[i]!) this.counts[i]!++;
  }
  lines(name: string, labels: string, ts: number): string {
    const out = this.bounds.map((b, i) => `${name}_bucket{${labels},le="${b.toFixed(1)}"} ${this.counts[i]} ${ts}`);
    out.push(
      `${name}_bucket{${labels},le="+Inf"} ${this.count} ${ts}`,
      `${name}_count{${labels}} ${this.count} ${ts}`,
      `${name}_sum{${labels}} ${this.sum.toFixed(3)} ${ts}`,
    );
    return out.join('\n');
  }
}

/** The OpenMetrics text of the model's history (one sample per series per step, none during outages). */
export function generateOpenMetrics(m: CallModel): { text: string; offered: number } {
  const u = rng(m.seed);
  const exp = (mean: number) => -mean * Math.log(u());
  const q = `queue="${m.queue}"`;
  const offered: string[] = [];
  const answered: string[] = [];
  const abandoned: string[] = [];
  const handle: string[] = [];
  const wait: string[] = [];
  let nOffered = 0;
  let nAnswered = 0;
  let nAbandoned = 0;
  const h = new Histo(HANDLE_BUCKETS);
  const wAnswered = new Histo(WAIT_BUCKETS);
  const wAbandoned = new Histo(WAIT_BUCKETS);
  const end = m.start + m.weeks * WEEK;
  for (let t = m.start; t <= end; t += m.stepSeconds) {
    // Calls in (t − step, t] are counted by the sample at t.
    if (t > m.start) {
      const n = poisson(u, rateAt(m, t - m.stepSeconds) * (m.stepSeconds / 3600));
      for (let i = 0; i < n; i++) {
        nOffered++;
        const offeredWait = exp(m.offeredWaitSeconds);
        const patience = exp(m.patienceSeconds);
        if (patience < offeredWait) {
          nAbandoned++;
          wAbandoned.observe(patience);
        } else {
          nAnswered++;
          wAnswered.observe(offeredWait);
          h.observe(exp(m.ahtSeconds));
        }
      }
    }
    if (m.outages.some((o) => t >= o.from && t < o.to)) continue;
    offered.push(`switchboard_calls_offered_total{${q}} ${nOffered} ${t}`);
    answered.push(`switchboard_calls_answered_total{${q}} ${nAnswered} ${t}`);
    abandoned.push(`switchboard_calls_abandoned_total{${q}} ${nAbandoned} ${t}`);
    handle.push(h.lines('switchboard_handle_seconds', q, t));
    wait.push(
      wAnswered.lines('switchboard_queue_wait_seconds', `${q},outcome="answered"`, t),
      wAbandoned.lines('switchboard_queue_wait_seconds', `${q},outcome="abandoned"`, t),
    );
  }
  const text = [
    '# HELP switchboard_calls_offered Calls that entered a queue.',
    '# TYPE switchboard_calls_offered counter',
    ...offered,
    '# HELP switchboard_calls_answered Offered calls answered by an agent.',
    '# TYPE switchboard_calls_answered counter',
    ...answered,
    '# HELP switchboard_calls_abandoned Callers who hung up while waiting.',
    '# TYPE switchboard_calls_abandoned counter',
    ...abandoned,
    '# HELP switchboard_handle_seconds Talk + hold + wrap-up per handled call.',
    '# TYPE switchboard_handle_seconds histogram',
    ...handle,
    '# HELP switchboard_queue_wait_seconds Wait per call leaving a queue, by outcome.',
    '# TYPE switchboard_queue_wait_seconds histogram',
    ...wait,
    '# EOF',
    '',
  ].join('\n');
  return { text, offered: nOffered };
}

export function promtoolBinary(): string {
  if (process.env.PROMTOOL_BIN) return process.env.PROMTOOL_BIN;
  return existsSync('/usr/bin/promtool') ? '/usr/bin/promtool' : 'promtool';
}

/** Write `text` to `file` and turn it into TSDB blocks under `tsdbDir` with promtool. */
export async function backfill(text: string, file: string, tsdbDir: string): Promise<void> {
  await writeFile(file, text);
  await new Promise<void>((resolve, reject) => {
    // Blocks of up to ~12 weeks, so Prometheus opens a handful of blocks rather than one per 2 hours.
    const p = spawn(
      promtoolBinary(),
      ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', '--max-block-duration=2016h', file, tsdbDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`promtool create-blocks-from openmetrics exited ${code}:\n${out.slice(-4000)}`)),
    );
  });
}
