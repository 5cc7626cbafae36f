/**
 * Transfers of connected calls, on the call's own conference (supervisor monitoring: monitor.ts).
 *
 * Every connected call is a conference `sb-<caller CallSid>` with the caller (joined from TwiML when
 * dequeued, endConferenceOnExit) and the agent (dialed in over REST, endConferenceOnExit). From there:
 *
 * - To a queue, cold: the caller is redirected out of the conference (calls update) to
 *   /twilio/transfer/queue, which re-enters them in the target queue at the front of their priority (or
 *   at the queue's `transferPriority`) as a re-entry: the same contact, not a new offer. The caller leaving
 *   ends the conference; the agent's leg ends and the agent goes to wrap-up.
 * - To a queue, warm: the agent that queue's routing would pick now (its skills and strategy, not the
 *   transferring agent) is offered the call to consult, as for a named agent below; with nobody free the
 *   transfer is refused (a cold transfer puts the caller in line instead).
 * - To an agent or an outside number: the caller is put on hold (hold music) and the transferring agent's
 *   endConferenceOnExit is turned off, then the target is dialed into the same conference (a named agent
 *   is first offered the call on their desk, like any offer). Cold: the transferring agent leaves at once
 *   and the transfer completes when the target answers. Warm: the agent consults the target while the
 *   caller holds, then `transfer_complete` (or simply hanging up) hands the caller over, `transfer_cancel`
 *   drops the target and resumes the caller.
 * - A target that does not answer (offer rejected or timed out, leg not answered): warm, the caller is
 *   resumed with the agent; cold (the agent already gone), the caller goes back to the front of the
 *   queue they came from, so nobody is left in an empty room.
 *
 * Participant drop rules (what ends the conference):
 * 1. The caller leaving (hang-up, or redirected to a queue) ends it: every other leg is dropped by Twilio,
 *    agents go to wrap-up (endConferenceOnExit on the caller).
 * 2. The talking agent's leg dropping (hang-up, phone or SIP failure) ends it, except while a transfer is
 *    in progress (then their endConferenceOnExit is off): the caller continues to the Dial action (survey).
 * 3. A transfer target joins with endConferenceOnExit off and gets it on completion (then rule 2 applies
 *    to them); a target that drops before completion fails the transfer as above.
 * 4. Supervisors never end it (endConferenceOnExit off, startConferenceOnEnter off; monitor.ts).
 * 5. An agent's desk (browser, WebSocket) crashing touches no leg: audio runs on the agent's phone/SIP
 *    endpoint; the desk reconnects within the grace period and sees its call again.
 *
 * A transfer is not a new offer and not a new answer: the queue counted the contact once when it was
 * answered; transfers are counted in switchboard_transfers_total{kind,mode,result}.
 */
import { callHasEnded } from '../call-status.js';
import type { Clock } from '../clock.js';
import type { CenterConfig } from '../config/callcenter.js';
import { sbError } from '../errors.js';
import type { DomainEvent, TransferResult } from '../events.js';
import type { ServerMessage, TransferStatus, TransferTarget } from '../agents/protocol.js';
import type { AgentStore } from '../agents/store.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { Urls } from '../urls.js';
import { newOfferId } from './context.js';
import type { OfferRecord, OfferStore } from './offers.js';
import type { TwilioRest } from './twilio-rest.js';

export interface TransferRecord {
  callSid: string;
  queue: string;
  kind: TransferTarget['kind'];
  mode: 'cold' | 'warm';
  target: TransferTarget;
  fromAgentId: string;
  fromOfferId: string;
  fromLegSid: string;
  /** The transferring agent's leg has left the conference. */
  fromGone: boolean;
  conferenceSid: string;
  state: 'offering' | 'dialing' | 'consulting' | 'completed' | 'cancelled' | 'failed';
  targetOfferId?: string;
  targetLegSid?: string;
  startedAt: number;
}

