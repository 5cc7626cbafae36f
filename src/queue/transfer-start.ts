/**
 * Starting a transfer of a connected call (the rules are in transfer.ts): cold to a queue (the caller is
 * redirected into it), to an agent (a named one, or warm to a queue the agent its routing picks now, offered
 * the call on their desk), or to an outside number dialed into the conference.
 */
import { sbError } from '../errors.js';
import type { TransferTarget } from '../agents/protocol.js';
import { newOfferId } from './context.js';
import type { OfferRecord } from './offers.js';
import {
  finish,
  leave,
  resume,
  saveTransfer,
  tell,
  isActive,
  loadTransfer,
  type TransferDeps,
  type TransferRecord,
} from './transfer-record.js';

/** The transferring agent's connected call: its offer (with the conference and the agent's leg). */
async function ownCall(d: TransferDeps, agentId: string, callSid: string): Promise<OfferRecord> {
  const a = await d.agents.get(agentId);
  if (!a || a.state !== 'on_call' || a.callSid !== callSid) throw sbError('conflict', 'callSid', 'not a call you are talking on');
  const offer = a.offerId ? await d.offers.get(a.offerId) : null;
  if (!offer || offer.callSid !== callSid || !offer.conferenceSid || !offer.agentLegSid)
    throw sbError('unavailable', 'callSid', 'the call is not connected yet');
  return offer;
}

/** Hold the caller and keep the room open when the transferring agent leaves. */
async function prepare(d: TransferDeps, offer: OfferRecord): Promise<void> {
  const cs = offer.conferenceSid!;
  await d.rest.updateParticipant(cs, offer.callSid, { hold: true, holdUrl: d.urls.holdMusic });
  await d.rest.updateParticipant(cs, offer.agentLegSid!, { endConferenceOnExit: false });
}

/** Warm, the agent holds while consulting; cold, they leave at once. */
async function afterDial(d: TransferDeps, t: TransferRecord): Promise<void> {
  if (t.mode === 'warm') d.publish((await d.agents.hold({ agentId: t.fromAgentId, callSid: t.callSid, on: true })).events);
  else await leave(d, t);
}

export async function startTransfer(d: TransferDeps, agentId: string, callSid: string, to: TransferTarget, warm: boolean): Promise<void> {
  const offer = await ownCall(d, agentId, callSid);
  const cur = await loadTransfer(d, callSid);
  if (cur && isActive(cur)) throw sbError('conflict', 'callSid', 'a transfer of this call is already in progress');
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
    startedAt: d.clock.now(),
  };
  if (to.kind === 'queue' && !warm) return coldToQueue(d, t, offer, to.queue);
  if (to.kind === 'queue' || to.kind === 'agent') return offerToAgent(d, t, offer, to);
  return dialNumber(d, t, offer, to.number);
}

/** Cold to a queue: the caller is redirected into it, which ends the conference and the agent's leg. */
async function coldToQueue(d: TransferDeps, t: TransferRecord, offer: OfferRecord, queue: string): Promise<void> {
  if (!d.center.queues[queue]) throw sbError('not_found', 'to.queue', `no queue ${queue}`);
  await d.rest.redirect(t.callSid, d.urls.transferQueue(queue, offer.queue)).catch(() => {
    throw sbError('unavailable', 'callSid', 'Twilio did not take the transfer; the call is unchanged');
  });
  await finish(d, t, 'completed');
}

/** A named agent, or (warm to a queue) the agent that queue's routing would pick now: offered the call to consult. */
async function offerToAgent(
  d: TransferDeps,
  t: TransferRecord,
  offer: OfferRecord,
  to: Extract<TransferTarget, { kind: 'queue' | 'agent' }>,
): Promise<void> {
  const { center, agents, offers, clock } = d;
  const agentId = t.fromAgentId;
  const targetQueue = to.kind === 'queue' ? to.queue : offer.queue;
  const q = center.queues[targetQueue];
  if (to.kind === 'queue' && !q) throw sbError('not_found', 'to.queue', `no queue ${to.queue}`);
  if (to.kind === 'agent' && to.agentId === agentId)
    throw sbError('invalid_params', 'to.agentId', 'you cannot transfer a call to yourself');
  if (to.kind === 'agent' && !center.agents[to.agentId]) throw sbError('not_found', 'to.agentId', `no agent ${to.agentId}`);
  const offerId = newOfferId();
  const deadline = clock.now() + (q?.offerTimeoutSeconds ?? 20) * 1000;
  const base = { offerId, queue: targetQueue, callSid: t.callSid, contactId: offer.contactId, deadline };
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
  await saveTransfer(d, t);
  await offers.save({
    offerId,
    agentId: targetAgent,
    queue: targetQueue,
    callSid: t.callSid,
    kind: 'transfer',
    queueSid: null,
    contactId: offer.contactId,
    callerHash: offer.callerHash,
    calledNumber: offer.calledNumber,
    callbackTo: '',
    conferenceSid: offer.conferenceSid!,
    transferFrom: agentId,
  });
  try {
    await prepare(d, offer);
  } catch (err) {
    // Twilio did not take the hold: nothing changed for the caller; the target is free again.
    d.publish((await agents.cancelOffer({ agentId: targetAgent, offerId, reason: 'withdrawn' })).events);
    await d.pushState(targetAgent);
    await finish(d, t, 'failed');
    await offers.pointCall(offer);
    throw sbError('unavailable', 'callSid', `could not hold the caller (${(err as Error).message})`);
  }
  await afterDial(d, t);
  await d.send(targetAgent, {
    type: 'offer',
    offerId,
    callSid: t.callSid,
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
  await tell(d, t, 'ringing');
}

/** An outside number, dialed into the conference. */
async function dialNumber(d: TransferDeps, t: TransferRecord, offer: OfferRecord, number: string): Promise<void> {
  await prepare(d, offer).catch((err: unknown) => {
    throw sbError('unavailable', 'callSid', `could not hold the caller (${(err as Error).message})`);
  });
  t.state = 'dialing';
  await saveTransfer(d, t);
  try {
    const added = await d.rest.addParticipant(t.conferenceSid, {
      from: d.callerId(offer.calledNumber),
      to: number,
      label: 'transfer',
      statusCallback: d.urls.transferStatus(t.callSid),
      startConferenceOnEnter: true,
      endConferenceOnExit: false,
      timeoutSeconds: 30,
    });
    t.targetLegSid = added.callSid;
  } catch (err) {
    d.log.warn({ err: (err as Error).message }, 'could not dial the transfer target');
    await resume(d, t);
    await finish(d, t, 'failed');
    throw sbError('unavailable', 'to.number', 'Twilio could not dial this number; the caller is back with you');
  }
  await saveTransfer(d, t);
  await afterDial(d, t);
  await tell(d, t, 'ringing');
}
