/**
 * Staffing need per queue from what was observed over the capacity window: arrival rate (offers) and
 * mean handle time (recent wrap-ups), fed to Erlang C for the queue's service-level target.
 */
import { agentsForServiceLevel } from '../capacity/erlang.js';
import { serviceLevelSecondsFor, type CenterConfig } from '../config.js';
import type { AgentStore } from '../agents/store.js';
import type { QueueStore } from './store.js';

export interface StaffingRowOut {
  queue: string;
  arrivalsPerHour: number;
  ahtSeconds: number;
  staffed: number;
  requiredErlangC: number;
  requiredErlangA: number | null;
}

/** One row per queue; AHT falls back to 180 s until handle times are known. */
export async function staffingRows(a: { center: CenterConfig; queues: QueueStore; agents: AgentStore; now: number }): Promise<StaffingRowOut[]> {
  const windowS = a.center.thresholds.capacityWindowSeconds;
  const rows: StaffingRowOut[] = [];
  for (const [queue, q] of Object.entries(a.center.queues)) {
    const arrivals = await a.queues.arrivalsSince(queue, a.now - windowS * 1000);
    const times = await a.queues.recentHandleTimes(queue, 200);
    const aht = times.length ? times.reduce((x, y) => x + y, 0) / times.length : 180;
    const staffed = (await a.agents.staffedFor(q.skills)).staffed;
    const arrivalsPerHour = (arrivals * 3600) / windowS;
    let required = 0;
    try {
      required = agentsForServiceLevel({
        arrivalsPerHour,
        ahtSeconds: aht,
        targetSeconds: serviceLevelSecondsFor(a.center, queue),
        targetServiceLevel: a.center.thresholds.serviceLevelTarget,
        maxAgents: 5000,
      }).agents;
    } catch {
      required = Number.NaN;
    }
    rows.push({ queue, arrivalsPerHour, ahtSeconds: aht, staffed, requiredErlangC: required, requiredErlangA: null });
  }
  return rows;
}
