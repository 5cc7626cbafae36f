/**
 * What an agent's desk asks over its WebSocket (docs/agent-protocol.md): state changes, accepting or
 * rejecting an offer, hold, hang-up, wrap-up, transfers, recording (what a (re)connecting desk is told is in
 * desk-sync.ts). Store and service errors are thrown as catalogue errors (src/errors.ts); the channel turns
 * them into socket `error` replies.
 */
import type { DomainEvent } from '../events.js';
import { sbError, socketError, type ErrorCode } from '../errors.js';
import type { AgentCommands } from '../agents/channel.js';
import type { ClientMessage, ServerMessage } from '../agents/protocol.js';
import type { QueueContext } from './context.js';
import { currentWork, welcome } from './desk-sync.js';
import type { OfferKinds } from './offer-kind.js';
import type { Recordings } from './recording.js';
import type { Router } from './router.js';
import { RestError } from './twilio-rest.js';
import type { Transfers } from './transfer.js';

type Command = Exclude<ClientMessage, { type: 'hello' | 'ping' }>;

/** Build the agent command handler. */
export function createAgentCommands(
  ctx: QueueContext,
  router: Router,
  transfers: Transfers,
  kinds: OfferKinds,
  recordings: Recordings,
): AgentCommands {
  const { center, urls, clock, queues, agents, contacts, offers, rest } = ctx;

  async function accept(agentId: string, offerId: string): Promise<ServerMessage> {
    const offer = await offers.get(offerId);
    if (!offer) return socketError(sbError('stale_offer', 'offerId'));
    const acc = await agents.acceptOffer({ agentId, offerId });
    ctx.publish(acc.events);
    await ctx.pushState(agentId); // reserved -> on_call, like every other state change
    return kinds[offer.kind].accept(offer, agentId);
  }

  async function command(agentId: string, msg: Command): Promise<ServerMessage> {
    const ref = msg.ref ? { ref: msg.ref } : {};
    const ack = (): ServerMessage => ({ type: 'ack', for: msg.type, ...ref });
    const fail = (code: ErrorCode, field: string, detail: string): ServerMessage => socketError(sbError(code, field, detail), msg.ref);
    switch (msg.type) {
      case 'set_state': {
        const r = await agents.setState({ agentId, to: msg.state, reason: msg.reason, instance: ctx.instance });
        ctx.publish(r.events);
        if (r.releasedOffer) await queues.releaseClaim(r.releasedOffer);
        await ctx.pushStateAfter(agentId, r.events);
        if (msg.state === 'available') ctx.detach(router.routeAgent(agentId, r.changed && r.to === 'available'), 'routing failed');
        return ack();
      }
      case 'accept':
        return { ...(await accept(agentId, msg.offerId)), ...ref } as ServerMessage;
      case 'reject': {
        const offer = await offers.get(msg.offerId);
        const r = await agents.rejectOffer({ agentId, offerId: msg.offerId });
        ctx.publish(r.events);
        if (offer) await kinds[offer.kind].unanswered(offer, 'rejected');
        await ctx.pushState(agentId);
        return ack();
      }
      case 'hold': {
        const a = await agents.get(agentId);
        if (!a || a.callSid !== msg.callSid || a.state !== 'on_call')
          return fail('not_your_call', 'callSid', 'not a call you are talking on');
        const offer = await offers.forCall(msg.callSid);
        if (!offer?.conferenceSid) return fail('unavailable', 'callSid', 'the call is not connected yet');
        // The caller hears the configured hold music while held (participant Hold with HoldUrl).
        await rest.updateParticipant(offer.conferenceSid, msg.callSid, { hold: msg.on, ...(msg.on ? { holdUrl: urls.holdMusic } : {}) });
        const r = await agents.hold({ agentId, callSid: msg.callSid, on: msg.on });
        await ctx.send(agentId, {
          type: 'call',
          callSid: msg.callSid,
          queue: offer.queue,
          status: msg.on ? 'on_hold' : 'connected',
          since: clock.now(),
        });
        ctx.publish(r.events);
        return ack();
      }
      case 'wrap_up': {
        // The agent's offer is read before the wrap-up frees the agent: once free, a new offer replaces it.
        const lastOffer = offers.forAgent(agentId);
        lastOffer.catch(() => undefined); // awaited below only when the wrap-up succeeded
        const r = await agents.wrapUp({ agentId, callSid: msg.callSid, disposition: msg.disposition, code: msg.code });
        ctx.publish(r.events);
        await ctx.pushStateAfter(agentId, r.events);
        // Routing starts now; the handle time and the repeat-contact record are kept meanwhile.
        const freed = r.events.some((e) => e.type === 'agent.state' && e.agentId === agentId && e.to === 'available');
        ctx.detach(router.routeAgent(agentId, freed), 'routing failed');
        const handled = r.events.find((e): e is Extract<DomainEvent, { type: 'call.handled' }> => e.type === 'call.handled');
        if (handled) {
          await ctx.recordHandleTime(handled.queue, handled.talkSeconds + handled.holdSeconds + handled.wrapupSeconds);
          const offer = await lastOffer;
          if (offer && offer.callSid === handled.callSid)
            await contacts.handled(offer.callerHash, handled, center.thresholds.repeatWindowSeconds);
        }
        return ack();
      }
      case 'hangup': {
        const a = await agents.get(agentId);
        if (!a || a.callSid !== msg.callSid) return fail('not_your_call', 'callSid', 'not the call you are on');
        const offer = a.offerId ? await offers.get(a.offerId) : null;
        try {
          if (offer?.agentLegSid) await rest.hangup(offer.agentLegSid);
        } catch (err) {
          // 21220: the leg has ended already, which is what the agent asked for.
          if (!(err instanceof RestError && err.code === 21220)) throw err;
        }
        return ack();
      }
      case 'recording': {
        // The call the agent is on when the message names none (a pause must be quick to ask for).
        const callSid = msg.callSid ?? (await agents.get(agentId))?.callSid;
        if (!callSid) return fail('not_your_call', 'callSid', 'you are not on a call');
        await recordings.control(callSid, { action: msg.action, by: 'agent', agentId });
        return ack();
      }
      case 'transfer':
        await transfers.start(agentId, msg.callSid, msg.to, msg.warm);
        return ack();
      case 'transfer_complete':
        await transfers.complete(agentId, msg.callSid);
        return ack();
      case 'transfer_cancel':
        await transfers.cancel(agentId, msg.callSid);
        return ack();
    }
  }

  async function disconnected(agentId: string, instance: string): Promise<void> {
    ctx.publish((await agents.disconnected({ agentId, instance, graceMs: ctx.graceMs ?? 30_000 })).events);
  }

  return {
    command,
    connected: (agentId, instance) => welcome(ctx, agentId, instance),
    resume: (agentId) => currentWork({ ctx, router, transfers, kinds, recordings }, agentId),
    disconnected,
  };
}
