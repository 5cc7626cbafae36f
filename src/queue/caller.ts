/**
 * The caller's side of the queue: hand-off from the IVR (enqueue or overflow), the hold announcements of
 * the waitUrl (position, estimated wait, keys to press), the keys pressed while waiting, every QueueResult
 * of the Enqueue action, the conference TwiML a dequeued caller runs, and the call's start and end.
 */
import type { DomainEvent } from '../events.js';
import { newResponse, speak, type VoiceResponse } from '../ivr/prompt.js';
import { dialOut, type IvrState } from '../ivr/step.js';
import { conferenceName, type QueueContext } from './context.js';
import { estimateWaitSeconds, roundForAnnouncement } from './estimate.js';
import type { Router } from './router.js';
import { estimatePatienceSeconds } from './staffing.js';

export interface EnterArgs {
  state: IvrState;
  queue: string;
  priority: number | undefined;
  twiml: VoiceResponse;
  /** The caller's and the called number: kept with the queue entry only, to place a callback. */
  party?: { from: string; to: string };
  /** False for transfers: the same contact, not a new offer. */
  countOffer?: boolean;
  front?: boolean;
  /** The caller has just heard the queue's recording consent prompt (the redirect after it). */
  consented?: boolean;
}

export interface CallerFlow {
  enter(args: EnterArgs): Promise<{ state: IvrState; events: DomainEvent[] }>;
  callEnded(state: IvrState): Promise<DomainEvent[]>;
  onCallStarted(state: IvrState): Promise<void>;
  waitTwiml(p: {
    callSid: string;
    queue: string;
    queueSid?: string | undefined;
    queueTime?: number | undefined;
    language?: string | undefined;
  }): Promise<string>;
  keys(p: { callSid: string; queue: string; digits: string; language: string }): Promise<{ xml: string; choseVoicemail: boolean }>;
  result(p: {
    callSid: string;
    queue: string;
    queueResult: string;
    queueTime?: number | undefined;
    language: string;
    choseVoicemail: boolean;
  }): Promise<string>;
  /** `joins`: the TwiML puts the caller into the call's conference (else back in the queue, or hung up). */
  connectTwiml(p: { callSid: string; queue: string; offerId: string }): Promise<{ twiml: string; joins: boolean }>;
}

/**
 * Build the caller flow. `queueSidArrived` is told the offer whose bridge was waiting for the caller's
 * QueueSid when a waitUrl request brings it (the bridge carries on with the dequeue).
 */
export function createCallerFlow(
  ctx: QueueContext,
  router: Router,
  queueSidArrived: (offerId: string, queueSid: string) => void,
): CallerFlow {
  const { center, urls, clock, contacts } = ctx;
  const { enter } = createEntry(ctx, router);
  const { waitTwiml, keys } = createWaiting(ctx, queueSidArrived);
  const { result } = createLeaving(ctx, router);

  /**
   * The dequeued caller's TwiML (Twilio fetches the offer's connect URL): join the call's conference. The
   * fetch is a request of its own and can come after the bridge is over: if the agent is no longer on this
   * offer's call, the caller is not put into a conference nobody will join. A caller given back to the queue
   * meanwhile (the agent's leg ended before the answer was counted) returns to Twilio's queue and keeps
   * their place; a caller whose agent already ended the call is hung up.
   */
  async function connectTwiml(p: { callSid: string; queue: string; offerId: string }): Promise<{ twiml: string; joins: boolean }> {
    const twiml = newResponse();
    const offer = await ctx.offers.get(p.offerId);
    if (offer && offer.callSid === p.callSid) {
      const [agent, entry] = await Promise.all([ctx.agents.get(offer.agentId), ctx.queues.callerInfo(p.queue, p.callSid)]);
      if (!(agent?.state === 'on_call' && agent.offerId === offer.offerId)) {
        ctx.log.warn({ offerId: p.offerId }, 'the caller reached the connect URL after the bridge was over');
        if (entry && entry.offerId !== offer.offerId) enqueueTwiml(ctx, twiml, p.queue);
        else twiml.hangup();
        return { twiml: twiml.toString(), joins: false };
      }
    }
    const dial = twiml.dial({ action: urls.afterCall(p.queue), method: 'POST' });
    // No statusCallback here: the agent's leg created the conference and asked for it (see bridge.ts).
    dial.conference(
      { startConferenceOnEnter: true, endConferenceOnExit: true, beep: 'false', waitUrl: center.holdMusic.url },
      conferenceName(p.callSid),
    );
    return { twiml: twiml.toString(), joins: true };
  }

  async function callEnded(state: IvrState): Promise<DomainEvent[]> {
    // The Enqueue action (QueueResult=hangup, with Twilio's QueueTime) counts abandons. A call that ends
    // while being offered releases the agent here too, in case the action never arrives.
    if (state.phase === 'queue' && state.queue) await router.withdrawOfferFor(state.callSid);
    return [];
  }

  async function onCallStarted(state: IvrState): Promise<void> {
    if (!state.callerHash) return;
    ctx.publish(await contacts.checkRepeat(state.callerHash, state.callSid, clock.now(), center.thresholds.repeatWindowSeconds));
  }

  return { enter, callEnded, onCallStarted, waitTwiml, keys, result, connectTwiml };
}

