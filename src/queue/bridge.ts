/**
 * The bridge of an accepted offer: the agent is dialed into the call's conference first; only when the
 * agent's leg answers is the caller taken out of the Twilio queue (dequeue.ts: dequeued onto the connect
 * URL, which joins them to the same conference). So a caller never sits in an empty conference, and keeps
 * their place until the bridge succeeds. Also the end of the agent's leg (wrap-up), and the offer kind of a
 * caller from the queue (`waiting`).
 */
import { callHasEnded } from '../call-status.js';
import { sbError, socketError } from '../errors.js';
import type { ServerMessage } from '../agents/protocol.js';
import { conferenceName, type QueueContext } from './context.js';
import { answered, bridgeFailed as failBridge, dequeueCaller, queueSidArrived, type DequeueDeps } from './dequeue.js';
import type { Ghosts } from './ghosts.js';
import type { OfferKind, OfferKinds, LegStatus } from './offer-kind.js';
import type { OfferRecord } from './offers.js';
import type { Router } from './router.js';
import type { Transfers } from './transfer.js';

/** The conference events asked for (only the ConferenceSid is taken from them, as a second source). */
const CONFERENCE_EVENTS = ['start', 'end', 'join', 'leave', 'hold'];
/** The conference recording's status changes reported (participant.d.ts conferenceRecordingStatusCallbackEvent). */
const RECORDING_EVENTS = ['in-progress', 'completed', 'failed', 'absent'];

export const isAnswered = (status: string): boolean => status === 'in-progress' || status === 'answered';

export interface Bridge {
  /** Mark the caller as being bridged and dial the agent into the call's conference (queue and callback offers). */
  dialAgent(offer: OfferRecord, agentId: string): Promise<ServerMessage>;
  /** A status callback of an agent's leg: the first leg of the offer goes to its kind, duplicates are hung up. */
  agentLegStatus(p: { offerId: string; callSid: string; status: string }): Promise<void>;
  /** The caller's QueueSid arrived for an offer whose bridge was waiting for it: carry on with the dequeue. */
  queueSidArrived(offerId: string, queueSid: string): Promise<void>;
  /** The dequeued caller requested the connect URL of `offerId`. */
  dequeued(offerId: string): Promise<void>;
  /** The agent's leg of a connected call ended: wrap-up; a leg that never connected gives the caller back. */
  agentLegEnded(offer: OfferRecord): Promise<void>;
  /** The bridge did not happen: the caller keeps their place, the agent is free again. */
  bridgeFailed(offer: OfferRecord): Promise<void>;
  /** The offer kind of a caller waiting in the queue. */
  waiting: OfferKind;
}