export interface TransferDeps {
  center: CenterConfig;
  urls: Urls;
  clock: Clock;
  redis: RedisClient;
  keys: Keys;
  agents: AgentStore;
  offers: OfferStore;
  rest: TwilioRest;
  /** The number legs we dial show (context.ts). */
  callerId(calledNumber: string): string;
  log: { warn(o: object, m: string): void; info(o: object, m: string): void };
  publish(events: DomainEvent[]): void;
  send(agentId: string, msg: ServerMessage): Promise<void>;
  pushState(agentId: string): Promise<void>;
}

export interface Transfers {
  start(agentId: string, callSid: string, to: TransferTarget, warm: boolean): Promise<void>;
  complete(agentId: string, callSid: string): Promise<void>;
  cancel(agentId: string, callSid: string): Promise<void>;
  /** A target agent's leg or an outside number's leg changed status. True when the transfer handled it. */
  targetLegStatus(callSid: string, legSid: string, status: string): Promise<boolean>;
  /** The transferring agent's leg ended (rule 2 does not apply during a transfer). */
  fromLegEnded(callSid: string, agentId: string): Promise<void>;
  /** A target agent's offer ended without an answer (rejected, timed out, withdrawn). */
  targetOfferEnded(offer: OfferRecord, reason: string): Promise<void>;
  /** The target agent accepted: dial them into the conference. */
  dialTargetAgent(offer: OfferRecord, contact: string): Promise<void>;
  get(callSid: string): Promise<TransferRecord | null>;
}

const TTL_SECONDS = 6 * 3600;
const ACTIVE = new Set<TransferRecord['state']>(['offering', 'dialing', 'consulting']);

/** The target named in the transfer event: a queue or an agent id; an outside number is never named. */
function transferTarget(t: TransferTarget): { target?: string } {
  return t.kind === 'queue' ? { target: t.queue } : t.kind === 'agent' ? { target: t.agentId } : {};
}

