/**
 * The sweep, run by every instance every `sweepEveryMs`: offer, wrap-up and grace timeouts (the agent
 * store's deadlines), work orphaned by an instance that died, ghosts, and routing of every queue.
 */
import type { QueueContext } from './context.js';
import type { Bridge } from './bridge.js';
import type { Ghosts } from './ghosts.js';
import type { OfferKinds } from './offer-kind.js';
import { answered, resumeDequeue } from './dequeue.js';
import type { OfferRecord } from './offers.js';
import type { Router } from './router.js';

/** How often the sweep looks for work orphaned by a dead instance, and how long past due it must be. */
const ORPHAN_SCAN_EVERY_MS = 5_000;
const ORPHAN_GRACE_MS = 10_000;
/** Accepted but not connected for this long: dialling the agent (20 s) and the dequeue are long over. */
const STALE_BRIDGE_MS = 120_000;
/**
 * Accepted this long ago and still not connected although the agent's leg has answered: the agent's phone
 * has stopped ringing (20 s) and a live instance starts the dequeue as soon as the answer reaches it.
 */
const UNFINISHED_DEQUEUE_MS = 20_000;
/**
 * Accepted this long ago and no agent leg known (no Participants answer, no status callback of the leg):
 * the leg's create (a 12 s REST budget by default) and its first status callbacks are long over, so the
 * instance that took the accept stopped before dialling the agent.
 */
const NO_AGENT_LEG_MS = 45_000;
/** How often the sweep looks for ghosts (ghosts.ts). */
const GHOST_SCAN_EVERY_MS = 30_000;

export interface Sweeper {
  sweep(): Promise<void>;
  /** Run the sweep every `everyMs` until stopped. */
  start(everyMs: number): void;
  stop(): void;
}

