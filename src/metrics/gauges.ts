/**
 * Scrape-time gauges: queue, agent, staffing and plan figures read from Redis when Prometheus scrapes,
 * through the read-only sources the owning modules register (the agent counts and staffing come from the
 * agent index, never from a read of every agent). The same value on every instance (combine with max in
 * PromQL).
 */
import { Gauge, type Registry } from 'prom-client';
import { AGENT_STATES } from '../events.js';
import { P } from './call-series.js';
import type { Labels } from './labels.js';
import type { GaugeSources, PlanRow, StaffingRow } from './types.js';

/** `read(source)`: the source's rows, or undefined when there is none or Redis failed (counted). */
type Read = <T>(fn: (() => Promise<T>) | undefined) => Promise<T | undefined>;

export function registerScrapeGauges(registry: Registry, sources: GaugeSources, L: Labels, read: Read): void {
  // Scrape-time gauges: the same value on every instance (combine with max in PromQL).
  new Gauge({
    name: P + 'queue_waiting',
    help: 'Callers on the line waiting, per queue (read from Redis at scrape time).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await read(sources.queues)) ?? []) {
        this.set({ queue: L.queue(s.queue) }, s.waiting);
      }
    },
  });
  new Gauge({
    name: P + 'queue_callbacks_pending',
    help: 'Callbacks holding a place, per queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await read(sources.queues)) ?? []) this.set({ queue: L.queue(s.queue) }, s.callbacksPending);
    },
  });
  new Gauge({
    name: P + 'queue_longest_wait_seconds',
    help: 'Wait of the oldest caller on the line, per queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await read(sources.queues)) ?? []) this.set({ queue: L.queue(s.queue) }, s.longestWaitSeconds);
    },
  });
  new Gauge({
    name: P + 'agents',
    help: 'Agents by state and team (read from Redis at scrape time).',
    labelNames: ['state', 'team'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await read(sources.agents);
      if (!rows) return;
      for (const t of L.teams) for (const st of AGENT_STATES) this.set({ state: st, team: t }, 0);
      for (const r of rows) this.inc({ state: r.state, team: L.team(r.team) }, r.count);
    },
  });
  const staffingGauge = (name: string, help: string, pick: (r: StaffingRow) => number | null, extra?: string) =>
    new Gauge({
      name: P + name,
      help,
      labelNames: extra ? ['queue', extra] : ['queue'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of (await read(sources.staffing)) ?? []) {
          const v = pick(r);
          if (v !== null && Number.isFinite(v)) this.set({ queue: L.queue(r.queue) }, v);
        }
      },
    });
  staffingGauge('arrival_rate_per_hour', 'Arrivals per hour observed over the capacity window.', (r) => r.arrivalsPerHour);
  staffingGauge('observed_aht_seconds', 'Mean handle time observed over the capacity window.', (r) => r.ahtSeconds);
  staffingGauge(
    'caller_patience_seconds',
    'Mean caller patience over the capacity window: waits of callers who left / abandons (from 5 abandons).',
    (r) => r.patienceSeconds,
  );
  staffingGauge('agents_staffed', "Agents signed in with the queue's skills.", (r) => r.staffed);
  new Gauge({
    name: P + 'staffing_required_agents',
    help: 'Agents needed for the target service level from observed arrivals and handle time.',
    labelNames: ['queue', 'model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await read(sources.staffing)) ?? []) {
        this.set({ queue: L.queue(r.queue), model: 'erlang_c' }, r.requiredErlangC);
        if (r.requiredErlangA !== null) this.set({ queue: L.queue(r.queue), model: 'erlang_a' }, r.requiredErlangA);
      }
    },
  });

  // The stored plan of the current interval: the same figure on every instance, absent when there is none.
  const planGauge = (name: string, help: string, pick: (r: PlanRow) => number) =>
    new Gauge({
      name: P + name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of (await read(sources.plan)) ?? []) if (Number.isFinite(pick(r))) this.set({ queue: L.queue(r.queue) }, pick(r));
      },
    });
  planGauge(
    'forecast_arrivals_per_hour',
    'Forecast calls offered per hour in the current planning interval (npm run plan, from Prometheus history).',
    (r) => r.forecastArrivalsPerHour,
  );
  planGauge(
    'staffing_planned_agents',
    'Agents the plan puts on the phones in the current planning interval (Erlang A/C on the forecast, before shrinkage).',
    (r) => r.plannedAgents,
  );
}
