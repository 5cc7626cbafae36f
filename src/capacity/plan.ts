/**
 * The staffing plan for a queue's coming week, from its history in Prometheus:
 *
 *   history  offered calls, handle time (sum and count of switchboard_handle_seconds) and caller waits and
 *            abandons per interval over the last `weeks` whole weeks before `start` (forecast.ts screens it);
 *   backtest the last of those weeks forecast from the ones before it by each method; the method with the
 *            lowest WAPE makes the plan;
 *   forecast calls per interval of the week from `start`;
 *   staffing per interval, agents by Erlang A with the observed patience (Erlang C while fewer than
 *            MIN_ABANDONS callers abandoned), then scheduled agents = agents ÷ (1 − shrinkage), rounded up.
 *
 * docs/forecast.md defines each step and measure.
 */
import { agentsForServiceLevel } from './erlang.js';
import { backtest, forecastWeek, screenDays, type Accuracy, type ForecastMethod, type History } from './forecast.js';
import { PlanError } from './plan-error.js';
import type { PrometheusClient } from './prometheus.js';

export const WEEK_SECONDS = 7 * 86_400;
/** Whole weeks of history below which no plan is made (one to forecast from, one to backtest on). */
export const MIN_WEEKS = 2;
/** Abandons over the history below which the patience estimate is not used (its relative error is ~1/√n). */
export const MIN_ABANDONS = 5;
/** Handled calls by which a weekly slot's own mean handle time outweighs the queue's overall mean. */
export const AHT_PRIOR_CALLS = 30;
/** An interval with fewer samples than this fraction of the typical interval's is a (partial) outage. */
export const MIN_COVERAGE = 0.75;

export interface PlanOptions {
  queue: string;
  weeks: number;
  intervalMinutes: number;
  targetSeconds: number;
  targetServiceLevel: number;
  /** Fraction of paid time agents are not available for calls (breaks, training, absence), in [0, 1). */
  shrinkage: number;
  /** First interval of the plan, epoch ms (rounded down to an interval boundary). */
  start: number;
}

export interface PlanInterval {
  /** ISO 8601, UTC. */
  start: string;
  /** Forecast calls offered in the interval. */
  arrivals: number;
  ahtSeconds: number;
  /** Mean caller patience used (Erlang A); null: unknown, Erlang C used. */
  patienceSeconds: number | null;
  /** Agents on the phones needed to meet the target. */
  agents: number;
  /** Agents to schedule: agents ÷ (1 − shrinkage), rounded up. */
  scheduledAgents: number;
}

/** What `--json` prints and /api/plan answers. */
export interface Plan {
  queue: string;
  intervalMinutes: number;
  intervals: PlanInterval[];
  backtest: { weeks: number; wape: number | null; bias: number | null };
}

/** The plan with what a person reading the table also wants to see. */
export interface PlanReport {
  plan: Plan;
  method: ForecastMethod;
  methods: Record<ForecastMethod, Accuracy>;
  historyWeeks: number;
  historyStart: string;
  model: 'erlang_a' | 'erlang_c';
  anomalousDays: { date: string; ratio: number }[];
  /** Missing intervals (no samples or partial ones) in the history used. */
  missingIntervals: number;
  warnings: string[];
}

/** PromQL string literal. */
const quote = (s: string): string => JSON.stringify(s);

export function validatePlanOptions(o: PlanOptions): void {
  const bad = (field: string, msg: string) => new PlanError('bad_request', `${field} ${msg}`, field);
  if (!o.queue) throw bad('queue', 'is required');
  if (!Number.isInteger(o.weeks) || o.weeks < MIN_WEEKS || o.weeks > 104)
    throw bad('weeks', `must be an integer from ${MIN_WEEKS} to 104 (got ${o.weeks})`);
  if (!Number.isInteger(o.intervalMinutes) || o.intervalMinutes < 5 || 1440 % o.intervalMinutes !== 0)
    throw bad('intervalMinutes', `must be a whole number of minutes ≥ 5 that divides a day, e.g. 15, 30, 60 (got ${o.intervalMinutes})`);
  if (!(o.targetSeconds >= 0 && o.targetSeconds <= 86_400)) throw bad('targetSeconds', `must be from 0 to 86400 (got ${o.targetSeconds})`);
  if (!(o.targetServiceLevel > 0 && o.targetServiceLevel < 1))
    throw bad('targetServiceLevel', `must be strictly between 0 and 1 (got ${o.targetServiceLevel})`);
  if (!(o.shrinkage >= 0 && o.shrinkage < 1)) throw bad('shrinkage', `must be in [0, 1), e.g. 0.3 (got ${o.shrinkage})`);
  if (!Number.isFinite(o.start)) throw bad('start', 'must be a date-time');
}

