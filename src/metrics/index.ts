/**
 * Prometheus metrics, one Registry per app instance. Every counter and histogram is fed by domain or
 * service events from the bus (no measure computed by a second code path); scrape-time gauges read
 * Redis through read-only snapshot functions registered by the queue and agent modules.
 * The catalogue, with each series' meaning, is docs/metrics.md. Nothing imports this module but app.ts.
 *
 * Modules: call-series.ts (the call-centre series) fed by domain.ts, service.ts (webhooks, errors),
 * runtime.ts (process, build, configuration, today), recording.ts (call recordings), gauges.ts (scrape-time
 * gauges), labels.ts (bounded label values).
 */
import { Registry } from 'prom-client';
import type { CenterConfig } from '../config/callcenter.js';
import type { EventBus } from '../events.js';
import { createCallSeries, zeroCallSeries } from './call-series.js';
import { domainRecorder } from './domain.js';
import { registerScrapeGauges } from './gauges.js';
import { createLabels } from './labels.js';
import { registerRecordingMetrics } from './recording.js';
import { registerRuntimeMetrics } from './runtime.js';
import { createServiceSeries } from './service.js';
import type { GaugeSources } from './types.js';

export type { TodayRow } from './runtime.js';
export type { QueueSnapshot, AgentCounts, StaffingRow, PlanRow, GaugeSources } from './types.js';
export { PATIENCE_MARKS } from './call-series.js';

export interface Metrics {
  registry: Registry;
  setGaugeSources(sources: GaugeSources): void;
}

/**
 * One read per scrape: the gauges that share a source (three read the queue snapshots, six the staffing
 * rows, two the plan) are collected at once by the registry, and share the read in flight.
 */
function sharedRead<T>(fn: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    if (!inFlight) {
      const p = fn();
      inFlight = p;
      const clear = () => {
        if (inFlight === p) inFlight = undefined;
      };
      p.then(clear, clear);
    }
    return inFlight;
  };
}

/** Build the registry and subscribe it to the bus. */
export function createMetrics({ center, bus, now = Date.now }: { center: CenterConfig; bus: EventBus; now?: () => number }): Metrics {
  const registry = new Registry();
  const sources: GaugeSources = {};
  const labels = createLabels(center);

  const calls = createCallSeries(registry, center);
  const service = createServiceSeries(registry, labels);
  zeroCallSeries(calls, center, labels.flows);
  bus.onDomain(domainRecorder(calls, labels, center));
  bus.onService(service.onService);

  // A Redis outage must not break /metrics: gauges go missing for that scrape, and the error is counted.
  async function read<T>(fn: (() => Promise<T>) | undefined): Promise<T | undefined> {
    if (!fn) return undefined;
    try {
      return await fn();
    } catch {
      service.redisErrors.inc({ op: 'scrape' });
      return undefined;
    }
  }

  registerRuntimeMetrics({ registry, center, now, today: () => read(sources.today), queueLabel: labels.queue });
  registerRecordingMetrics({ registry, bus, queueLabel: labels.queue });
  registerScrapeGauges(registry, sources, labels, read);

  return {
    registry,
    setGaugeSources(s) {
      if (s.queues) sources.queues = sharedRead(s.queues);
      if (s.agents) sources.agents = sharedRead(s.agents);
      if (s.staffing) sources.staffing = sharedRead(s.staffing);
      if (s.today) sources.today = sharedRead(s.today);
      if (s.plan) sources.plan = sharedRead(s.plan);
    },
  };
}
