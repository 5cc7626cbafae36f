/**
 * Routing: waiting callers of a queue are offered to free agents (claim the caller, reserve the agent,
 * both atomic; a lost race is undone by releasing the claim), in passes of one queue at a time per
 * instance (router-passes.ts), each claiming and reserving for many agents at once. Also the offer message
 * an agent sees, and the withdrawal of an offer whose caller left.
 */
import type { OfferMessage } from '../agents/protocol.js';
import type { DomainEvent } from '../events.js';
import { newOfferId, type QueueContext } from './context.js';
import type { OfferRecord } from './offers.js';
import { createPasses, type Pass } from './router-passes.js';
import type { ClaimedCaller } from './store-types.js';

export interface Router {
  /** Offer waiting callers of a queue to free agents until one side runs out. Serialised per queue per instance. */
  route(queue: string): Promise<number>;
  /** Route every queue. */
  routeAll(): Promise<void>;
  /**
   * An agent became free: offer them whatever waits in the queues they serve. `available`: the caller saw
   * the change that made the agent available (its event), so the agent's skills come from the call-center
   * file without a read (an agent not in the file is read).
   */
  routeAgent(agentId: string, available?: boolean): Promise<void>;
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

/** Callers claimed and agents reserved together in one round of a pass (each one atomic, sent at once). */
const ROUND = 50;
/** Rounds per pass at most; a queue with more to hand out is routed again by the pass queued after it. */
const MAX_ROUNDS = 20;

/** Build the router. */
export function createRouter(ctx: QueueContext): Router {
  const { center, clock, agents, offers, contacts } = ctx;
  const { pass, settle } = createPasses((queue, reservedNow) => routeOnce(queue, reservedNow));

  const route = (queue: string): Promise<number> => pass(queue).done;

  /**
   * Claim callers and reserve agents in rounds until one side runs out: each round claims as many callers
   * as agents are available (up to ROUND), all claims sent at once, then reserves an agent for each claimed
   * caller, in order, all sent at once. Each claim and each reservation is its own atomic script and Redis
   * runs them in the order sent, so caller i (the i-th in priority and wait order) gets the i-th best agent
   * of the queue's strategy, as one claim and reservation after another would; a caller left without an
   * agent (another router reserved it first) is released. Each offer is saved and sent while the next round
   * runs; the pass's promise settles when all are sent.
   */
  async function routeOnce(queue: string, reservedNow: () => void): Promise<number> {
    const q = ctx.qc(queue);
    let made = 0;
    const sending: Promise<void>[] = [];
    let sendFailed: { err: unknown } | undefined;
    const offer = (rec: OfferRecord, caller: ClaimedCaller, deadline: number, events: DomainEvent[]) =>
      sending.push(
        deliver(rec, caller, deadline, events).catch((err: unknown) => {
          sendFailed ??= { err };
        }),
      );
    try {
      for (let round = 0; round < MAX_ROUNDS && !ctx.stopped(); round++) {
        const r = await claimAndReserve(ctx, queue, q, offer);
        made += r.made;
        if (!r.more) break;
      }
      reservedNow();
    } finally {
      await Promise.all(sending);
    }
    if (sendFailed) throw sendFailed.err;
    return made;
  }

  async function deliver(rec: OfferRecord, caller: ClaimedCaller, deadline: number, events: DomainEvent[]): Promise<void> {
    // The record and the message's repeat count are independent: one round trip for both.
    const [, msg] = await Promise.all([offers.save(rec), offerMessage(rec, caller, deadline)]);
    await ctx.send(rec.agentId, msg);
    await ctx.pushStateAfter(rec.agentId, events);
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

  /**
   * Route queues in the configured order: each pass starts once the one before has reserved its agents
   * (so an agent serving several queues goes to the first with a caller waiting, as before), and the
   * offers are all sent when this resolves.
   */
  async function routeInOrder(list: string[]): Promise<void> {
    const passes: Pass[] = [];
    for (const queue of list) {
      const p = pass(queue);
      passes.push(p);
      await p.reserved;
    }
    await Promise.all(passes.map((p) => p.done));
  }

  const routeAll = (): Promise<void> => routeInOrder(Object.keys(center.queues));

  async function routeAgent(agentId: string, available = false): Promise<void> {
    let skills = available ? center.agents[agentId]?.skills : undefined;
    if (!skills) {
      const a = await agents.get(agentId);
      if (!a || a.state !== 'available') return;
      skills = a.skills;
    }
    const has = skills;
    await routeInOrder(Object.entries(center.queues).flatMap(([queue, q]) => (q.skills.every((s) => has.includes(s)) ? [queue] : [])));
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
    settle,
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

/** One round: returns the offers made, and whether both sides may have more (the round was full). */
async function claimAndReserve(
  ctx: QueueContext,
  queue: string,
  q: ReturnType<QueueContext['qc']>,
  offer: (rec: OfferRecord, caller: ClaimedCaller, deadline: number, events: DomainEvent[]) => void,
): Promise<{ made: number; more: boolean }> {
  const { clock, queues, agents } = ctx;
  // A cheap read first, so a queue with no free agent costs no writes.
  const { available } = await agents.staffedFor(q.skills, ROUND);
  if (available === 0) return { made: 0, more: false };
  const deadline = clock.now() + q.offerTimeoutSeconds * 1000;
  const ids = Array.from({ length: Math.min(available, ROUND) }, () => newOfferId());
  const claimed = await Promise.all(ids.map((offerId) => queues.claimNext({ queue, offerId, agentId: 'pending', deadline })));
  const pairs = claimed.flatMap((caller, i) => (caller ? [{ caller, offerId: ids[i]! }] : []));
  if (pairs.length === 0) return { made: 0, more: false };
  const reserved = await Promise.all(
    pairs.map(({ caller, offerId }) =>
      agents.reserve({
        offerId,
        queue,
        callSid: caller.callSid,
        contactId: caller.contactId,
        requiredSkills: q.skills,
        strategy: q.strategy,
        deadline,
      }),
    ),
  );
  let made = 0;
  const unserved: Promise<unknown>[] = [];
  pairs.forEach(({ caller, offerId }, i) => {
    const agent = reserved[i];
    if (!agent) {
      // Another router reserved the agent first: the caller keeps their place.
      unserved.push(queues.releaseClaim({ queue, callSid: caller.callSid, offerId }));
      return;
    }
    ctx.publish(agent.events);
    offer(offerRecord(offerId, agent.agentId, queue, caller), caller, deadline, agent.events);
    made++;
  });
  await Promise.all(unserved);
  return { made, more: made === ids.length && made === ROUND };
}
