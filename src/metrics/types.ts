/** The shapes the scrape-time gauges read (registered by the modules that own the state, see app.ts). */
import type { TodayRow } from './runtime.js';

export interface QueueSnapshot {
  queue: string;
  waiting: number;
  callbacksPending: number;
  longestWaitSeconds: number;
}
export interface AgentCounts {
  state: string;
  team: string;
  count: number;
}
export interface StaffingRow {
  queue: string;
  arrivalsPerHour: number;
  ahtSeconds: number;
  staffed: number;
  patienceSeconds: number | null;
  requiredErlangC: number;
  requiredErlangA: number | null;
}

/** The current planning interval's forecast and plan of a queue (read from the store, src/capacity/live.ts). */
export interface PlanRow {
  queue: string;
  forecastArrivalsPerHour: number;
  plannedAgents: number;
}

/** Read-only sources for scrape-time gauges, registered by the modules that own the state. */
export interface GaugeSources {
  queues?: () => Promise<QueueSnapshot[]>;
  agents?: () => Promise<AgentCounts[]>;
  staffing?: () => Promise<StaffingRow[]>;
  /** Today's counts per queue in the call center's time zone (the wallboard's day tally). */
  today?: () => Promise<TodayRow[]>;
  plan?: () => Promise<PlanRow[]>;
}