const span = (seconds: number): string => {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  return `${d} day${d === 1 ? '' : 's'} ${h} hour${h === 1 ? '' : 's'}`;
};

interface Series {
  coverage: (number | null)[];
  offered: (number | null)[];
  handleSum: (number | null)[];
  handleCount: (number | null)[];
  waitSum: (number | null)[];
  abandoned: (number | null)[];
}

async function fetchSeries(prom: PrometheusClient, queue: string, from: number, to: number, step: number): Promise<Series> {
  const q = quote(queue);
  const w = `[${step}s]`;
  const range = (expr: string) => prom.rangeValues(expr, from + step, to, step); // value at an interval's end covers it
  const [coverage, offered, handleSum, handleCount, waitSum, abandoned] = await Promise.all([
    range(`max(count_over_time(switchboard_calls_offered_total{queue=${q}}${w}))`),
    range(`sum(increase(switchboard_calls_offered_total{queue=${q}}${w}))`),
    range(`sum(increase(switchboard_handle_seconds_sum{queue=${q}}${w}))`),
    range(`sum(increase(switchboard_handle_seconds_count{queue=${q}}${w}))`),
    range(`sum(increase(switchboard_queue_wait_seconds_sum{queue=${q},outcome=~"answered|abandoned|overflow"}${w}))`),
    range(`sum(increase(switchboard_calls_abandoned_total{queue=${q}}${w}))`),
  ]);
  return { coverage, offered, handleSum, handleCount, waitSum, abandoned };
}

