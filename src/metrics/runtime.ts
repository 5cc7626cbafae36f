/**
 * The series that are not call counts: the process's own runtime (prom-client's default metrics: CPU,
 * memory, heap, event-loop lag, handles), what build is running, the configured targets and thresholds
 * (so dashboards and alerts read them instead of repeating literals), the call center's time zone, and
 * today's counts in that time zone (the same Redis tally the built-in wallboard shows).
 * Series and their meaning: docs/metrics.md "Service health" and "Configuration and today".
 */
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { centerTimeZone, serviceLevelSecondsFor, type CenterConfig } from '../config/callcenter.js';
import { packageVersion } from '../version.js';

const P = 'switchboard_';

/** Today's counts for one queue, from the day tally (src/web/day-tally.ts). */
export interface TodayRow {
  queue: string;
  offered: number;
  answered: number;
  answeredWithinSl: number;
  abandoned: number;
  shortAbandoned: number;
  overflow: number;
  callback: number;
}

/** The `count` label of switchboard_calls_today, and where each value comes from. */
const TODAY_COUNTS: [string, keyof Omit<TodayRow, 'queue'>][] = [
  ['offered', 'offered'],
  ['answered', 'answered'],
  ['answered_within_sl', 'answeredWithinSl'],
  ['abandoned', 'abandoned'],
  ['short_abandoned', 'shortAbandoned'],
  ['overflow', 'overflow'],
  ['callback', 'callback'],
];

/** Offset of `timeZone` from UTC at `ms`, in seconds (e.g. -18000 for New York in winter). */
export function utcOffsetSeconds(ms: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, Number(p.value)]),
  ) as Record<string, number>;
  const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 1000);
}

export interface RuntimeOptions {
  registry: Registry;
  center: CenterConfig;
  now: () => number;
  today: () => Promise<TodayRow[] | undefined>;
  queueLabel: (queue: string) => string;
}

export function registerRuntimeMetrics(o: RuntimeOptions): void {
  const { registry, center } = o;
  // process_* and nodejs_* series, on this app's registry only (never the global one: several apps may
  // share a process in tests). Event-loop lag is sampled every 10 ms (prom-client's default).
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: P + 'build_info',
    help: 'Always 1; labels name the running build: Switchboard version and Node.js version.',
    labelNames: ['version', 'nodejs'],
    registers: [registry],
  }).set({ version: packageVersion(), nodejs: process.versions.node }, 1);

  const queues = Object.keys(center.queues);
  const perQueue = (name: string, help: string, value: (queue: string) => number) => {
    const g = new Gauge({ name: P + name, help, labelNames: ['queue'], registers: [registry] });
    for (const queue of queues) g.set({ queue }, value(queue));
  };
  perQueue(
    'service_level_target',
    'Configured service-level target, ratio 0-1 (thresholds.serviceLevelTarget).',
    () => center.thresholds.serviceLevelTarget,
  );
  perQueue('service_level_seconds', "Configured service-level threshold T in seconds (the queue's serviceLevelSeconds).", (q) =>
    serviceLevelSecondsFor(center, q),
  );
  const single = (name: string, help: string, value: number) => new Gauge({ name: P + name, help, registers: [registry] }).set(value);
  single(
    'short_abandon_seconds',
    'Configured short-abandon threshold in seconds (thresholds.shortAbandonSeconds).',
    center.thresholds.shortAbandonSeconds,
  );
  single(
    'repeat_window_seconds',
    'Configured repeat-contact window in seconds (thresholds.repeatWindowSeconds).',
    center.thresholds.repeatWindowSeconds,
  );
  single(
    'capacity_window_seconds',
    'Configured window of the observed staffing inputs in seconds (thresholds.capacityWindowSeconds).',
    center.thresholds.capacityWindowSeconds,
  );

  const timeZone = centerTimeZone(center);
  new Gauge({
    name: P + 'center_time_zone_info',
    help: 'Always 1; the call center\'s time zone, which defines "today" (the first business-hours set, UTC when none).',
    labelNames: ['time_zone'],
    registers: [registry],
  }).set({ time_zone: timeZone }, 1);
  new Gauge({
    name: P + 'center_utc_offset_seconds',
    help: "Offset of the call center's time zone from UTC now, seconds (daylight saving included).",
    registers: [registry],
    collect() {
      this.set(utcOffsetSeconds(o.now(), timeZone));
    },
  });
  new Gauge({
    name: P + 'calls_today',
    help: "Calls per queue today (calendar day in the call center's time zone), by count: offered, answered, answered_within_sl, abandoned, short_abandoned, overflow, callback. Read from Redis at scrape time.",
    labelNames: ['queue', 'count'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await o.today()) ?? []) {
        for (const [count, field] of TODAY_COUNTS) this.set({ queue: o.queueLabel(r.queue), count }, r[field]);
      }
    },
  });
}
