/**
 * The offer kind `transfer`: an agent offered a call another agent is handing over (transfer.ts). On
 * accept the agent is dialed into the call's conference; the transfer decides when the caller is theirs.
 */
import { callHasEnded } from '../call-status.js';
import { isAnswered, type Bridge } from './bridge.js';
import type { QueueContext } from './context.js';
import type { OfferKind, LegStatus } from './offer-kind.js';
import type { OfferRecord } from './offers.js';
import type { Transfers } from './transfer.js';

/** Build the transfer offer kind. */
export function createTransferOffers(ctx: QueueContext, transfers: Transfers, bridge: Pick<Bridge, 'agentLegEnded'>): OfferKind {
  const { agents, clock } = ctx;

  /**
   * The leg of an agent taking a transferred call. Answered: the agent is on the call (the transfer
   * decides when the caller is theirs). Ended before the hand-over: the agent is free again, no wrap-up.
   * Ended after it: an ordinary call end.
   */
  async function agentLeg(offer: OfferRecord, p: LegStatus): Promise<void> {
    if (isAnswered(p.status)) {
      const a = await agents.get(offer.agentId);
      // (accept already stamped talkStartedAt; connectedAt says whether this leg was reported answered.)
      if (a?.state === 'on_call' && a.offerId === offer.offerId && a.connectedAt === null) {
        ctx.publish((await agents.callConnected({ agentId: offer.agentId, callSid: offer.callSid, contactId: offer.contactId })).events);
        await ctx.send(offer.agentId, {
          type: 'call',
          callSid: offer.callSid,
          queue: offer.queue,
          status: 'connected',
          since: clock.now(),
        });
      }
      await transfers.targetLegStatus(offer.callSid, p.callSid, p.status);
      return;
    }
    if (!callHasEnded(p.status)) return;
    const undone = await transfers.targetLegStatus(offer.callSid, p.callSid, p.status);
    if (!undone) return bridge.agentLegEnded(offer);
    const a = await agents.get(offer.agentId);
    if (a && (a.state === 'on_call' || a.state === 'reserved') && a.offerId === offer.offerId) {
      ctx.publish((await agents.bridgeFailed({ agentId: offer.agentId, offerId: offer.offerId })).events);
      await ctx.send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'ended', since: clock.now() });
      await ctx.pushState(offer.agentId);
    }
  }

  return {
    async accept(offer, agentId) {
      await ctx.send(agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connecting', since: clock.now() });
      const agent = await agents.get(agentId);
      await transfers.dialTargetAgent(offer, agent?.contact ?? `client:${agentId}`);
      return { type: 'ack', for: 'accept' };
    },
    agentLeg,
    unanswered: (offer, reason) => transfers.targetOfferEnded(offer, reason === 'rejected' ? 'rejected' : 'offer timeout'),
    caller: async () => null,
    // A transfer's target agent is on the call without the caller being in any queue: left alone.
    recoverable: false,
  };
}
