/**
 * Ghosts: callers in Redis whose call has ended, their hangup lost (the Enqueue action and the final
 * status callback never arrived: e.g. answered with errors during a Redis outage; Twilio does not resend
 * them). They are found by the bridge (Twilio has no such queue member) and by the sweep (callers waiting
 * far past their queue's max wait), checked with Twilio, and closed as abandoned.
 */
import { callHasEnded } from '../call-status.js';
import type { QueueContext } from './context.js';
import type { Router } from './router.js';
import type { CallFacts } from './twilio-rest.js';

/**
 * How long past the queue's maxWaitSeconds a caller must wait to be checked with Twilio (a live one has been
 * sent to overflow by its waitUrl by then), how many are checked per queue per look, and how long before the
 * same caller is checked again (by any instance).
 */
const GHOST_MARGIN_SECONDS = 120;
const GHOST_CHECKS_PER_SCAN = 5;
const GHOST_RECHECK_MS = 10 * 60_000;

export interface Ghosts {
  /**
   * Ask Twilio whether a caller still in our queue is on the line. When the call has ended, the caller is
   * counted abandoned through the ordinary leave (at most once: the leave script answers 'gone' to any later
   * leave), with the wait up to the call's end when Twilio says. True when the call has ended (closed now or
   * already gone); false when it is live or its status could not be read (the caller keeps their place).
   */
  closeIfEnded(queue: string, callSid: string, via: 'bridge' | 'sweep'): Promise<boolean>;
  /**
   * Callers waiting far past their queue's max wait are checked with Twilio (a few per queue per look,
   * longest first, each at most once per GHOST_RECHECK_MS across instances), and closed when their call has
   * ended. In normal operation there are none, so this costs one ZRANGEBYSCORE per queue.
   */
  closeGhosts(now: number): Promise<void>;
}

/** Build the ghost checks. */
export function createGhosts(ctx: QueueContext, router: Router): Ghosts {
  const { center, queues, rest } = ctx;

  async function closeIfEnded(queue: string, callSid: string, via: 'bridge' | 'sweep'): Promise<boolean> {
    let call: CallFacts;
    try {
      call = await rest.fetchCall(callSid);
    } catch (err) {
      ctx.log.warn(
        { err: (err as Error).message, queue, via },
        "could not read a waiting caller's call from Twilio; the caller keeps their place",
      );
      return false;
    }
    if (!callHasEnded(call.status)) return false;
    const info = await queues.callerInfo(queue, callSid);
    if (!info || info.callback) return true;
    const waitSeconds = call.endedAt !== null && info.enqueuedAt > 0 ? Math.max(0, (call.endedAt - info.enqueuedAt) / 1000) : undefined;
    const r = await queues.leave({
      queue,
      callSid,
      outcome: 'abandoned',
      waitSeconds,
      shortAbandonSeconds: ctx.short,
      serviceLevelSeconds: ctx.sl(queue),
    });
    ctx.publish(r.events);
    if (r.result === 'left') {
      ctx.log.warn(
        { queue, via, status: call.status, offerId: info.offerId },
        'closed a caller whose call had ended while still waiting in the queue (hangup lost) as abandoned',
      );
      ctx.bus.service({ type: 'queue.ghost_closed', queue, via });
    }
    // Being offered to an agent right now: the offer is withdrawn (a bridge in progress ends at its dequeue).
    if (info.state === 'offered') await router.withdrawOfferFor(callSid);
    return true;
  }

  async function closeGhosts(now: number): Promise<void> {
    for (const [queue, q] of Object.entries(center.queues)) {
      const before = now - (q.maxWaitSeconds + GHOST_MARGIN_SECONDS) * 1000;
      let checks = 0;
      for (const callSid of await queues.enqueuedBefore(queue, before, GHOST_CHECKS_PER_SCAN * 4)) {
        if (checks >= GHOST_CHECKS_PER_SCAN || ctx.stopped()) break;
        const info = await queues.callerInfo(queue, callSid);
        // A bridge in progress settles itself (its dequeue finds out); callbacks hold their place by design.
        if (!info || info.callback || (info.state !== 'waiting' && info.state !== 'offered')) continue;
        if (!(await queues.claimCheck(queue, callSid, GHOST_RECHECK_MS))) continue;
        checks++;
        await closeIfEnded(queue, callSid, 'sweep');
      }
    }
  }

  return { closeIfEnded, closeGhosts };
}