/** Build the sweeper. */
export function createSweeper(ctx: QueueContext, router: Router, bridge: Bridge, ghosts: Ghosts, kinds: OfferKinds): Sweeper {
  const { center, clock, queues, agents, offers, rest } = ctx;
  let lastOrphanScan = 0;
  let lastGhostScan = 0;
  let stopTimer: (() => void) | undefined;
  const dq = { ctx, router, ghosts };

  async function sweep(): Promise<void> {
    const expired = await agents.expireOffers({ limit: 100 });
    for (const x of expired.expired) {
      const rec = await offers.get(x.offerId);
      if (rec) await kinds[rec.kind].unanswered(rec, 'offer timeout');
      else await queues.releaseClaim({ queue: x.queue, callSid: x.callSid, offerId: x.offerId });
      await ctx.send(x.agentId, { type: 'offer_cancelled', offerId: x.offerId, reason: 'timeout' });
      await ctx.pushState(x.agentId);
    }
    ctx.publish(expired.events);
    const wraps = await agents.expireWrapUps({ limit: 100 });
    ctx.publish(wraps.events);
    for (const w of wraps.done) {
      await ctx.pushState(w.agentId);
      await ctx.recordHandleTime(w.queue, w.handleSeconds);
    }
    const gone = await agents.expireGrace({ limit: 100 });
    ctx.publish(gone.events);
    for (const g of gone.released) await queues.releaseClaim({ queue: g.queue, callSid: g.callSid, offerId: g.offerId });
    const now = clock.now();
    if (now - lastOrphanScan >= ORPHAN_SCAN_EVERY_MS) {
      lastOrphanScan = now;
      await recoverOrphans(now);
    }
    if (now - lastGhostScan >= GHOST_SCAN_EVERY_MS) {
      lastGhostScan = now;
      await ghosts.closeGhosts(now);
    }
    await router.routeAll();
  }

  /**
   * Work left half done by an instance that died (SIGKILL, crash, lost host) has no timer anywhere else,
   * so the sweep of every instance looks for it:
   *  - a claim with no reservation: the router died between claiming the caller and reserving an agent,
   *    so no offer deadline will ever release it; the caller stays "being offered" past the deadline;
   *  - a bridge that never completed: the instance died after the accept, before the agent's leg was
   *    dialled or before the caller was taken out of the Twilio queue (the leg's status callback is
   *    recorded as seen before it is handled, so nobody handles it again); the agent stays on_call with no
   *    connected call.
   * A bridge whose caller Twilio already took out of the queue (it ran the offer's connect URL) is counted
   * answered and connected. One whose agent's leg has answered (Twilio says so) is finished: the caller is
   * taken out of the queue to that agent (dequeue.ts resumeDequeue; one dequeue per offer at a time). Any other is given
   * back (NO_AGENT_LEG_MS after the accept when no agent leg was ever dialled, else STALE_BRIDGE_MS): the
   * caller keeps their place and is offered again, the agent is freed (its leg, if one was dialled, is
   * hung up). Releases check the offer id atomically, so instances sweeping at the same time
   * do it once.
   */
  async function recoverOrphans(now: number): Promise<void> {
    for (const queue of Object.keys(center.queues)) {
      for (const c of await queues.staleClaims(queue, now - ORPHAN_GRACE_MS)) {
        const a = c.agentId && c.agentId !== 'pending' ? await agents.get(c.agentId) : null;
        // Reserved for this offer: the offer deadline releases it. On the call: the bridge check below.
        if (a && a.offerId === c.offerId && (a.state === 'reserved' || a.state === 'on_call')) continue;
        if ((await queues.releaseClaim({ queue, callSid: c.callSid, offerId: c.offerId })) === 'released') {
          ctx.log.warn({ queue, offerId: c.offerId }, 'released a claim left by an instance that stopped before reserving an agent');
        }
      }
    }
    for (const a of await agents.listInState('on_call')) {
      if (a.connectedAt !== null || a.talkStartedAt === null || !a.offerId) continue;
      if (now - a.talkStartedAt < UNFINISHED_DEQUEUE_MS) continue;
      const offer = await offers.get(a.offerId);
      // Only a bridge whose caller still waits under this very offer.
      if (!offer || !kinds[offer.kind].recoverable) continue;
      const entry = await queues.callerInfo(offer.queue, offer.callSid);
      if (!entry || entry.offerId !== offer.offerId || !['offered', 'callback_offered', 'bridging'].includes(entry.state)) continue;
      if (offer.kind === 'waiting' && entry.state === 'bridging' && (await offers.wasDequeued(offer.offerId))) {
        // Twilio ran the connect URL: the caller is with the agent; the instance stopped before counting it.
        ctx.log.warn(
          { agentId: a.id, offerId: a.offerId },
          'a bridge stopped after the dequeue (its instance stopped): counted answered here',
        );
        await answered(dq, offer);
        continue;
      }
      if (offer.kind === 'waiting' && entry.state === 'bridging' && (await agentAnswered(offer, entry.queueSid))) continue;
      const legKnown = Boolean(offer.agentLegSid ?? (await offers.leg(offer.offerId, 'agent')));
      if (now - a.talkStartedAt < (legKnown ? STALE_BRIDGE_MS : NO_AGENT_LEG_MS)) continue;
      ctx.log.warn({ agentId: a.id, offerId: a.offerId }, 'a bridge never completed (its instance stopped): the caller is offered again');
      if (offer.agentLegSid) await rest.hangup(offer.agentLegSid).catch(() => undefined);
      await bridge
        .bridgeFailed(offer)
        .catch((err: unknown) =>
          ctx.log.warn({ err: (err as Error).message, offerId: offer.offerId }, 'stale bridge: already released elsewhere'),
        );
    }
  }

  /**
   * The agent's leg of a bridge has answered (Twilio's view): its dequeue is finished here unless an
   * instance holds it. True when the leg is up, so the bridge is not given back.
   */
  async function agentAnswered(offer: OfferRecord, entryQueueSid: string | null): Promise<boolean> {
    const legSid = offer.agentLegSid ?? (await offers.leg(offer.offerId, 'agent'));
    const queueSid = offer.queueSid ?? entryQueueSid;
    if (!legSid || !queueSid) return false;
    const leg = await rest.fetchCall(legSid).catch(() => null);
    if (leg?.status !== 'in-progress') return false;
    await resumeDequeue(dq, offer, legSid, queueSid);
    return true;
  }

  function schedule(everyMs: number): void {
    if (ctx.stopped()) return;
    stopTimer = clock.setTimer(everyMs, () => {
      sweep()
        .catch((err: unknown) => ctx.log.warn({ err: (err as Error).message }, 'sweep failed'))
        .finally(() => schedule(everyMs));
    });
  }

  return {
    sweep,
    start: schedule,
    stop() {
      stopTimer?.();
    },
  };
}
