/**
 * Transfers of connected calls, on the call's own conference (supervisor monitoring: monitor.ts). This module
 * holds the rules below and what happens after the start; transfer-start.ts starts one, transfer-record.ts
 * stores it and ends it.
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
import { sbError } from '../errors.js';
import type { TransferTarget } from '../agents/protocol.js';
import type { OfferRecord } from './offers.js';
import { handOver, isActive, loadTransfer, saveTransfer, tell, undo, type TransferDeps, type TransferRecord } from './transfer-record.js';
import { startTransfer } from './transfer-start.js';

export type { TransferDeps, TransferRecord } from './transfer-record.js';

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

/** Build the transfer logic. */
export function createTransfers(d: TransferDeps): Transfers {
  return {
    start: (agentId, callSid, to, warm) => startTransfer(d, agentId, callSid, to, warm),
    complete: (agentId, callSid) => complete(d, agentId, callSid),
    cancel: (agentId, callSid) => cancel(d, agentId, callSid),
    targetLegStatus: (callSid, legSid, status) => targetLegStatus(d, callSid, legSid, status),
    fromLegEnded: (callSid, agentId) => fromLegEnded(d, callSid, agentId),
    targetOfferEnded: (offer, reason) => targetOfferEnded(d, offer, reason),
    dialTargetAgent: (offer, contact) => dialTargetAgent(d, offer, contact),
    get: (callSid) => loadTransfer(d, callSid),
  };
}

/** The transfer of this call the agent started and that is still under way, or a conflict. */
async function ownTransfer(d: TransferDeps, agentId: string, callSid: string): Promise<TransferRecord> {
  const t = await loadTransfer(d, callSid);
  if (!t || t.fromAgentId !== agentId || !isActive(t)) throw sbError('conflict', 'callSid', 'no transfer of this call in progress');
  return t;
}

async function complete(d: TransferDeps, agentId: string, callSid: string): Promise<void> {
  const t = await ownTransfer(d, agentId, callSid);
  if (t.state !== 'consulting')
    throw sbError('conflict', 'callSid', 'the target has not answered yet; cancel, or hang up to complete when they answer');
  await handOver(d, t);
}

async function cancel(d: TransferDeps, agentId: string, callSid: string): Promise<void> {
  const { agents, offers, rest } = d;
  const t = await ownTransfer(d, agentId, callSid);
  if (t.fromGone) throw sbError('conflict', 'callSid', 'a cold transfer cannot be cancelled');
  const targetOffer = t.targetOfferId ? await offers.get(t.targetOfferId) : null;
  await undo(d, t, 'cancelled', 'agent');
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

async function targetAnswered(d: TransferDeps, t: TransferRecord): Promise<void> {
  if (t.mode === 'cold' || t.fromGone) {
    await handOver(d, t);
    return;
  }
  t.state = 'consulting';
  await saveTransfer(d, t);
  await tell(d, t, 'consulting');
}

async function targetLegStatus(d: TransferDeps, callSid: string, legSid: string, status: string): Promise<boolean> {
  const t = await loadTransfer(d, callSid);
  if (!t || t.targetLegSid !== legSid) return false;
  if (status === 'in-progress' || status === 'answered') {
    if (t.state === 'offering' || t.state === 'dialing') await targetAnswered(d, t);
    return true;
  }
  if (!callHasEnded(status)) return true;
  if (isActive(t)) {
    await undo(d, t, t.state === 'consulting' ? 'cancelled' : 'failed', `target leg ${status}`);
    return true;
  }
  // After completion the target is the talking agent: their leg ending is an ordinary call end.
  return t.state !== 'completed';
}

async function fromLegEnded(d: TransferDeps, callSid: string, agentId: string): Promise<void> {
  const t = await loadTransfer(d, callSid);
  if (!t || t.fromAgentId !== agentId || !isActive(t)) return;
  t.fromGone = true;
  await saveTransfer(d, t);
  // Hanging up during a consultation completes a warm transfer (the usual desk-phone habit).
  if (t.state === 'consulting') await handOver(d, t);
}

async function targetOfferEnded(d: TransferDeps, offer: OfferRecord, reason: string): Promise<void> {
  const t = await loadTransfer(d, offer.callSid);
  if (!t || t.targetOfferId !== offer.offerId) return;
  await undo(d, t, 'failed', reason);
}

/** The target agent accepted: dial them into the conference. */
async function dialTargetAgent(d: TransferDeps, offer: OfferRecord, contact: string): Promise<void> {
  const { agents, offers, rest, urls } = d;
  const t = await loadTransfer(d, offer.callSid);
  if (!t || t.targetOfferId !== offer.offerId || !isActive(t))
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
    await saveTransfer(d, t);
    d.publish((await agents.bridgeFailed({ agentId: offer.agentId, offerId: offer.offerId })).events);
    await d.pushState(offer.agentId);
    await undo(d, t, 'failed', `dial failed: ${(err as Error).message}`);
    throw sbError('unavailable', 'offerId', 'your phone could not be dialed');
  }
  await saveTransfer(d, t);
  await offers.save({ ...offer, agentLegSid: t.targetLegSid });
}
