/**
 * Staffing need per queue from what was observed over the capacity window: arrival rate (offers), mean
 * handle time (recent wrap-ups) and, where callers have abandoned, their patience. Fed to Erlang C, and to
 * Erlang A (M/M/N+M) once the patience is known, for the queue's service-level target.
 *
 * Patience. Each caller who left the queue in the window was seen waiting for `wait` seconds, and either
 * gave up (an abandon) or did not (answered, overflow: their patience was longer than their wait, a
 * censored observation). For exponential patience the maximum-likelihood estimate of its mean is
 *
 *     patiencê = Σ waits of all callers who left ÷ abandons
 *
 * (the abandonment rate per second of waiting, inverted). Short abandons count as abandons here: Erlang A's
 * exponential patience has them too, and dropping them would over-state patience. The estimate's relative
 * standard error is about 1/√abandons, so it is only used from MIN_ABANDONS abandons on.
 */
import { agentsForServiceLevel } from '../capacity/erlang.js';
import { serviceLevelSecondsFor, type CenterConfig } from '../config/callcenter.js';
import type { AgentStore } from '../agents/store.js';
import type { QueueStore } from './store.js';

/** Abandons in the window before the patience estimate (and so Erlang A) is reported. */
export const MIN_ABANDONS = 5;

export interface StaffingRowOut {
  queue: string;
  arrivalsPerHour: number;
  ahtSeconds: number;
  staffed: number;
  /** Mean caller patience estimated over the window; null with fewer than MIN_ABANDONS abandons. */
  patienceSeconds: number | null;
  requiredErlangC: number;
  requiredErlangA: number | null;
}

/** Mean patience (s) from the callers who left the queue: Σ waits ÷ abandons; null below `minAbandons`. */
export function estimatePatienceSeconds(o: { waitSeconds: number; abandoned: number }, minAbandons = MIN_ABANDONS): number | null {
  if (o.abandoned < Math.max(1, minAbandons) || !(o.waitSeconds > 0)) return null;
  return o.waitSeconds / o.abandoned;
}

/** One row per queue; AHT is the queue's `expectedHandleSeconds` until handle times are known. */
export async function staffingRows(a: {
  center: CenterConfig;
  queues: QueueStore;
  agents: AgentStore;
  now: number;
}): Promise<StaffingRowOut[]> {
  const windowS = a.center.thresholds.capacityWindowSeconds;
  const since = a.now - windowS * 1000;
  // Every queue's reads at once: independent reads, sent together (one round trip with auto-pipelining).
  return Promise.all(
    Object.entries(a.center.queues).map(async ([queue, q]): Promise<StaffingRowOut> => {
      const [arrivals, times, staffedFor, left] = await Promise.all([
        a.queues.arrivalsSince(queue, since),
        a.queues.recentHandleTimes(queue, 200),
        a.agents.staffedFor(q.skills),
        a.queues.leftSince(queue, since),
      ]);
      return staffingRow(a.center, queue, windowS, { arrivals, times, staffed: staffedFor.staffed, left });
    }),
  );
}

/** A queue's row from what was observed over the window. */
function staffingRow(
  center: CenterConfig,
  queue: string,
  windowS: number,
  o: { arrivals: number; times: number[]; staffed: number; left: { waitSeconds: number; abandoned: number } },
): StaffingRowOut {
  const { arrivals, times, staffed, left } = o;
  const q = center.queues[queue]!;
  const aht = times.length ? times.reduce((x, y) => x + y, 0) / times.length : q.expectedHandleSeconds;
  const patience = estimatePatienceSeconds(left);
  const arrivalsPerHour = (arrivals * 3600) / windowS;
  const need = (patienceSeconds?: number): number => {
    try {
      return agentsForServiceLevel({
        arrivalsPerHour,
        ahtSeconds: aht,
        targetSeconds: serviceLevelSecondsFor(center, queue),
        targetServiceLevel: center.thresholds.serviceLevelTarget,
        ...(patienceSeconds !== undefined ? { patienceSeconds } : {}),
        maxAgents: 5000,
      }).agents;
    } catch {
      return Number.NaN;
    }
  };
  return {
    queue,
    arrivalsPerHour,
    ahtSeconds: aht,
    staffed,
    patienceSeconds: patience,
    requiredErlangC: need(),
    requiredErlangA: patience === null ? null : need(patience),
  };
}
