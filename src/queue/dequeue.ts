/**
 * The dequeue of a bridge (bridge.ts): once the agent's leg answers, the caller is taken out of the Twilio
 * queue onto the connect URL, which joins them to the call's conference; then the call counts as answered.
 *
 * The dequeue needs Twilio's QueueSid, which Twilio tells with its first waitUrl request: when the agent
 * answers before that request, the caller is marked as awaiting it (atomically, in Redis) and the waitUrl
 * request that brings it carries on with the dequeue, on whichever instance it lands. If it does not come
 * within QUEUE_SID_WAIT_MS, the caller is not in Twilio's queue: the bridge fails as for a dequeue Twilio
 * refused. A failed bridge gives the caller their place back and frees the agent.
 */
import type { QueueContext } from './context.js';
import type { Ghosts } from './ghosts.js';
import type { OfferRecord } from './offers.js';
import type { Router } from './router.js';
import { isNotFound } from './twilio-rest.js';

/** How long an answered agent leg waits for the caller's QueueSid before the bridge gives up. */
const QUEUE_SID_WAIT_MS = 5_000;
/**
 * How long one instance holds an offer's dequeue (offers.claimDequeue): well past the dequeue's REST budget
 * (12 s by default) and the steps after it, so a live instance is never joined by a second dequeue; one
 * left by an instance that died lapses after this, and a survivor's sweep finishes the bridge.
 */
const DEQUEUE_HOLD_MS = 30_000;

/** What the dequeue steps share (built once by the bridge). */
export interface DequeueDeps {
  ctx: QueueContext;
  router: Router;
  ghosts: Ghosts;
}

/** The bridge did not happen: the caller keeps their place, the agent is free again. */
export async function bridgeFailed({ ctx, router }: DequeueDeps, offer: OfferRecord): Promise<void> {
  const { queues, agents, clock } = ctx;
  const rel = await queues.releaseClaim({ queue: offer.queue, callSid: offer.callSid, offerId: offer.offerId });
  ctx.publish((await agents.bridgeFailed({ agentId: offer.agentId, offerId: offer.offerId })).events);
  await ctx.send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'failed', since: clock.now() });
  await ctx.pushState(offer.agentId);
  if (rel === 'released') router.routeSoon(offer.queue);
}

/** The agent answered: take the caller out of the Twilio queue, once their QueueSid is known. */
export async function dequeueCaller(d: DequeueDeps, offer: OfferRecord, legSid: string): Promise<void> {
  const { queues, clock } = d.ctx;
  if (offer.queueSid) return dequeueWith(d, offer, legSid, offer.queueSid);
  const known = await queues.awaitQueueSid(offer.queue, offer.callSid, offer.offerId);
  if (known.result === 'sid') return dequeueWith(d, offer, legSid, known.queueSid);
  if (known.result === 'gone') return dequeueFailed(d, offer, legSid, true, 'the caller is no longer being bridged');
  // Waiting: the waitUrl request that brings the QueueSid carries on (queueSidArrived). Past the wait,
  // whoever removes the mark first decides, so the dequeue and the failure never both run.
  clock.setTimer(QUEUE_SID_WAIT_MS, () => {
    d.ctx.detach(
      (async () => {
        if (await queues.stopAwaitingQueueSid(offer.queue, offer.callSid))
          await dequeueFailed(d, offer, legSid, true, 'no QueueSid known for this caller');
      })(),
      'bridge without a QueueSid failed',
    );
  });
}

/** The caller's QueueSid arrived for an offer whose bridge was waiting for it: carry on with the dequeue. */
export async function queueSidArrived(d: DequeueDeps, offerId: string, queueSid: string): Promise<void> {
  const { offers } = d.ctx;
  const offer = await offers.get(offerId);
  const legSid = await offers.leg(offerId, 'agent');
  if (offer && legSid) await dequeueWith(d, offer, legSid, queueSid);
}

