/**
 * The plan of the current interval, kept up to date for /metrics (switchboard_forecast_arrivals_per_hour,
 * switchboard_staffing_planned_agents): once per planning interval one instance (whichever takes the
 * store's lock) asks Prometheus for each queue's plan from the interval's start and saves the first
 * interval in the store; every instance's metrics read it from there, so all export the same figures.
 * Needs PROMETHEUS_URL (the Prometheus that scrapes Switchboard).
 */
import { makePlan, type PlanOptions } from './plan.js';
import { PlanError } from './plan-error.js';
import type { PrometheusClient } from './prometheus.js';

export interface CurrentPlanRow {
  queue: string;
  /** Forecast calls offered in the interval, per hour. */
  forecastArrivalsPerHour: number;
  /** Agents needed on the phones (Erlang A/C), before shrinkage. */
  plannedAgents: number;
  scheduledAgents: number;
}

export interface CurrentPlan {
  /** Interval start and end, epoch ms. */
  from: number;
  to: number;
  queues: CurrentPlanRow[];
}

/** Where the current plan lives (Redis in the app: src/store/plan.ts). */
export interface PlanStore {
  load(): Promise<CurrentPlan | null>;
  save(plan: CurrentPlan): Promise<void>;
  /** True for the one caller that may compute the plan starting `from` (the lock expires after `ttlMs`). */
  claim(from: number, ttlMs: number): Promise<boolean>;
}

export interface LivePlannerOptions {
  prometheus: PrometheusClient;
  store: PlanStore;
  now: () => number;
  /** Queues with their service-level target (seconds and fraction). */
  queues: { queue: string; targetSeconds: number; targetServiceLevel: number }[];
  intervalMinutes?: number;
  weeks?: number;
  shrinkage?: number;
  /** How often to check whether a new interval has started (default 60 s). */
  checkEveryMs?: number;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface LivePlanner {
  /** Computes and saves the current interval's plan unless it is saved already or another instance is on it. */
  tick(): Promise<'saved' | 'current' | 'busy' | 'failed'>;
  start(): void;
  stop(): void;
}

/** The current plan if it covers `now`, else null (a stale plan is not exported). */
export function currentRows(plan: CurrentPlan | null, now: number): CurrentPlanRow[] {
  return plan && now >= plan.from && now < plan.to ? plan.queues : [];
}

export function createLivePlanner(o: LivePlannerOptions): LivePlanner {
  const minutes = o.intervalMinutes ?? 30;
  const stepMs = minutes * 60_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<'saved' | 'current' | 'busy' | 'failed'> | undefined;

  async function compute(): Promise<'saved' | 'current' | 'busy' | 'failed'> {
    const from = Math.floor(o.now() / stepMs) * stepMs;
    const saved = await o.store.load();
    if (saved && saved.from === from) return 'current';
    if (!(await o.store.claim(from, 60_000))) return 'busy';
    const rows: CurrentPlanRow[] = [];
    for (const q of o.queues) {
      const options: PlanOptions = {
        queue: q.queue,
        weeks: o.weeks ?? 8,
        intervalMinutes: minutes,
        targetSeconds: q.targetSeconds,
        targetServiceLevel: q.targetServiceLevel,
        shrinkage: o.shrinkage ?? 0.3,
        start: from,
      };
      try {
        const first = (await makePlan(o.prometheus, options)).plan.intervals[0]!;
        rows.push({
          queue: q.queue,
          forecastArrivalsPerHour: first.arrivals * (60 / minutes),
          plannedAgents: first.agents,
          scheduledAgents: first.scheduledAgents,
        });
      } catch (e) {
        if (e instanceof PlanError && (e.kind === 'prometheus_unreachable' || e.kind === 'prometheus_failed')) {
          o.log?.warn({ err: e.message }, 'plan: Prometheus did not answer; the forecast gauges stay absent until it does');
          return 'failed';
        }
        // No history yet for this queue (or not scraped): no figure for it, the others still count.
        o.log?.info({ queue: q.queue, reason: e instanceof Error ? e.message : String(e) }, 'plan: no forecast for this queue');
      }
    }
    await o.store.save({ from, to: from + stepMs, queues: rows });
    return 'saved';
  }

  return {
    async tick() {
      running ??= compute().finally(() => (running = undefined));
      return running;
    },
    start() {
      const run = () =>
        void this.tick().catch((e: unknown) => o.log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'plan: update failed'));
      run();
      timer = setInterval(run, o.checkEveryMs ?? 60_000);
      timer.unref?.();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