/** Build the bridge. `kinds` is filled by the facade (each kind decides what its agent leg means). */
export function createBridge(
  ctx: QueueContext,
  router: Router,
  ghosts: Ghosts,
  transfers: Pick<Transfers, 'fromLegEnded'>,
  kinds: OfferKinds,
): Bridge {
  const { urls, clock, queues, agents, offers, rest } = ctx;
  const dq: DequeueDeps = { ctx, router, ghosts };
  const bridgeFailed = (offer: OfferRecord) => failBridge(dq, offer);

  async function dialAgent(offer: OfferRecord, agentId: string): Promise<ServerMessage> {
    const offerId = offer.offerId;
    const bridging = await queues.markBridging({ queue: offer.queue, callSid: offer.callSid, offerId });
    if (bridging === 'gone') {
      // The caller left while the agent accepted: the agent is free again.
      ctx.publish((await agents.bridgeFailed({ agentId, offerId })).events);
      await ctx.pushState(agentId);
      return socketError(sbError('caller_gone', 'offerId'));
    }
    await ctx.send(agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connecting', since: clock.now() });
    const agent = await agents.get(agentId);
    try {
      // The agent's leg creates the call's conference (the caller joins when dequeued, after the agent
      // answers), so the conference status callback and recording are asked for here: Twilio keeps only
      // the creating participant's. The ConferenceSid comes with the answer.
      const leg = await rest.addParticipant(
        conferenceName(offer.callSid),
        {
          from: ctx.callerId(offer.calledNumber),
          to: agent?.contact ?? `client:${agentId}`,
          label: 'agent',
          statusCallback: urls.agentStatus(offerId),
          startConferenceOnEnter: true,
          endConferenceOnExit: true,
          timeoutSeconds: 20,
          conferenceStatusCallback: { url: urls.conferenceStatus, events: CONFERENCE_EVENTS },
          // A queue that records: the conference is recorded from its start, asked for (as the status
          // callback) by the participant that creates it.
          ...(ctx.qc(offer.queue).recording.enabled
            ? { conferenceRecording: { url: urls.conferenceRecording(offer.callSid, offer.queue), events: RECORDING_EVENTS } }
            : {}),
        },
        { settled: () => offers.leg(offerId, 'agent') },
      );
      // A create retried after its answer was lost may have dialed twice: the first leg Twilio told us
      // about is the agent's leg, any other is hung up.
      const winner = await offers.claimLeg(offerId, 'agent', leg.callSid);
      if (winner !== leg.callSid) await ctx.hangupQuietly(leg.callSid);
      await ctx.updateOffer(offerId, { agentLegSid: winner, ...(leg.conferenceSid ? { conferenceSid: leg.conferenceSid } : {}) });
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message, offerId }, 'could not dial the agent; the caller keeps their place');
      await bridgeFailed(offer);
    }
    return { type: 'ack', for: 'accept' };
  }

  async function agentLegStatus(p: { offerId: string; callSid: string; status: string }): Promise<void> {
    const offer = await offers.get(p.offerId);
    if (!offer) return;
    const terminal = callHasEnded(p.status);
    const winner = terminal ? await offers.leg(offer.offerId, 'agent') : await offers.claimLeg(offer.offerId, 'agent', p.callSid);
    if (winner !== null && winner !== p.callSid) {
      // A second leg of the same offer (a participant create retried after a lost answer): not the agent's.
      if (!terminal) await ctx.hangupQuietly(p.callSid);
      return;
    }
    await kinds[offer.kind].agentLeg(offer, { callSid: p.callSid, status: p.status });
  }

  async function agentLegEnded(offer: OfferRecord): Promise<void> {
    let a = await agents.get(offer.agentId);
    // Twilio ran the offer's connect URL (the caller was taken out of the queue) but the instance doing the
    // bridge stopped before it counted the answer: the call took place; it is counted now, then ends like every other call.
    if (a?.state === 'on_call' && a.offerId === offer.offerId && a.connectedAt === null && (await offers.wasDequeued(offer.offerId))) {
      await answered(dq, offer);
      a = await agents.get(offer.agentId);
    }
    // Connected (talk started) and the caller no longer held in the queue for this offer: the call ended
    // for this agent. (A caller transferred back into the same queue is there under no offer of ours.)
    // The offer must be the agent's current one: the leg of an earlier, failed attempt at the same caller
    // (hung up after a failed dequeue) may report its end while the agent talks on the new bridge.
    if (
      a?.state === 'on_call' &&
      a.offerId === offer.offerId &&
      a.callSid === offer.callSid &&
      a.talkStartedAt &&
      (await queues.callerInfo(offer.queue, offer.callSid))?.offerId !== offer.offerId
    ) {
      ctx.publish(
        (await agents.endCall({ agentId: offer.agentId, callSid: offer.callSid, wrapUpSeconds: ctx.qc(offer.queue).wrapUpSeconds })).events,
      );
      await transfers.fromLegEnded(offer.callSid, offer.agentId);
      const rec = await agents.get(offer.agentId);
      await ctx.send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'ended', since: clock.now() });
      await ctx.send(offer.agentId, {
        type: 'wrap_up',
        callSid: offer.callSid,
        queue: offer.queue,
        deadline: rec?.wrapDeadline ?? clock.now(),
      });
      await ctx.pushState(offer.agentId);
    } else if (a && (a.state === 'reserved' || a.state === 'on_call') && a.offerId === offer.offerId) {
      // The agent never answered (no-answer, busy, failed): the caller keeps their place. A leg we hung
      // up ourselves after a failed dequeue was already handled, so it is not reported twice.
      await bridgeFailed(offer);
    }
  }

  const waiting: OfferKind = {
    accept: dialAgent,
    async agentLeg(offer: OfferRecord, p: LegStatus) {
      if (isAnswered(p.status)) await dequeueCaller(dq, offer, p.callSid);
      else if (callHasEnded(p.status)) await agentLegEnded(offer);
    },
    async unanswered(offer) {
      await queues.releaseClaim({ queue: offer.queue, callSid: offer.callSid, offerId: offer.offerId });
      router.routeSoon(offer.queue);
    },
    caller: (offer) => queues.callerInfo(offer.queue, offer.callSid),
    recoverable: true,
  };

  return {
    dialAgent,
    agentLegStatus,
    queueSidArrived: (offerId, queueSid) => queueSidArrived(dq, offerId, queueSid),
    async dequeued(offerId) {
      if (offerId) await offers.markDequeued(offerId);
    },
    agentLegEnded,
    bridgeFailed,
    waiting,
  };
}
