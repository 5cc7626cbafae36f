/**
 * Callbacks: a caller who pressed the callback key hung up and kept their place. When it is their turn an
 * agent is offered the callback; on accept the agent is dialed into the call's conference (as for a
 * waiting caller); when the agent answers, the customer is called (calls.create) and joins the same
 * conference from the callback leg's TwiML. The offer kind `callback`.
 */
import { callHasEnded } from '../call-status.js';
import { newResponse } from '../ivr/prompt.js';
import { isAnswered, type Bridge } from './bridge.js';
import { conferenceName, type QueueContext } from './context.js';
import type { OfferKind } from './offer-kind.js';
import type { OfferRecord } from './offers.js';

export interface Callbacks {
  /** The TwiML the customer's leg runs when answered: a greeting, then the call's conference. */
  callbackLegTwiml(p: { queue: string; offerId: string; language: string }): Promise<string>;
  /** A status callback of the customer's leg. */
  callbackLegStatus(p: { queue: string; offerId: string; callSid: string; status: string }): Promise<void>;
  /** The offer kind of a callback. */
  callback: OfferKind;
}

/** Build the callback handling. */
export function createCallbacks(ctx: QueueContext, bridge: Bridge): Callbacks {
  const { center, urls, queues, agents, offers, rest, clock } = ctx;

  const failed = async (offer: OfferRecord, result: 'failed' | 'busy' | 'no_answer') => {
    ctx.publish((await queues.callbackFinished({ queue: offer.queue, callSid: offer.callSid, result })).events);
    if (offer.agentLegSid) await rest.hangup(offer.agentLegSid).catch(() => undefined);
  };

  /** The agent answered: call the customer. */
  async function startCallback(offer: OfferRecord): Promise<void> {
    if (!offer.callbackTo) return failed(offer, 'failed');
    try {
      const legSid = await rest.createCall(
        {
          to: offer.callbackTo,
          from: ctx.callerId(offer.calledNumber),
          url: urls.callbackLeg(offer.queue, offer.offerId),
          statusCallback: urls.callbackStatus(offer.queue, offer.offerId),
          timeoutSeconds: 30,
        },
        { settled: () => offers.leg(offer.offerId, 'callback') },
      );
      // As for the agent's leg: one call to the customer, whatever the retries did.
      const winner = await offers.claimLeg(offer.offerId, 'callback', legSid);
      if (winner !== legSid) await ctx.hangupQuietly(legSid);
      await ctx.updateOffer(offer.offerId, { callbackLegSid: winner });
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message }, 'callback call could not be placed');
      await failed(offer, 'failed');
    }
  }

  async function callbackLegTwiml(p: { queue: string; offerId: string; language: string }): Promise<string> {
    const offer = await offers.get(p.offerId);
    const twiml = newResponse();
    if (!offer) {
      twiml.hangup();
      return twiml.toString();
    }
    twiml.say({}, `Hello, this is ${center.name} returning your call. Connecting you to an agent now.`);
    const dial = twiml.dial({ action: urls.afterCall(p.queue), method: 'POST' });
    // No statusCallback: the agent's leg created the conference and asked for it.
    dial.conference({ startConferenceOnEnter: true, endConferenceOnExit: true, beep: 'false' }, conferenceName(offer.callSid));
    return twiml.toString();
  }

  async function callbackLegStatus(p: { queue: string; offerId: string; callSid: string; status: string }): Promise<void> {
    const offer = await offers.get(p.offerId);
    if (!offer) return;
    const terminal = callHasEnded(p.status);
    const winner = terminal ? await offers.leg(offer.offerId, 'callback') : await offers.claimLeg(offer.offerId, 'callback', p.callSid);
    if (winner !== null && winner !== p.callSid) {
      if (!terminal) await ctx.hangupQuietly(p.callSid);
      return;
    }
    if (isAnswered(p.status)) {
      const r = await queues.callbackFinished({ queue: offer.queue, callSid: offer.callSid, result: 'connected' });
      ctx.publish(r.events);
      if (r.result === 'removed') {
        ctx.publish((await agents.callConnected({ agentId: offer.agentId, callSid: offer.callSid, contactId: offer.contactId })).events);
        await ctx.send(offer.agentId, {
          type: 'call',
          callSid: offer.callSid,
          queue: offer.queue,
          status: 'connected',
          since: clock.now(),
        });
      }
    } else if (terminal && p.status !== 'completed') {
      await failed(offer, p.status === 'busy' ? 'busy' : p.status === 'no-answer' ? 'no_answer' : 'failed');
    }
  }

  const callback: OfferKind = {
    accept: (offer, agentId) => bridge.dialAgent(offer, agentId),
    async agentLeg(offer, p) {
      if (isAnswered(p.status)) await startCallback(offer);
      else if (callHasEnded(p.status)) await bridge.agentLegEnded(offer);
    },
    unanswered: (offer, reason) => bridge.waiting.unanswered(offer, reason),
    caller: (offer) => bridge.waiting.caller(offer),
    recoverable: true,
  };

  return { callbackLegTwiml, callbackLegStatus, callback };
}