/** Build the transfer logic. */
export function createTransfers(d: TransferDeps): Transfers {
  const { center, urls, clock, redis, keys, agents, offers, rest } = d;
  const k = keys.offers;

  const get = async (callSid: string): Promise<TransferRecord | null> => {
    const raw = await redis.get(k.transfer(callSid));
    return raw ? (JSON.parse(raw) as TransferRecord) : null;
  };
  const save = async (t: TransferRecord) => {
    await redis.set(k.transfer(t.callSid), JSON.stringify(t), 'EX', TTL_SECONDS);
  };
  const tell = (t: TransferRecord, status: TransferStatus, reason?: string) =>
    d.send(t.fromAgentId, { type: 'transfer', callSid: t.callSid, status, kind: t.kind, mode: t.mode, ...(reason ? { reason } : {}) });
  const counted = (t: TransferRecord, result: TransferResult) =>
    d.publish([
      {
        type: 'transfer',
        at: clock.now(),
        callSid: t.callSid,
        queue: t.queue,
        kind: t.kind,
        mode: t.mode,
        result,
        fromAgentId: t.fromAgentId,
        ...transferTarget(t.target),
      },
    ]);

  /** The transferring agent's connected call: its offer (with the conference and the agent's leg). */
  async function ownCall(agentId: string, callSid: string): Promise<OfferRecord> {
    const a = await agents.get(agentId);
    if (!a || a.state !== 'on_call' || a.callSid !== callSid) throw sbError('conflict', 'callSid', 'not a call you are talking on');
    const offer = a.offerId ? await offers.get(a.offerId) : null;
    if (!offer || offer.callSid !== callSid || !offer.conferenceSid || !offer.agentLegSid)
      throw sbError('unavailable', 'callSid', 'the call is not connected yet');
    return offer;
  }

  /** Hold the caller and keep the room open when the transferring agent leaves. */
  async function prepare(offer: OfferRecord): Promise<void> {
    const cs = offer.conferenceSid!;
    await rest.updateParticipant(cs, offer.callSid, { hold: true, holdUrl: urls.holdMusic });
    await rest.updateParticipant(cs, offer.agentLegSid!, { endConferenceOnExit: false });
  }

  /** Undo `prepare` for a warm transfer that did not happen (the agent is still on the call). */
  async function resume(t: TransferRecord): Promise<void> {
    await rest
      .updateParticipant(t.conferenceSid, t.callSid, { hold: false })
      .catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not resume the caller'));
    if (!t.fromGone) {
      await rest.updateParticipant(t.conferenceSid, t.fromLegSid, { endConferenceOnExit: true }).catch(() => undefined);
      d.publish(
        (await agents.hold({ agentId: t.fromAgentId, callSid: t.callSid, on: false }).catch(() => ({ events: [] as DomainEvent[] })))
          .events,
      );
      const from = await offers.get(t.fromOfferId);
      if (from) await offers.pointCall(from);
      await d.send(t.fromAgentId, { type: 'call', callSid: t.callSid, queue: t.queue, status: 'connected', since: clock.now() });
    }
  }

  /** The caller goes back to the front of the queue they came from (a cold transfer nobody took). */
  async function requeue(t: TransferRecord): Promise<void> {
    await rest
      .redirect(t.callSid, urls.transferQueue(t.queue, t.queue))
      .catch((err: unknown) => d.log.info({ err: (err as Error).message }, 'could not requeue the caller (the call may have ended)'));
  }

  async function start(agentId: string, callSid: string, to: TransferTarget, warm: boolean): Promise<void> {
    const offer = await ownCall(agentId, callSid);
    const cur = await get(callSid);
    if (cur && ACTIVE.has(cur.state)) throw sbError('conflict', 'callSid', 'a transfer of this call is already in progress');
    const t: TransferRecord = {
      callSid,
      queue: offer.queue,
      kind: to.kind,
      mode: warm ? 'warm' : 'cold',
      target: to,
      fromAgentId: agentId,
      fromOfferId: offer.offerId,
      fromLegSid: offer.agentLegSid!,
      fromGone: false,
      conferenceSid: offer.conferenceSid!,
      state: 'offering',
      startedAt: clock.now(),
    };
    if (to.kind === 'queue' && !warm) {
      if (!center.queues[to.queue]) throw sbError('not_found', 'to.queue', `no queue ${to.queue}`);
      await rest.redirect(callSid, urls.transferQueue(to.queue, offer.queue)).catch(() => {
        throw sbError('unavailable', 'callSid', 'Twilio did not take the transfer; the call is unchanged');
      });
      t.state = 'completed';
      await save(t);
      counted(t, 'completed');
      await tell(t, 'completed');
      return;
    }
    if (to.kind === 'queue' || to.kind === 'agent') {
      // A named agent, or (warm to a queue) the agent that queue's routing would pick now, to consult.
      const targetQueue = to.kind === 'queue' ? to.queue : offer.queue;
      const q = center.queues[targetQueue];
      if (to.kind === 'queue' && !q) throw sbError('not_found', 'to.queue', `no queue ${to.queue}`);
      if (to.kind === 'agent' && to.agentId === agentId)
        throw sbError('invalid_params', 'to.agentId', 'you cannot transfer a call to yourself');
      if (to.kind === 'agent' && !center.agents[to.agentId]) throw sbError('not_found', 'to.agentId', `no agent ${to.agentId}`);
      const offerId = newOfferId();
      const deadline = clock.now() + (q?.offerTimeoutSeconds ?? 20) * 1000;
      const base = { offerId, queue: targetQueue, callSid, contactId: offer.contactId, deadline };
      const r =
        to.kind === 'agent'
          ? await agents.reserve({ ...base, requiredSkills: [], strategy: 'longest_idle', onlyAgent: to.agentId })
          : await agents.reserve({ ...base, requiredSkills: q!.skills, strategy: q!.strategy, excludeAgents: [agentId] });
      if (!r) {
        if (to.kind === 'agent') throw sbError('conflict', 'to.agentId', `${to.agentId} is not available`);
        throw sbError('conflict', 'to.queue', `no agent of ${to.queue} is free to consult; transfer cold to put the caller in line`);
      }
      d.publish(r.events);
      const targetAgent = r.agentId;
      t.targetOfferId = offerId;
      await save(t);
      const target: OfferRecord = {
        offerId,
        agentId: targetAgent,
        queue: targetQueue,
        callSid,
        kind: 'transfer',
        queueSid: null,
        contactId: offer.contactId,
        callerHash: offer.callerHash,
        calledNumber: offer.calledNumber,
        callbackTo: '',
        conferenceSid: offer.conferenceSid!,
        transferFrom: agentId,
      };
      await offers.save(target);
      try {
        await prepare(offer);
      } catch (err) {
        // Twilio did not take the hold: nothing changed for the caller; the target is free again.
        d.publish((await agents.cancelOffer({ agentId: targetAgent, offerId, reason: 'withdrawn' })).events);
        await d.pushState(targetAgent);
        await finish(t, 'failed');
        await offers.pointCall(offer);
        throw sbError('unavailable', 'callSid', `could not hold the caller (${(err as Error).message})`);
      }
      if (warm) d.publish((await agents.hold({ agentId, callSid, on: true })).events);
      else await leave(t);
      await d.send(targetAgent, {
        type: 'offer',
        offerId,
        callSid,
        queue: targetQueue,
        queueName: q?.name ?? targetQueue,
        waitSeconds: 0,
        ivrPath: [],
        language: center.defaultLanguage,
        repeatCount: 0,
        callback: false,
        deadline,
        transferFrom: agentId,
      });
      await d.pushState(targetAgent);
      await tell(t, 'ringing');
      return;
    }
    // An outside number, dialed into the conference.
    await prepare(offer).catch((err: unknown) => {
      throw sbError('unavailable', 'callSid', `could not hold the caller (${(err as Error).message})`);
    });
    t.state = 'dialing';
    await save(t);
    try {
      const added = await rest.addParticipant(t.conferenceSid, {
        from: d.callerId(offer.calledNumber),
        to: to.number,
        label: 'transfer',
        statusCallback: urls.transferStatus(callSid),
        startConferenceOnEnter: true,
        endConferenceOnExit: false,
        timeoutSeconds: 30,
      });
      t.targetLegSid = added.callSid;
    } catch (err) {
      d.log.warn({ err: (err as Error).message }, 'could not dial the transfer target');
      await resume(t);
      await finish(t, 'failed');
      throw sbError('unavailable', 'to.number', 'Twilio could not dial this number; the caller is back with you');
    }
    await save(t);
    if (warm) d.publish((await agents.hold({ agentId, callSid, on: true })).events);
    else await leave(t);
    await tell(t, 'ringing');
  }

  /** The transferring agent leaves the conference (cold now, or warm on completion). */
  async function leave(t: TransferRecord): Promise<void> {
    if (t.fromGone) return;
    t.fromGone = true;
    await save(t);
    await rest
      .removeParticipant(t.conferenceSid, t.fromLegSid)
      .catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not remove the transferring agent'));
  }

  async function finish(t: TransferRecord, result: TransferResult): Promise<void> {
    t.state = result;
    await save(t);
    counted(t, result);
    await tell(t, result);
  }

  /** The target is on the line and the caller is theirs. */
  async function handOver(t: TransferRecord): Promise<void> {
    if (t.targetLegSid) await rest.updateParticipant(t.conferenceSid, t.targetLegSid, { endConferenceOnExit: true }).catch(() => undefined);
    await rest
      .updateParticipant(t.conferenceSid, t.callSid, { hold: false })
      .catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not resume the caller'));
    await finish(t, 'completed');
    await leave(t);
  }

  async function complete(agentId: string, callSid: string): Promise<void> {
    const t = await get(callSid);
    if (!t || t.fromAgentId !== agentId || !ACTIVE.has(t.state))
      throw sbError('conflict', 'callSid', 'no transfer of this call in progress');
    if (t.state !== 'consulting')
      throw sbError('conflict', 'callSid', 'the target has not answered yet; cancel, or hang up to complete when they answer');
    await handOver(t);
  }

  /** A transfer that did not happen: warm, back to the agent; cold, back to the queue's front. */
  async function undo(t: TransferRecord, result: 'cancelled' | 'failed', reason: string): Promise<void> {
    if (!ACTIVE.has(t.state)) return;
    await finish(t, result);
    if (t.fromGone) await requeue(t);
    else await resume(t);
    d.log.info({ callSid: t.callSid, kind: t.kind, mode: t.mode, reason }, `transfer ${result}`);
  }

  async function cancel(agentId: string, callSid: string): Promise<void> {
    const t = await get(callSid);
    if (!t || t.fromAgentId !== agentId || !ACTIVE.has(t.state))
      throw sbError('conflict', 'callSid', 'no transfer of this call in progress');
    if (t.fromGone) throw sbError('conflict', 'callSid', 'a cold transfer cannot be cancelled');
    const targetOffer = t.targetOfferId ? await offers.get(t.targetOfferId) : null;
    await undo(t, 'cancelled', 'agent');
    if (targetOffer) {
      const b = await agents.get(targetOffer.agentId);
      if (b?.state === 'reserved' && b.offerId === targetOffer.offerId) {
        d.publish((await agents.cancelOffer({ agentId: b.id, offerId: targetOffer.offerId, reason: 'withdrawn' })).events);
        await d.send(b.id, { type: 'offer_cancelled', offerId: targetOffer.offerId, reason: 'withdrawn' });
        await d.pushState(b.id);
      }
    }
    if (t.targetLegSid) await rest.removeParticipant(t.conferenceSid, t.targetLegSid).catch(() => undefined);
  }

  async function targetAnswered(t: TransferRecord): Promise<void> {
    if (t.mode === 'cold' || t.fromGone) {
      await handOver(t);
      return;
    }
    t.state = 'consulting';
    await save(t);
    await tell(t, 'consulting');
  }

  async function targetLegStatus(callSid: string, legSid: string, status: string): Promise<boolean> {
    const t = await get(callSid);
    if (!t || t.targetLegSid !== legSid) return false;
    if (status === 'in-progress' || status === 'answered') {
      if (t.state === 'offering' || t.state === 'dialing') await targetAnswered(t);
      return true;
    }
    if (!callHasEnded(status)) return true;
    if (ACTIVE.has(t.state)) {
      await undo(t, t.state === 'consulting' ? 'cancelled' : 'failed', `target leg ${status}`);
      return true;
    }
    // After completion the target is the talking agent: their leg ending is an ordinary call end.
    return t.state !== 'completed';
  }

  async function fromLegEnded(callSid: string, agentId: string): Promise<void> {
    const t = await get(callSid);
    if (!t || t.fromAgentId !== agentId || !ACTIVE.has(t.state)) return;
    t.fromGone = true;
    await save(t);
    // Hanging up during a consultation completes a warm transfer (the usual desk-phone habit).
    if (t.state === 'consulting') await handOver(t);
  }

  async function targetOfferEnded(offer: OfferRecord, reason: string): Promise<void> {
    const t = await get(offer.callSid);
    if (!t || t.targetOfferId !== offer.offerId) return;
    await undo(t, 'failed', reason);
  }

  async function dialTargetAgent(offer: OfferRecord, contact: string): Promise<void> {
    const t = await get(offer.callSid);
    if (!t || t.targetOfferId !== offer.offerId || !ACTIVE.has(t.state))
      throw sbError('conflict', 'offerId', 'this transfer is no longer in progress');
    t.state = 'dialing';
    try {
      const added = await rest.addParticipant(t.conferenceSid, {
        from: d.callerId(offer.calledNumber),
        to: contact,
        label: 'agent',
        statusCallback: urls.agentStatus(offer.offerId),
        startConferenceOnEnter: true,
        endConferenceOnExit: false,
        timeoutSeconds: 20,
      });
      t.targetLegSid = added.callSid;
    } catch (err) {
      await save(t);
      d.publish((await agents.bridgeFailed({ agentId: offer.agentId, offerId: offer.offerId })).events);
      await d.pushState(offer.agentId);
      await undo(t, 'failed', `dial failed: ${(err as Error).message}`);
      throw sbError('unavailable', 'offerId', 'your phone could not be dialed');
    }
    await save(t);
    await offers.save({ ...offer, agentLegSid: t.targetLegSid });
  }

  return { start, complete, cancel, targetLegStatus, fromLegEnded, targetOfferEnded, dialTargetAgent, get };
}