/** The Enqueue verb for a queue: its action and waitUrl are ours. */
function enqueueTwiml(ctx: QueueContext, twiml: VoiceResponse, queue: string): void {
  const { urls } = ctx;
  twiml.enqueue({ action: urls.queueResult(queue), method: 'POST', waitUrl: urls.queueWait(queue), waitUrlMethod: 'POST' }, queue);
}

/** TwiML that takes a caller out of a queue to its overflow target. */
function overflowTwiml(ctx: QueueContext, twiml: VoiceResponse, queue: string, language: string, forceVoicemail = false): void {
  const { center, urls } = ctx;
  const o = ctx.qc(queue).overflow;
  speak(twiml, center, o.prompt, language);
  if (forceVoicemail || o.target === 'voicemail') {
    if (!o.prompt) twiml.say({}, 'Please leave a message after the tone.');
    twiml.record({
      action: urls.queueOverflowRecord(queue),
      method: 'POST',
      maxLength: 120,
      playBeep: true,
      finishOnKey: '#',
      recordingStatusCallback: urls.recordingStatus(`queue:${queue}`),
    });
    twiml.hangup();
  } else if (o.target === 'number' && o.number) {
    dialOut(twiml, o.number);
  } else if (o.target === 'queue' && o.queue) {
    // Re-entry into the overflow queue happens when that queue's webhook runs; here we only redirect.
    twiml.redirect({ method: 'POST' }, urls.queueEnter(o.queue, queue));
  } else {
    if (!o.prompt) twiml.say({}, 'We are sorry, no one can take your call right now. Please call again later.');
    twiml.hangup();
  }
}

/** The hand-off from the IVR: enqueue, or overflow at once (queue full, no one staffed). */
function createEntry(ctx: QueueContext, router: Router): Pick<CallerFlow, 'enter'> {
  const { center, urls, queues, agents } = ctx;

  async function enter(args: EnterArgs) {
    const q = ctx.qc(args.queue);
    if (q.recording.enabled && !args.consented) {
      // A queue that records plays its consent prompt first; the caller is queued (here and in Twilio's
      // queue) only once they have heard it, from the redirect, so no agent is offered a caller still
      // listening to it and the wait starts after it.
      speak(args.twiml, center, q.recording.consentPrompt, args.state.language);
      args.twiml.redirect(
        { method: 'POST' },
        urls.queueConsented(args.queue, { priority: args.priority, front: args.front ?? false, countOffer: args.countOffer ?? true }),
      );
      return { state: { ...args.state, phase: 'queue' as const, queue: args.queue }, events: [] };
    }
    // Whether anyone is staffed matters only to a queue that overflows when no one is.
    const noAgentsStaffed = q.whenNoAgents === 'overflow' && (await agents.staffedFor(q.skills)).staffed === 0;
    const r = await queues.enqueue({
      queue: args.queue,
      callSid: args.state.callSid,
      contactId: args.state.contactId,
      callerHash: args.state.callerHash,
      priority: args.priority ?? q.defaultPriority,
      front: args.front ?? false,
      countOffer: args.countOffer ?? true,
      maxLength: q.maxLength,
      noAgentsStaffed,
      whenNoAgents: q.whenNoAgents,
      serviceLevelSeconds: ctx.sl(args.queue),
      overflowTarget: q.overflow.target,
      language: args.state.language,
      ivrPath: args.state.path.join('>'),
      meta: { callbackTo: args.party?.from ?? '', calledNumber: args.party?.to ?? '' },
    });
    const state: IvrState = { ...args.state, phase: 'queue', queue: args.queue };
    if (r.result === 'queued' || r.result === 'already') {
      enqueueTwiml(ctx, args.twiml, args.queue);
      // Route after answering: Twilio puts the caller in its queue when it runs our TwiML.
      router.routeSoon(args.queue);
    } else {
      overflowTwiml(ctx, args.twiml, args.queue, state.language);
      state.phase = 'ended';
    }
    return { state, events: r.events };
  }

  return { enter };
}