/** Make the plan (throws PlanError when Prometheus, the queue or the history does not allow one). */
export async function makePlan(prom: PrometheusClient, o: PlanOptions): Promise<PlanReport> {
  validatePlanOptions(o);
  const step = o.intervalMinutes * 60;
  const start = Math.floor(o.start / 1000 / step) * step;
  const S = WEEK_SECONDS / step;
  const from = start - o.weeks * WEEK_SECONDS;

  const queues = await prom.labelValues('queue', 'switchboard_calls_offered_total', from, start);
  if (!queues.includes(o.queue)) {
    throw new PlanError(
      'unknown_queue',
      queues.length
        ? `unknown queue "${o.queue}": Prometheus at ${prom.url} has switchboard_calls_offered_total for ${queues.map((x) => `"${x}"`).join(', ')} in the ${o.weeks} weeks before ${iso(start)}`
        : `unknown queue "${o.queue}": Prometheus at ${prom.url} has no switchboard_calls_offered_total at all in the ${o.weeks} weeks before ${iso(start)} (is it scraping Switchboard?)`,
      'queue',
    );
  }
  const all = await fetchSeries(prom, o.queue, from, start, step);

  // How much history there is: from the first interval with (nearly) its full count of samples to the start.
  const typicalAll = median(all.coverage.filter((c): c is number => c !== null && c > 0));
  const firstIdx = all.coverage.findIndex((c) => c !== null && c > 0 && c >= MIN_COVERAGE * typicalAll);
  const haveSeconds = firstIdx === -1 ? 0 : (all.coverage.length - firstIdx) * step;
  const weeks = Math.floor(haveSeconds / WEEK_SECONDS);
  if (weeks < MIN_WEEKS) {
    throw new PlanError(
      'too_little_history',
      `too little history for queue "${o.queue}": Prometheus at ${prom.url} has ${span(haveSeconds)} of switchboard_calls_offered_total before ${iso(start)}` +
        `${firstIdx === -1 ? '' : ` (since ${iso(from + firstIdx * step)})`}; a plan needs at least ${MIN_WEEKS} whole weeks (asked for ${o.weeks})`,
    );
  }
  const warnings: string[] = [];
  if (weeks < o.weeks)
    warnings.push(
      `only ${weeks} whole weeks of history for queue "${o.queue}" (since ${iso(from + firstIdx * step)}): planned from those, not ${o.weeks}`,
    );
  const cut = (xs: (number | null)[]) => xs.slice(xs.length - weeks * S);
  const s: Series = {
    coverage: cut(all.coverage),
    offered: cut(all.offered),
    handleSum: cut(all.handleSum),
    handleCount: cut(all.handleCount),
    waitSum: cut(all.waitSum),
    abandoned: cut(all.abandoned),
  };
  const historyStart = start - weeks * WEEK_SECONDS;

  // Intervals with too few samples (an outage of the app or of Prometheus) count as missing.
  const typical = median(s.coverage.filter((c): c is number => c !== null && c > 0));
  const present = s.coverage.map((c) => c !== null && c >= MIN_COVERAGE * typical);
  const values = s.offered.map((v, i) => (present[i] ? Math.max(0, v ?? 0) : null));
  const history: History = { values, slotsPerWeek: S };
  const screened = screenDays(history);
  const bt = backtest(history);
  const forecast = forecastWeek(bt.chosen, history, screened.usable);

  // Handle time per weekly slot, drawn toward the queue's overall mean where the slot saw few calls.
  const sum = (xs: (number | null)[]) => xs.reduce<number>((a, x, i) => a + (present[i] ? (x ?? 0) : 0), 0);
  const totalHandle = sum(s.handleSum);
  const totalHandled = sum(s.handleCount);
  const forecastCalls = forecast.reduce((a, x) => a + x, 0);
  if (!(totalHandled > 0) && forecastCalls > 0) {
    throw new PlanError(
      'too_little_history',
      `no handled calls (switchboard_handle_seconds) for queue "${o.queue}" in the ${weeks} weeks before ${iso(start)}: the handle time is unknown`,
    );
  }
  const meanAht = totalHandled > 0 ? totalHandle / totalHandled : 0;
  const totalAbandoned = sum(s.abandoned);
  const patience = totalAbandoned >= MIN_ABANDONS ? sum(s.waitSum) / totalAbandoned : null;

  const intervals: PlanInterval[] = forecast.map((calls, k) => {
    let hs = 0;
    let hc = 0;
    for (let w = 0; w < weeks; w++) {
      const i = w * S + k;
      if (!present[i]) continue;
      hs += s.handleSum[i] ?? 0;
      hc += s.handleCount[i] ?? 0;
    }
    const aht = meanAht > 0 ? (hs + AHT_PRIOR_CALLS * meanAht) / (hc + AHT_PRIOR_CALLS) : 0;
    const agents = calls > 0 && aht > 0 ? staff(calls * (3600 / step), aht, o, patience) : 0;
    return {
      start: iso(start + k * step),
      arrivals: round(calls, 2),
      ahtSeconds: round(aht, 1),
      patienceSeconds: patience === null ? null : round(patience, 1),
      agents,
      scheduledAgents: Math.max(0, Math.ceil(agents / (1 - o.shrinkage) - 1e-9)),
    };
  });

  const chosen = bt.methods[bt.chosen];
  return {
    plan: {
      queue: o.queue,
      intervalMinutes: o.intervalMinutes,
      intervals,
      backtest: { weeks: bt.weeks, wape: finiteOrNull(chosen.wape, 4), bias: finiteOrNull(chosen.bias, 4) },
    },
    method: bt.chosen,
    methods: bt.methods,
    historyWeeks: weeks,
    historyStart: iso(historyStart),
    model: patience === null ? 'erlang_c' : 'erlang_a',
    anomalousDays: screened.anomalousDays.map((d) => ({
      date: iso(historyStart + (d.week * 7 + d.day) * 86_400).slice(0, 10),
      ratio: round(d.ratio, 2),
    })),
    missingIntervals: values.filter((v) => v === null).length,
    warnings,
  };
}

function staff(arrivalsPerHour: number, ahtSeconds: number, o: PlanOptions, patience: number | null): number {
  return agentsForServiceLevel({
    arrivalsPerHour,
    ahtSeconds,
    targetSeconds: o.targetSeconds,
    targetServiceLevel: o.targetServiceLevel,
    ...(patience !== null ? { patienceSeconds: patience } : {}),
    maxAgents: 100_000,
  }).agents;
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const finiteOrNull = (x: number, digits: number): number | null => (Number.isFinite(x) ? round(x, digits) : null);