/**
 * A bridge whose agent's leg answered while its caller is still in the Twilio queue, left so by an instance
 * that died before or during the dequeue (the leg's answered status callback was its to handle): the
 * dequeue is taken on here, with the same agent leg, unless an instance holds it. True when this instance
 * took it on (the dequeue then runs on its own).
 */
export async function resumeDequeue(d: DequeueDeps, offer: OfferRecord, legSid: string, queueSid: string): Promise<boolean> {
  const { ctx } = d;
  if (!(await ctx.offers.claimDequeue(offer.offerId, ctx.instance, DEQUEUE_HOLD_MS))) return false;
  ctx.log.warn(
    { offerId: offer.offerId },
    'a bridge stopped after the agent answered (its instance stopped): taking the caller out of the queue here',
  );
  ctx.detach(dequeueClaimed(d, offer, legSid, queueSid), 'resumed dequeue failed');
  return true;
}

async function dequeueWith(d: DequeueDeps, offer: OfferRecord, legSid: string, queueSid: string): Promise<void> {
  const { ctx } = d;
  // One dequeue per offer at a time: a second one (a survivor finishing a bridge it thought orphaned) would
  // find the caller gone from the queue and tear the bridge down.
  if (!(await ctx.offers.claimDequeue(offer.offerId, ctx.instance, DEQUEUE_HOLD_MS))) return;
  await dequeueClaimed(d, offer, legSid, queueSid);
}

async function dequeueClaimed(d: DequeueDeps, offer: OfferRecord, legSid: string, queueSid: string): Promise<void> {
  const { rest, urls, offers } = d.ctx;
  try {
    await rest.dequeue(queueSid, offer.callSid, urls.connect(offer.queue, offer.offerId), {
      settled: async () => ((await offers.wasDequeued(offer.offerId)) ? true : null),
    });
  } catch (err) {
    return dequeueFailed(d, offer, legSid, isNotFound(err), (err as Error).message);
  }
  await answered(d, offer);
}

/**
 * The caller could not be taken out of the queue. When Twilio has no such queue member, ask whether the
 * caller's call has ended (a ghost, its hangup lost): only then is the caller closed, as abandoned; a live
 * caller keeps their place as for any failure.
 */
async function dequeueFailed(d: DequeueDeps, offer: OfferRecord, legSid: string, notInTwilioQueue: boolean, why: string): Promise<void> {
  const { ctx, ghosts, router } = d;
  const { clock } = ctx;
  ctx.log.warn({ err: why, offerId: offer.offerId }, 'could not take the caller out of the queue');
  if (notInTwilioQueue && (await ghosts.closeIfEnded(offer.queue, offer.callSid, 'bridge'))) {
    // Agent first, leg second: the leg's end then finds the agent free and changes nothing.
    await bridgeFailed(d, offer);
    await ctx.hangupQuietly(legSid);
    clock.setTimer(0, () => ctx.detach(router.routeAgent(offer.agentId), 'routing failed'));
    return;
  }
  await ctx.hangupQuietly(legSid);
  await bridgeFailed(d, offer);
}

/**
 * The caller is in the conference: they leave the line as answered, the agent is connected. Once per
 * offer: a second run (the bridge finished for an instance that died after its dequeue) counts nothing
 * and tells the agent nothing.
 */
export async function answered({ ctx }: DequeueDeps, offer: OfferRecord): Promise<void> {
  const { queues, agents, clock } = ctx;
  const a = await agents.get(offer.agentId);
  const r = await queues.leave({
    queue: offer.queue,
    callSid: offer.callSid,
    outcome: 'answered',
    offerId: offer.offerId,
    agentId: offer.agentId,
    team: a?.team ?? 'default',
    shortAbandonSeconds: ctx.short,
    serviceLevelSeconds: ctx.sl(offer.queue),
  });
  ctx.publish(r.events);
  const c = await agents.callConnected({ agentId: offer.agentId, callSid: offer.callSid, contactId: offer.contactId });
  ctx.publish(c.events);
  if (c.first)
    await ctx.send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connected', since: clock.now() });
}