/** While the caller waits: the waitUrl's announcements and the keys pressed. */
function createWaiting(
  ctx: QueueContext,
  queueSidArrived: (offerId: string, queueSid: string) => void,
): Pick<CallerFlow, 'waitTwiml' | 'keys'> {
  const { center, urls, clock, queues, agents } = ctx;

  /** The queue's observed caller patience (as for the Erlang A gauge), re-read at most once a minute. */
  const patience = new Map<string, { at: number; value: number | null }>();
  async function patienceFor(queue: string): Promise<number | null> {
    const now = clock.now();
    const have = patience.get(queue);
    if (have && now - have.at < 60_000) return have.value;
    const value = estimatePatienceSeconds(await queues.leftSince(queue, now - center.thresholds.capacityWindowSeconds * 1000));
    patience.set(queue, { at: now, value });
    return value;
  }

  async function waitTwiml(p: {
    callSid: string;
    queue: string;
    queueSid?: string | undefined;
    queueTime?: number | undefined;
    /** The caller's language; by default the one kept with its queue entry. */
    language?: string | undefined;
  }): Promise<string> {
    const q = ctx.qc(p.queue);
    const twiml = newResponse();
    // Everything the announcement needs is read at once (one round trip); only the estimate is written after.
    const [set, pos, kept, staffed, handle, patienceSeconds] = await Promise.all([
      p.queueSid ? queues.setQueueSid(p.queue, p.callSid, p.queueSid) : undefined,
      queues.position(p.queue, p.callSid),
      p.language === undefined ? queues.language(p.queue, p.callSid) : null,
      agents.staffedFor(q.skills),
      queues.recentHandleTimes(p.queue, 50),
      patienceFor(p.queue),
    ]);
    if (set?.awaitedBy && p.queueSid) queueSidArrived(set.awaitedBy, p.queueSid);
    const language = p.language ?? kept ?? center.defaultLanguage;
    if (!pos) {
      // Not ours any more (answered elsewhere, or state lost): keep the caller company until Twilio moves them.
      twiml.play({}, center.holdMusic.url);
      return twiml.toString();
    }
    const waited = p.queueTime ?? pos.waitSeconds;
    if (waited >= q.maxWaitSeconds && pos.state === 'waiting') {
      // Max wait: leave the queue; the Enqueue action (QueueResult=leave) sends the caller to overflow.
      twiml.leave();
      return twiml.toString();
    }
    const ewt = estimateWaitSeconds({
      patienceSeconds,
      position: pos.position,
      agentsStaffed: staffed.staffed,
      agentsAvailable: staffed.available,
      recentHandleTimesSeconds: handle,
      defaultAhtSeconds: q.expectedHandleSeconds,
    });
    if (ewt !== null) {
      const est = await queues.recordEstimate({ queue: p.queue, callSid: p.callSid, seconds: ewt, position: pos.position });
      ctx.publish(est.events);
    }
    const gatherKeys = [q.callbackKey, q.voicemailKey].filter((k): k is string => Boolean(k));
    const target = gatherKeys.length
      ? twiml.gather({ input: ['dtmf'], numDigits: 1, action: urls.queueKeys(p.queue), method: 'POST', timeout: 3 })
      : twiml;
    speak(target, center, positionPrompt(pos.position, ewt, language), language);
    if (q.callbackKey) speak(target, center, callbackOfferPrompt(q.callbackKey), language);
    if (q.voicemailKey) speak(target, center, voicemailOfferPrompt(q.voicemailKey), language);
    // Hold music until the next announcement; Twilio requests the waitUrl again when this runs out.
    twiml.play({ loop: Math.max(1, Math.round(q.announceEverySeconds / center.holdMusic.segmentSeconds)) }, center.holdMusic.url);
    return twiml.toString();
  }

  async function keys(p: {
    callSid: string;
    queue: string;
    digits: string;
    language: string;
  }): Promise<{ xml: string; choseVoicemail: boolean }> {
    const q = ctx.qc(p.queue);
    const twiml = newResponse();
    if (q.callbackKey && p.digits === q.callbackKey) {
      const r = await queues.requestCallback({
        queue: p.queue,
        callSid: p.callSid,
        serviceLevelSeconds: ctx.sl(p.queue),
        shortAbandonSeconds: ctx.short,
      });
      ctx.publish(r.events);
      if (r.result === 'requested' || r.result === 'already') {
        twiml.say({}, 'Thank you. You keep your place in line, and we will call you back when an agent is free. Goodbye.');
        twiml.hangup();
        return { xml: twiml.toString(), choseVoicemail: false };
      }
    } else if (q.voicemailKey && p.digits === q.voicemailKey) {
      // <Leave> posts the Enqueue action with QueueResult=leave; the caller goes to voicemail from there.
      twiml.leave();
      return { xml: twiml.toString(), choseVoicemail: true };
    }
    twiml.redirect({ method: 'POST' }, urls.queueWait(p.queue));
    return { xml: twiml.toString(), choseVoicemail: false };
  }

  return { waitTwiml, keys };
}

