/**
 * Today's counters per queue for the wallboard ("service level today", "abandonment today").
 *
 * Counted from the domain events on this process's bus with exactly the rules of the Prometheus counters
 * in src/metrics (switchboard_calls_offered_total, ..._answered_within_sl_total, ..._short_abandoned_total):
 * every event is published on the bus of the one instance whose script produced it, so each instance adds
 * its own events to one Redis hash per queue and day, and the hash is the sum over instances.
 *
 * Definitions (docs/definitions.md, "Service level" and "Abandonment rate"):
 *   service level   = answered within T / (offered − short abandons), T = the queue's service-level seconds
 *   abandonment     = (abandoned − short abandons) / (offered − short abandons)
 * Both are null while the denominator is 0. "Today" is the calendar day in `timeZone`, by the event's
 * time from the injected clock.
 */
import type { DomainEvent, EventBus } from '../events.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';

/** Day hashes outlive their day by this much (yesterday stays readable). */
const KEEP_SECONDS = 3 * 24 * 3600;

export interface DayCounts {
  offered: number;
  answered: number;
  answeredWithinSl: number;
  abandoned: number;
  shortAbandoned: number;
  overflow: number;
  callback: number;
}

export interface DayRates {
  /** answered within T / (offered − short abandons); null when nothing counts yet. */
  serviceLevel: number | null;
  /** (abandoned − short abandons) / (offered − short abandons); null when nothing counts yet. */
  abandonment: number | null;
}

/** The two measures from the day's counts, by the definitions above. */
export function dayRates(c: DayCounts): DayRates {
  const denom = c.offered - c.shortAbandoned;
  if (denom <= 0) return { serviceLevel: null, abandonment: null };
  return {
    serviceLevel: Math.min(1, c.answeredWithinSl / denom),
    abandonment: Math.min(1, Math.max(0, c.abandoned - c.shortAbandoned) / denom),
  };
}

/** The calendar date (YYYY-MM-DD) of `ms` in `timeZone`. */
export function dayOf(ms: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}`;
}

export interface DayTally {
  /** Today's counts for a queue (today = the day of `now` in the tally's time zone). */
  read(queue: string, now: number): Promise<DayCounts>;
  /** Resolves when every counter update started so far has reached Redis (tests, shutdown). */
  flush(): Promise<void>;
  stop(): void;
}

export interface DayTallyOptions {
  redis: RedisClient;
  keys: Keys;
  bus: EventBus;
  timeZone: string;
  /** The queue's service-level threshold when an event does not carry one. */
  serviceLevelSeconds(queue: string): number;
  onError(err: unknown): void;
}

export function createDayTally(o: DayTallyOptions): DayTally {
  const pending = new Set<Promise<unknown>>();

  const bump = (queue: string, at: number, fields: Record<string, number>) => {
    const key = o.keys.queue(queue).day(dayOf(at, o.timeZone));
    // Plain commands, not MULTI: issued in the publisher's tick, they leave in the same socket write as the
    // webhook's own (ioredis auto-pipelining), where a MULTI block would be a write of its own.
    const writes: Promise<unknown>[] = [];
    for (const [f, n] of Object.entries(fields)) if (n) writes.push(o.redis.hincrby(key, f, n));
    writes.push(o.redis.expire(key, KEEP_SECONDS));
    const p = Promise.all(writes).catch(o.onError);
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const onEvent = (e: DomainEvent) => {
    if (e.type === 'queue.offered') {
      bump(e.queue, e.at, { offered: 1 });
    } else if (e.type === 'queue.left') {
      const sl = e.serviceLevelSeconds || o.serviceLevelSeconds(e.queue);
      const f: Record<string, number> = {};
      if (e.outcome === 'answered') {
        f.answered = 1;
        if (e.waitSeconds <= sl) f.answered_within_sl = 1;
      } else if (e.outcome === 'abandoned') {
        f.abandoned = 1;
        if (e.short) f.short_abandoned = 1;
      } else if (e.outcome === 'overflow') {
        f.overflow = 1;
      } else {
        f.callback = 1;
      }
      bump(e.queue, e.at, f);
    }
  };
  const off = o.bus.onDomain(onEvent);

  return {
    async read(queue, now) {
      const h = await o.redis.hgetall(o.keys.queue(queue).day(dayOf(now, o.timeZone)));
      const n = (f: string): number => Number(h[f] ?? 0) || 0;
      return {
        offered: n('offered'),
        answered: n('answered'),
        answeredWithinSl: n('answered_within_sl'),
        abandoned: n('abandoned'),
        shortAbandoned: n('short_abandoned'),
        overflow: n('overflow'),
        callback: n('callback'),
      };
    },
    async flush() {
      await Promise.all([...pending]);
    },
    stop() {
      off();
    },
  };
}
