/**
 * Routing: waiting callers of a queue are offered to free agents (claim the caller, reserve the agent,
 * both atomic; a lost race is undone by releasing the claim), one queue at a time per instance. Also the
 * offer message an agent sees, and the withdrawal of an offer whose caller left.
 */
import type { OfferMessage } from '../agents/protocol.js';
import { newOfferId, type QueueContext } from './context.js';
import type { OfferRecord } from './offers.js';
import type { ClaimedCaller } from './store-types.js';

export interface Router {
  /** Offer waiting callers of a queue to free agents until one side runs out. Serialised per queue per instance. */
  route(queue: string): Promise<number>;
  /** Route every queue. */
  routeAll(): Promise<void>;
  /** An agent became free: offer them whatever waits in the queues they serve. */
  routeAgent(agentId: string): Promise<void>;
  /** Route a queue soon (after the current webhook or command has answered), nobody awaiting it. */
  routeSoon(queue: string): void;
  /** The offer an agent sees: the caller's wait so far, IVR path, language and calls in the repeat window. */
  offerMessage(
    offer: OfferRecord,
    caller: { enqueuedAt: number; ivrPath: string | null; language: string | null } | null,
    deadline: number,
  ): Promise<OfferMessage>;
  /** The caller of the call's current offer left: the reserved agent is told and freed. */
  withdrawOfferFor(callSid: string): Promise<void>;
  /** Wait for routing in progress (on stop). */
  settle(): Promise<void>;
}

/** Build the router. */
export function createRouter(ctx: QueueContext): Router {
  const { center, clock, queues, agents, offers, contacts } = ctx;
  const routing = new Map<string, Promise<number>>();

  function route(queue: string): Promise<number> {
    const prev = routing.get(queue) ?? Promise.resolve(0);
    const next = prev.catch(() => 0).then(() => routeOnce(queue));
    routing.set(queue, next);
    // (Both branches: a `finally` chain would re-reject, unhandled, when routing fails with Redis away.)
    const forget = () => {
      if (routing.get(queue) === next) routing.delete(queue);
    };
    next.then(forget, forget);
    return next;
  }

  async function routeOnce(queue: string): Promise<number> {
    const q = ctx.qc(queue);
    let made = 0;
    // Each offer is saved and sent while the next caller is claimed: a pass waits in turn only for the claim
    // and the reservation (each atomic), so agents who become available together are not offered callers
    // one message exchange after another. The pass ends when every offer it made has been sent.
    const sending: Promise<void>[] = [];
    let sendFailed: { err: unknown } | undefined;
    try {
      made = await claimAndReserve(queue, q, (rec, caller, deadline) =>
        sending.push(
          deliver(rec, caller, deadline).catch((err: unknown) => {
            sendFailed ??= { err };
          }),
        ),
      );
    } finally {
      await Promise.all(sending);
    }
    if (sendFailed) throw sendFailed.err;
    return made;
  }

  async function deliver(rec: OfferRecord, caller: ClaimedCaller, deadline: number): Promise<void> {
    await offers.save(rec);
    await ctx.send(rec.agentId, await offerMessage(rec, caller, deadline));
    await ctx.pushState(rec.agentId);
  }

  /** Claim callers and reserve agents for them, up to 50; each pair is handed to `offer`. */
  async function claimAndReserve(
    queue: string,
    q: ReturnType<QueueContext['qc']>,
    offer: (rec: OfferRecord, caller: ClaimedCaller, deadline: number) => void,
  ): Promise<number> {
    let made = 0;
    for (let i = 0; i < 50 && !ctx.stopped(); i++) {
      // A cheap read first, so a queue with no free agent costs no writes; the claim and the reservation
      // below are each atomic, and a lost race is undone by releasing the claim.
      const staffed = await agents.staffedFor(q.skills, 1);
      if (staffed.available === 0) break;
      const offerId = newOfferId();
      const deadline = clock.now() + q.offerTimeoutSeconds * 1000;
      const caller = await queues.claimNext({ queue, offerId, agentId: 'pending', deadline });
      if (!caller) break;
      const agent = await agents.reserve({
        offerId,
        queue,
        callSid: caller.callSid,
        contactId: caller.contactId,
        requiredSkills: q.skills,
        strategy: q.strategy,
        deadline,
      });
      if (!agent) {
        await queues.releaseClaim({ queue, callSid: caller.callSid, offerId });
        break;
      }
      ctx.publish(agent.events);
      offer(offerRecord(offerId, agent.agentId, queue, caller), caller, deadline);
      made++;
    }
    return made;
  }

  async function offerMessage(
    offer: OfferRecord,
    caller: { enqueuedAt: number; ivrPath: string | null; language: string | null } | null,
    deadline: number,
  ): Promise<OfferMessage> {
    return {
      type: 'offer',
      offerId: offer.offerId,
      callSid: offer.callSid,
      queue: offer.queue,
      queueName: center.queues[offer.queue]?.name ?? offer.queue,
      waitSeconds: caller ? Math.max(0, Math.round((clock.now() - caller.enqueuedAt) / 1000)) : 0,
      ivrPath: (caller?.ivrPath ?? '').split('>').filter(Boolean),
      language: caller?.language ?? center.defaultLanguage,
      repeatCount: offer.callerHash
        ? await contacts.recentCount(offer.callerHash, clock.now(), center.thresholds.repeatWindowSeconds, offer.callSid)
        : 0,
      callback: offer.kind === 'callback',
      deadline,
      ...(offer.transferFrom ? { transferFrom: offer.transferFrom } : {}),
    };
  }

  async function routeAll(): Promise<void> {
    for (const queue of Object.keys(center.queues)) await route(queue);
  }

  async function routeAgent(agentId: string): Promise<void> {
    const a = await agents.get(agentId);
    if (!a || a.state !== 'available') return;
    for (const [queue, q] of Object.entries(center.queues)) {
      if (q.skills.every((s) => a.skills.includes(s))) await route(queue);
    }
  }

  async function withdrawOfferFor(callSid: string): Promise<void> {
    const offer = await offers.forCall(callSid);
    if (!offer) return;
    const a = await agents.get(offer.agentId);
    if (a?.state !== 'reserved' || a.offerId !== offer.offerId) return;
    const r = await agents.cancelOffer({ agentId: a.id, offerId: offer.offerId, reason: 'withdrawn' });
    ctx.publish(r.events);
    await ctx.send(a.id, { type: 'offer_cancelled', offerId: offer.offerId, reason: 'withdrawn' });
    await ctx.pushState(a.id);
    ctx.detach(routeAgent(a.id), 'routing failed');
  }

  return {
    route,
    routeAll,
    routeAgent,
    routeSoon: (queue) => clock.setTimer(0, () => ctx.detach(route(queue), 'routing failed')),
    offerMessage,
    withdrawOfferFor,
    async settle() {
      await Promise.allSettled([...routing.values()]);
    },
  };
}

/** The offer of a claimed caller to a reserved agent, as it is stored. */
function offerRecord(offerId: string, agentId: string, queue: string, caller: ClaimedCaller): OfferRecord {
  return {
    offerId,
    agentId,
    queue,
    callSid: caller.callSid,
    kind: caller.state,
    queueSid: caller.queueSid,
    contactId: caller.contactId,
    callerHash: caller.callerHash,
    calledNumber: caller.meta.calledNumber ?? '',
    callbackTo: caller.meta.callbackTo ?? '',
  };
}
