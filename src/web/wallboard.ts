/**
 * What the wallboard shows, built from Redis: per queue the callers waiting and the longest wait (the
 * same reads as the supervisor API and the gauges), today's counts and rates (day-tally.ts), and the
 * agents by state.
 */
import { AGENT_STATES, type AgentState } from '../events.js';
import { dayRates, dayOf, type DayCounts, type DayRates, type DayTally } from './day-tally.js';

export interface WallboardQueue {
  id: string;
  name: string;
  waiting: number;
  callbacksPending: number;
  longestWaitSeconds: number;
  serviceLevelSeconds: number;
  today: DayCounts & DayRates;
}

export interface WallboardAgent {
  id: string;
  name: string;
  team: string;
  state: AgentState;
  since: number;
  reason: string | null;
  connected: boolean;
}

export interface WallboardSnapshot {
  [k: string]: unknown;
  type: 'snapshot';
  /** The server's clock (ms): pages compute "time in state" from it, not from the browser's clock. */
  now: number;
  /** The day "today" means, and its time zone. */
  day: string;
  timeZone: string;
  serviceLevelTarget: number;
  shortAbandonSeconds: number;
  queues: WallboardQueue[];
  agentsByState: Record<AgentState, number>;
  agents: WallboardAgent[];
}

export interface WallboardSources {
  now(): number;
  timeZone: string;
  serviceLevelTarget: number;
  shortAbandonSeconds: number;
  queues: { id: string; name: string; serviceLevelSeconds: number }[];
  queueSnapshot(queue: string, at: number): Promise<{ waiting: number; callbacksPending: number; longestWaitSeconds: number }>;
  tally: DayTally;
  agents(): Promise<{ id: string; team: string; state: AgentState; stateSince: number; breakReason: string | null; connected: boolean }[]>;
  agentName(id: string): string;
}

export async function buildWallboardSnapshot(s: WallboardSources): Promise<WallboardSnapshot> {
  const now = s.now();
  const [queues, agents] = await Promise.all([
    Promise.all(
      s.queues.map(async (q): Promise<WallboardQueue> => {
        const [snap, counts] = await Promise.all([s.queueSnapshot(q.id, now), s.tally.read(q.id, now)]);
        return {
          id: q.id,
          name: q.name,
          waiting: snap.waiting,
          callbacksPending: snap.callbacksPending,
          longestWaitSeconds: Math.round(snap.longestWaitSeconds),
          serviceLevelSeconds: q.serviceLevelSeconds,
          today: { ...counts, ...dayRates(counts) },
        };
      }),
    ),
    s.agents(),
  ]);
  const agentsByState = Object.fromEntries(AGENT_STATES.map((st) => [st, 0])) as Record<AgentState, number>;
  for (const a of agents) agentsByState[a.state] += 1;
  return {
    type: 'snapshot',
    now,
    day: dayOf(now, s.timeZone),
    timeZone: s.timeZone,
    serviceLevelTarget: s.serviceLevelTarget,
    shortAbandonSeconds: s.shortAbandonSeconds,
    queues,
    agentsByState,
    agents: agents
      .map((a) => ({
        id: a.id,
        name: s.agentName(a.id),
        team: a.team,
        state: a.state,
        since: a.stateSince,
        reason: a.breakReason,
        connected: a.connected,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