/** The Enqueue action: every QueueResult (hang-up, leave to overflow, queue full, errors, notifications). */
function createLeaving(ctx: QueueContext, router: Router): Pick<CallerFlow, 'result'> {
  const { queues } = ctx;

  /** The caller leaves to overflow (max wait or voicemail chosen, queue full, queue error). */
  async function overflow(
    p: { callSid: string; queue: string; queueTime?: number | undefined; language: string },
    reason: 'caller_voicemail' | 'max_wait' | 'queue_full',
    twiml: VoiceResponse,
  ): Promise<void> {
    const q = ctx.qc(p.queue);
    const voicemail = reason === 'caller_voicemail';
    const r = await queues.leave({
      queue: p.queue,
      callSid: p.callSid,
      outcome: 'overflow',
      waitSeconds: reason === 'queue_full' ? 0 : p.queueTime,
      shortAbandonSeconds: ctx.short,
      serviceLevelSeconds: ctx.sl(p.queue),
      overflowTarget: voicemail ? 'voicemail' : q.overflow.target,
      overflowReason: reason,
    });
    ctx.publish(r.events);
    overflowTwiml(ctx, twiml, p.queue, p.language, voicemail);
  }

  async function result(p: {
    callSid: string;
    queue: string;
    queueResult: string;
    queueTime?: number | undefined;
    language: string;
    choseVoicemail: boolean;
  }): Promise<string> {
    const twiml = newResponse();
    switch (p.queueResult) {
      case 'hangup':
      case 'system-error': {
        // One script: a callback entry keeps its place ('gone', nothing counted); the state before tells
        // whether an offer for the caller is to be withdrawn.
        const r = await queues.leave({
          queue: p.queue,
          callSid: p.callSid,
          outcome: 'abandoned',
          waitSeconds: p.queueTime,
          shortAbandonSeconds: ctx.short,
          serviceLevelSeconds: ctx.sl(p.queue),
        });
        ctx.publish(r.events);
        if (r.priorState === 'offered' || r.priorState === 'bridging') await router.withdrawOfferFor(p.callSid);
        break;
      }
      case 'leave':
        await overflow(p, p.choseVoicemail ? 'caller_voicemail' : 'max_wait', twiml);
        break;
      case 'queue-full':
        await overflow(p, 'queue_full', twiml);
        break;
      case 'error':
        await overflow(p, 'max_wait', twiml);
        break;
      // redirected / redirected-from-bridged / bridged / bridging-in-process: notifications
      // (a REST dequeue also posts the action at once); the answer is counted by the bridge.
      default:
        break;
    }
    return twiml.toString();
  }

  return { result };
}

function positionPrompt(position: number, ewtSeconds: number | null, language: string): string {
  const wait = roundForAnnouncement(ewtSeconds, language);
  if (ewtSeconds === null) return language === 'es' ? `Usted es el número ${position} en la fila.` : `You are number ${position} in line.`;
  if (language === 'es') return `Usted es el número ${position} en la fila. Tiempo estimado de espera: ${wait}.`;
  return `You are number ${position} in line. Your estimated wait is ${wait}.`;
}
const callbackOfferPrompt = (key: string) => `To hang up and keep your place for a call back, press ${key}.`;
const voicemailOfferPrompt = (key: string) => `To leave a message instead, press ${key}.`;
