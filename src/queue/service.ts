/**
 * The queue side of a call: hand-off from the IVR, hold announcements, routing to agents, offers and
 * their timeouts, the bridge through Twilio's REST API into a conference per call, callbacks, wrap-up,
 * and repeat-contact detection. State changes go through the queue and agent stores (one Lua script
 * each); this module decides what to do next and talks to Twilio and to agents.
 *
 * Bridge order (decided here): on accept the agent is dialed into the call's conference first; only when
 * the agent's leg answers is the caller taken out of the Twilio queue into the conference. So a caller
 * never sits in an empty conference, and keeps their place until the bridge succeeds.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { serviceLevelSecondsFor, type CenterConfig, type QueueConfig } from '../config/callcenter.js';
import type { DomainEvent, EventBus } from '../events.js';
import { sbError, socketError, SwitchboardError, type ErrorCode } from '../errors.js';
import { newResponse, speak, type VoiceResponse } from '../ivr/prompt.js';
import { dialOut, type IvrState } from '../ivr/step.js';
import type { AgentChannel, AgentCommands } from '../agents/channel.js';
import type { ClientMessage, OfferMessage, ServerMessage } from '../agents/protocol.js';
import type { AgentStore } from '../agents/store.js';
import type { Urls } from '../urls.js';
import type { ContactStore } from './contacts.js';
import type { OfferRecord, OfferStore } from './offers.js';
import { estimateWaitSeconds, roundForAnnouncement } from './estimate.js';
import { estimatePatienceSeconds } from './staffing.js';
import type { QueueStore } from './store.js';
import { ENDED_CALL_STATUSES, isNotFound, RestError, type CallFacts, type TwilioRest } from './twilio-rest.js';
import { createTransfers, type MonitorRequest, type Transfers } from './transfer.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';

export interface QueueServiceDeps {
  center: CenterConfig;
  urls: Urls;
  clock: Clock;
  bus: EventBus;
  queues: QueueStore;
  agents: AgentStore;
  contacts: ContactStore;
  offers: OfferStore;
  rest: TwilioRest;
  redis: RedisClient;
  keys: Keys;
  instance: string;
  /** Set after the channel is attached (the channel needs the service as its command handler). */
  channel?: AgentChannel;
  log: { error(o: object, m: string): void; warn(o: object, m: string): void; info(o: object, m: string): void };
  /** How often the sweeper runs (offer/wrap-up/grace timeouts, re-routing). Default 1000 ms. */
  sweepEveryMs?: number;
  /** Disconnected agents are signed out after this long. Default 30 s. */
  graceMs?: number;
  /** Caller id used when dialing agents and callbacks when the call's own number is unknown. */
  defaultCallerId?: string;
}

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
}

export interface QueueService extends AgentCommands {
  enter(args: EnterArgs): Promise<{ state: IvrState; events: DomainEvent[] }>;
  callEnded(state: IvrState): Promise<DomainEvent[]>;
  onCallStarted(state: IvrState): Promise<void>;
  waitTwiml(p: { callSid: string; queue: string; queueSid?: string | undefined; queueTime?: number | undefined; language: string }): Promise<string>;
  keys(p: { callSid: string; queue: string; digits: string; language: string }): Promise<{ xml: string; choseVoicemail: boolean }>;
  result(p: { callSid: string; queue: string; queueResult: string; queueTime?: number | undefined; language: string; choseVoicemail: boolean }): Promise<string>;
  connectTwiml(p: { callSid: string; queue: string; offerId: string }): string;
  /** The dequeued caller requested the connect URL of `offerId`. */
  dequeued(offerId: string): Promise<void>;
  agentLegStatus(p: { offerId: string; callSid: string; status: string }): Promise<void>;
  callbackLegTwiml(p: { queue: string; offerId: string; language: string }): Promise<string>;
  callbackLegStatus(p: { queue: string; offerId: string; callSid: string; status: string }): Promise<void>;
  setChannel(channel: AgentChannel): void;
  conferenceEvent(p: { friendlyName: string; conferenceSid: string; event: string }): Promise<void>;
  /** Status of an outside number dialed in by a transfer. */
  transferLegStatus(p: { callSid: string; legSid: string; status: string }): Promise<void>;
  /** Supervisor listen / coach / barge / stop on a live call. */
  monitor(r: MonitorRequest): Promise<{ legSid: string | null; queue: string }>;
  monitorLegStatus(p: { callSid: string; legSid: string; status: string }): Promise<void>;
  transfers: Transfers;
  route(queue: string): Promise<number>;
  sweep(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** How often the sweep looks for work orphaned by a dead instance, and how long past due it must be. */
const ORPHAN_SCAN_EVERY_MS = 5_000;
const ORPHAN_GRACE_MS = 10_000;
/** Accepted but not connected for this long: dialling the agent (20 s) and the dequeue are long over. */
const STALE_BRIDGE_MS = 120_000;
/**
 * Ghosts (callers in Redis whose call has ended, their hangup lost): how often the sweep looks, how long past
 * the queue's maxWaitSeconds a caller must wait to be checked with Twilio (a live one has been sent to
 * overflow by its waitUrl by then), how many it checks per queue per look, and how long before the same
 * caller is checked again (by any instance).
 */
const GHOST_SCAN_EVERY_MS = 30_000;
const GHOST_MARGIN_SECONDS = 120;
const GHOST_CHECKS_PER_SCAN = 5;
const GHOST_RECHECK_MS = 10 * 60_000;

const TERMINAL = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

export const conferenceName = (callSid: string): string => `sb-${callSid}`;
/** The conference events asked for (only the ConferenceSid is taken from them, as a second source). */
const CONFERENCE_EVENTS = ['start', 'end', 'join', 'leave', 'hold'];
const newOfferId = (): string => 'of_' + randomBytes(9).toString('base64url');

/** Build the queue service. Call `start()` to run the sweeper. */
export function createQueueService(d: QueueServiceDeps): QueueService {
  const { center, urls, clock, bus, queues, agents, contacts, offers, rest } = d;
  let stopTimer: (() => void) | undefined;
  let stopped = false;
  let lastOrphanScan = 0;
  let lastGhostScan = 0;
  const routing = new Map<string, Promise<number>>();

  const qc = (queue: string): QueueConfig => {
    const q = center.queues[queue];
    if (!q) throw sbError('not_found', 'queue', `no queue ${queue}`);
    return q;
  };
  const sl = (queue: string) => serviceLevelSecondsFor(center, queue);
  const short = center.thresholds.shortAbandonSeconds;
  const send = async (agentId: string, msg: ServerMessage) => {
    try {
      await d.channel?.send(agentId, msg);
    } catch (err) {
      d.log.warn({ err, agentId }, 'could not deliver an agent message');
    }
  };
  const publish = (events: DomainEvent[]) => bus.publish(events);
  /** Start work nobody awaits (routing after a change); a failure (Redis away) is logged, never unhandled. */
  const detach = (p: Promise<unknown>, what: string): void => {
    p.catch((err: unknown) => d.log.warn({ err: (err as Error).message }, what));
  };
  const transfers = createTransfers({
    center,
    urls,
    clock,
    redis: d.redis,
    keys: d.keys,
    agents,
    offers,
    rest,
    defaultCallerId: d.defaultCallerId,
    log: d.log,
    publish,
    send: (agentId, msg) => send(agentId, msg),
    pushState: (agentId) => pushState(agentId),
  });

  // ------------------------------------------------------------------ caller side

  function enqueueTwiml(twiml: VoiceResponse, queue: string): void {
    twiml.enqueue({ action: urls.queueResult(queue), method: 'POST', waitUrl: urls.queueWait(queue), waitUrlMethod: 'POST' }, queue);
  }

  /** TwiML that takes a caller out of a queue to its overflow target. */
  function overflowTwiml(twiml: VoiceResponse, queue: string, language: string, forceVoicemail = false): void {
    const o = qc(queue).overflow;
    speak(twiml, center, o.prompt, language);
    if (forceVoicemail || o.target === 'voicemail') {
      if (!o.prompt) twiml.say({}, 'Please leave a message after the tone.');
      twiml.record({ action: urls.queueOverflowRecord(queue), method: 'POST', maxLength: 120, playBeep: true, finishOnKey: '#', recordingStatusCallback: urls.recordingStatus(`queue:${queue}`) });
      twiml.hangup();
    } else if (o.target === 'number' && o.number) {
      dialOut(twiml, o.number);
    } else if (o.target === 'queue' && o.queue) {
      // Re-entry into the overflow queue happens when that queue's webhook runs; here we only redirect.
      twiml.redirect({ method: 'POST' }, `${urls.base}/twilio/queue/enter?queue=${encodeURIComponent(o.queue)}&from=${encodeURIComponent(queue)}`);
    } else {
      if (!o.prompt) twiml.say({}, 'We are sorry, no one can take your call right now. Please call again later.');
      twiml.hangup();
    }
  }

  async function enter(args: EnterArgs) {
    const q = qc(args.queue);
    const staffed = await agents.staffedFor(q.skills);
    const r = await queues.enqueue({
      queue: args.queue,
      callSid: args.state.callSid,
      contactId: args.state.contactId,
      callerHash: args.state.callerHash,
      priority: args.priority ?? q.defaultPriority,
      front: args.front ?? false,
      countOffer: args.countOffer ?? true,
      maxLength: q.maxLength,
      noAgentsStaffed: staffed.staffed === 0,
      whenNoAgents: q.whenNoAgents,
      serviceLevelSeconds: sl(args.queue),
      overflowTarget: q.overflow.target,
      language: args.state.language,
      ivrPath: args.state.path.join('>'),
      meta: { callbackTo: args.party?.from ?? '', calledNumber: args.party?.to ?? '' },
    });
    const state: IvrState = { ...args.state, phase: 'queue', queue: args.queue };
    if (r.result === 'queued' || r.result === 'already') {
      enqueueTwiml(args.twiml, args.queue);
      // Route after answering: Twilio puts the caller in its queue when it runs our TwiML.
      clock.setTimer(0, () => void route(args.queue).catch((err: unknown) => d.log.error({ err }, 'routing failed')));
    } else {
      overflowTwiml(args.twiml, args.queue, state.language);
      state.phase = 'ended';
    }
    return { state, events: r.events };
  }

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

  async function waitTwiml(p: { callSid: string; queue: string; queueSid?: string | undefined; queueTime?: number | undefined; language: string }): Promise<string> {
    const q = qc(p.queue);
    const twiml = newResponse();
    if (p.queueSid) await queues.setQueueSid(p.queue, p.callSid, p.queueSid);
    const pos = await queues.position(p.queue, p.callSid);
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
    const staffed = await agents.staffedFor(q.skills);
    const handle = await queues.recentHandleTimes(p.queue, 50);
    const patienceSeconds = await patienceFor(p.queue);
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
      publish(est.events);
    }
    const gatherKeys = [q.callbackKey, q.voicemailKey].filter((k): k is string => Boolean(k));
    const target = gatherKeys.length
      ? twiml.gather({ input: ['dtmf'], numDigits: 1, action: urls.queueKeys(p.queue), method: 'POST', timeout: 3 })
      : twiml;
    speak(target, center, positionPrompt(pos.position, ewt, p.language), p.language);
    if (q.callbackKey) speak(target, center, callbackOfferPrompt(q.callbackKey), p.language);
    if (q.voicemailKey) speak(target, center, voicemailOfferPrompt(q.voicemailKey), p.language);
    // Hold music until the next announcement; Twilio requests the waitUrl again when this runs out.
    twiml.play({ loop: Math.max(1, Math.round(q.announceEverySeconds / center.holdMusic.segmentSeconds)) }, center.holdMusic.url);
    return twiml.toString();
  }

  async function keys(p: { callSid: string; queue: string; digits: string; language: string }): Promise<{ xml: string; choseVoicemail: boolean }> {
    const q = qc(p.queue);
    const twiml = newResponse();
    if (q.callbackKey && p.digits === q.callbackKey) {
      const r = await queues.requestCallback({ queue: p.queue, callSid: p.callSid, serviceLevelSeconds: sl(p.queue), shortAbandonSeconds: short });
      publish(r.events);
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

  async function result(p: { callSid: string; queue: string; queueResult: string; queueTime?: number | undefined; language: string; choseVoicemail: boolean }): Promise<string> {
    const twiml = newResponse();
    const q = qc(p.queue);
    switch (p.queueResult) {
      case 'hangup':
      case 'system-error': {
        const pos = await queues.position(p.queue, p.callSid);
        if (pos && (pos.state === 'callback' || pos.state === 'callback_offered')) break; // kept its place
        const offered = pos && (pos.state === 'offered' || pos.state === 'bridging');
        const r = await queues.leave({ queue: p.queue, callSid: p.callSid, outcome: 'abandoned', waitSeconds: p.queueTime, shortAbandonSeconds: short, serviceLevelSeconds: sl(p.queue) });
        publish(r.events);
        if (offered) await withdrawOfferFor(p.callSid);
        break;
      }
      case 'leave': {
        const chose = p.choseVoicemail;
        const r = await queues.leave({
          queue: p.queue,
          callSid: p.callSid,
          outcome: 'overflow',
          waitSeconds: p.queueTime,
          shortAbandonSeconds: short,
          serviceLevelSeconds: sl(p.queue),
          overflowTarget: chose ? 'voicemail' : q.overflow.target,
          overflowReason: chose ? 'caller_voicemail' : 'max_wait',
        });
        publish(r.events);
        overflowTwiml(twiml, p.queue, p.language, chose);
        break;
      }
      case 'queue-full': {
        const r = await queues.leave({ queue: p.queue, callSid: p.callSid, outcome: 'overflow', waitSeconds: 0, shortAbandonSeconds: short, serviceLevelSeconds: sl(p.queue), overflowTarget: q.overflow.target, overflowReason: 'queue_full' });
        publish(r.events);
        overflowTwiml(twiml, p.queue, p.language);
        break;
      }
      case 'error': {
        const r = await queues.leave({ queue: p.queue, callSid: p.callSid, outcome: 'overflow', waitSeconds: p.queueTime, shortAbandonSeconds: short, serviceLevelSeconds: sl(p.queue), overflowTarget: q.overflow.target, overflowReason: 'max_wait' });
        publish(r.events);
        overflowTwiml(twiml, p.queue, p.language);
        break;
      }
      // redirected / redirected-from-bridged / bridged / bridging-in-process: notifications
      // (twilio.md 7.1: a REST dequeue also posts the action at once); the answer is counted by the bridge.
      default:
        break;
    }
    return twiml.toString();
  }

  function connectTwiml(p: { callSid: string; queue: string; offerId: string }): string {
    const twiml = newResponse();
    const dial = twiml.dial({ action: urls.afterCall(p.queue), method: 'POST' });
    // No statusCallback here: the agent's leg created the conference and asked for it (see accept).
    dial.conference({ startConferenceOnEnter: true, endConferenceOnExit: true, beep: 'false', waitUrl: center.holdMusic.url }, conferenceName(p.callSid));
    return twiml.toString();
  }

  async function callEnded(state: IvrState): Promise<DomainEvent[]> {
    // The Enqueue action (QueueResult=hangup, with Twilio's QueueTime) counts abandons. A call that ends
    // while being offered releases the agent here too, in case the action never arrives.
    if (state.phase === 'queue' && state.queue) await withdrawOfferFor(state.callSid);
    return [];
  }

  async function onCallStarted(state: IvrState): Promise<void> {
    if (!state.callerHash) return;
    const events = await contacts.checkRepeat(state.callerHash, state.callSid, clock.now(), center.thresholds.repeatWindowSeconds);
    publish(events);
  }

  // ------------------------------------------------------------------ routing

  /** Offer waiting callers of a queue to free agents until one side runs out. Serialised per queue per instance. */
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
    const q = qc(queue);
    let made = 0;
    for (let i = 0; i < 50 && !stopped; i++) {
      // A cheap read first, so a queue with no free agent costs no writes; the claim and the reservation
      // below are each atomic, and a lost race is undone by releasing the claim.
      const staffed = await agents.staffedFor(q.skills);
      if (staffed.available === 0) break;
      const offerId = newOfferId();
      const deadline = clock.now() + q.offerTimeoutSeconds * 1000;
      const caller = await queues.claimNext({ queue, offerId, agentId: 'pending', deadline });
      if (!caller) break;
      const agent = await agents.reserve({ offerId, queue, callSid: caller.callSid, contactId: caller.contactId, requiredSkills: q.skills, strategy: q.strategy, deadline });
      if (!agent) {
        await queues.releaseClaim({ queue, callSid: caller.callSid, offerId });
        break;
      }
      publish(agent.events);
      const rec: OfferRecord = {
        offerId,
        agentId: agent.agentId,
        queue,
        callSid: caller.callSid,
        kind: caller.state,
        queueSid: caller.queueSid,
        contactId: caller.contactId,
        callerHash: caller.callerHash,
        calledNumber: caller.meta.calledNumber ?? '',
        callbackTo: caller.meta.callbackTo ?? '',
      };
      await offers.save(rec);
      await send(agent.agentId, await offerMessage(rec, caller, deadline));
      await pushState(agent.agentId);
      made++;
    }
    return made;
  }

  /** The offer an agent sees: the caller's wait so far, IVR path, language and calls in the repeat window. */
  async function offerMessage(offer: OfferRecord, caller: { enqueuedAt: number; ivrPath: string | null; language: string | null } | null, deadline: number): Promise<OfferMessage> {
    return {
      type: 'offer',
      offerId: offer.offerId,
      callSid: offer.callSid,
      queue: offer.queue,
      queueName: center.queues[offer.queue]?.name ?? offer.queue,
      waitSeconds: caller ? Math.max(0, Math.round((clock.now() - caller.enqueuedAt) / 1000)) : 0,
      ivrPath: (caller?.ivrPath ?? '').split('>').filter(Boolean),
      language: caller?.language ?? center.defaultLanguage,
      repeatCount: offer.callerHash ? await contacts.recentCount(offer.callerHash, clock.now(), center.thresholds.repeatWindowSeconds, offer.callSid) : 0,
      callback: offer.kind === 'callback',
      deadline,
      ...(offer.transferFrom ? { transferFrom: offer.transferFrom } : {}),
    };
  }

  async function routeAll(): Promise<void> {
    for (const queue of Object.keys(center.queues)) await route(queue);
  }

  async function offerFor(_agentId: string, offerId: string): Promise<OfferRecord | null> {
    return offers.get(offerId);
  }

  async function withdrawOfferFor(callSid: string): Promise<void> {
    const offer = await offers.forCall(callSid);
    if (!offer) return;
    const a = await agents.get(offer.agentId);
    if (a?.state !== 'reserved' || a.offerId !== offer.offerId) return;
    const r = await agents.cancelOffer({ agentId: a.id, offerId: offer.offerId, reason: 'withdrawn' });
    publish(r.events);
    await send(a.id, { type: 'offer_cancelled', offerId: offer.offerId, reason: 'withdrawn' });
    await pushState(a.id);
    detach(routeAgent(a.id), 'routing failed');
  }

  async function pushState(agentId: string): Promise<void> {
    const a = await agents.get(agentId);
    if (a) await send(agentId, { type: 'state', state: a.state, since: a.stateSince, ...(a.breakReason ? { reason: a.breakReason } : {}) });
  }

  /** An agent became free: offer them whatever waits in the queues they serve. */
  async function routeAgent(agentId: string): Promise<void> {
    const a = await agents.get(agentId);
    if (!a || a.state !== 'available') return;
    for (const [queue, q] of Object.entries(center.queues)) {
      if (q.skills.every((s) => a.skills.includes(s))) await route(queue);
    }
  }

  // ------------------------------------------------------------------ bridge

  async function accept(agentId: string, offerId: string): Promise<ServerMessage> {
    const offer = await offerFor(agentId, offerId);
    if (!offer) return socketError(sbError('stale_offer', 'offerId'));
    const acc = await agents.acceptOffer({ agentId, offerId });
    publish(acc.events);
    await pushState(agentId); // reserved -> on_call, like every other state change
    if (offer.kind === 'transfer') {
      await send(agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connecting', since: clock.now() });
      const agent = await agents.get(agentId);
      await transfers.dialTargetAgent(offer, agent?.contact ?? `client:${agentId}`);
      return { type: 'ack', for: 'accept' };
    }
    const bridging = await queues.markBridging({ queue: offer.queue, callSid: offer.callSid, offerId });
    if (bridging === 'gone') {
      // The caller left while the agent accepted: the agent is free again.
      publish((await agents.bridgeFailed({ agentId, offerId })).events);
      await pushState(agentId);
      return socketError(sbError('caller_gone', 'offerId'));
    }
    await send(agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connecting', since: clock.now() });
    const agent = await agents.get(agentId);
    try {
      // The agent's leg creates the call's conference (the caller joins when dequeued, after the agent
      // answers), so the conference status callback is asked for here: Twilio keeps only the creating
      // participant's. The ConferenceSid comes with the answer.
      const leg = await rest.addParticipant(conferenceName(offer.callSid), {
        from: offer.calledNumber || d.defaultCallerId || '+10000000000',
        to: agent?.contact ?? `client:${agentId}`,
        label: 'agent',
        statusCallback: urls.agentStatus(offerId),
        startConferenceOnEnter: true,
        endConferenceOnExit: true,
        timeoutSeconds: 20,
        conferenceStatusCallback: { url: urls.conferenceStatus, events: CONFERENCE_EVENTS },
      }, { settled: () => offers.leg(offerId, 'agent') });
      // A create retried after its answer was lost may have dialed twice: the first leg Twilio told us
      // about is the agent's leg, any other is hung up.
      const winner = await offers.claimLeg(offerId, 'agent', leg.callSid);
      if (winner !== leg.callSid) await hangupQuietly(leg.callSid);
      await updateOffer(offerId, { agentLegSid: winner, ...(leg.conferenceSid ? { conferenceSid: leg.conferenceSid } : {}) });
    } catch (err) {
      d.log.warn({ err: (err as Error).message, offerId }, 'could not dial the agent; the caller keeps their place');
      await bridgeFailed(offer);
    }
    return { type: 'ack', for: 'accept' };
  }

  async function bridgeFailed(offer: OfferRecord): Promise<void> {
    const rel = await queues.releaseClaim({ queue: offer.queue, callSid: offer.callSid, offerId: offer.offerId });
    publish((await agents.bridgeFailed({ agentId: offer.agentId, offerId: offer.offerId })).events);
    await send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'failed', since: clock.now() });
    await pushState(offer.agentId);
    if (rel === 'released') clock.setTimer(0, () => detach(route(offer.queue), 'routing failed'));
  }

  /** Hang up a leg we do not want (a duplicate, or one of a failed bridge); it may have ended already (21220). */
  async function hangupQuietly(callSid: string): Promise<void> {
    await rest.hangup(callSid).catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'could not hang up a leg'));
  }

  /** Change some fields of a stored offer (re-read, so fields saved meanwhile by another step are kept). */
  async function updateOffer(offerId: string, fields: Partial<OfferRecord>): Promise<void> {
    const cur = await offers.get(offerId);
    if (cur) await offers.save({ ...cur, ...fields });
  }

  /** The caller requested the connect URL of this offer: the dequeue was carried out. */
  async function dequeued(offerId: string): Promise<void> {
    if (offerId) await offers.markDequeued(offerId);
  }

  async function agentLegStatus(p: { offerId: string; callSid: string; status: string }): Promise<void> {
    const offer = await offers.get(p.offerId);
    if (!offer) return;
    const terminal = TERMINAL.has(p.status);
    const winner = terminal ? await offers.leg(offer.offerId, 'agent') : await offers.claimLeg(offer.offerId, 'agent', p.callSid);
    if (winner !== null && winner !== p.callSid) {
      // A second leg of the same offer (a participant create retried after a lost answer): not the agent's.
      if (!terminal) await hangupQuietly(p.callSid);
      return;
    }
    if (offer.kind === 'transfer' && (await transferTargetLeg(offer, p))) return;
    if (p.status === 'in-progress' || p.status === 'answered') {
      if (offer.kind === 'callback') return startCallback(offer);
      let notInTwilioQueue = false;
      try {
        // The offer may have been made before Twilio's first waitUrl request told us the QueueSid.
        // Twilio tells the QueueSid with its first waitUrl request, which can trail a fast accept by a moment.
        let queueSid = offer.queueSid;
        for (let i = 0; !queueSid && i < 10; i++) {
          queueSid = (await queues.callerInfo(offer.queue, offer.callSid))?.queueSid ?? null;
          if (!queueSid) await clock.sleep(500);
        }
        if (!queueSid) {
          notInTwilioQueue = true;
          throw new Error('no QueueSid known for this caller yet');
        }
        offer.queueSid = queueSid;
        await rest.dequeue(queueSid, offer.callSid, urls.connect(offer.queue, offer.offerId), {
          settled: async () => ((await offers.wasDequeued(offer.offerId)) ? true : null),
        });
      } catch (err) {
        d.log.warn({ err: (err as Error).message, offerId: offer.offerId }, 'could not take the caller out of the queue');
        // Twilio has no such queue member: ask whether the caller's call has ended (a ghost, its hangup lost).
        // Only then is the caller closed, as abandoned; a live caller keeps their place as for any failure.
        if ((notInTwilioQueue || isNotFound(err)) && (await closeIfEnded(offer.queue, offer.callSid, 'bridge'))) {
          // Agent first, leg second: the leg's end then finds the agent free and changes nothing.
          await bridgeFailed(offer);
          await hangupQuietly(p.callSid);
          clock.setTimer(0, () => detach(routeAgent(offer.agentId), 'routing failed'));
          return;
        }
        await hangupQuietly(p.callSid);
        await bridgeFailed(offer);
        return;
      }
      await answered(offer);
      return;
    }
    if (TERMINAL.has(p.status)) {
      const a = await agents.get(offer.agentId);
      // Connected (talk started) and the caller no longer held in the queue for this offer: the call ended
      // for this agent. (A caller transferred back into the same queue is there under no offer of ours.)
      // The offer must be the agent's current one: the leg of an earlier, failed attempt at the same caller
      // (hung up after a failed dequeue) may report its end while the agent talks on the new bridge.
      if (a?.state === 'on_call' && a.offerId === offer.offerId && a.callSid === offer.callSid && a.talkStartedAt && (await queues.callerInfo(offer.queue, offer.callSid))?.offerId !== offer.offerId) {
        // The agent's leg of a connected call ended: wrap-up starts.
        publish((await agents.endCall({ agentId: offer.agentId, callSid: offer.callSid, wrapUpSeconds: qc(offer.queue).wrapUpSeconds })).events);
        await transfers.fromLegEnded(offer.callSid, offer.agentId);
        const rec = await agents.get(offer.agentId);
        await send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'ended', since: clock.now() });
        await send(offer.agentId, { type: 'wrap_up', callSid: offer.callSid, queue: offer.queue, deadline: rec?.wrapDeadline ?? clock.now() });
        await pushState(offer.agentId);
      } else if (a && (a.state === 'reserved' || a.state === 'on_call') && a.offerId === offer.offerId) {
        // The agent never answered (no-answer, busy, failed): the caller keeps their place. A leg we hung
        // up ourselves after a failed dequeue was already handled, so it is not reported twice.
        await bridgeFailed(offer);
      }
    }
  }

  /**
   * The leg of an agent taking a transferred call. Answered: the agent is on the call (the transfer
   * decides when the caller is theirs). Ended before the hand-over: the agent is free again, no wrap-up.
   * Ended after it: an ordinary call end (false: the caller of this function carries on).
   */
  async function transferTargetLeg(offer: OfferRecord, p: { callSid: string; status: string }): Promise<boolean> {
    if (p.status === 'in-progress' || p.status === 'answered') {
      const a = await agents.get(offer.agentId);
      // (accept already stamped talkStartedAt; connectedAt says whether this leg was reported answered.)
      if (a?.state === 'on_call' && a.offerId === offer.offerId && a.connectedAt === null) {
        publish((await agents.callConnected({ agentId: offer.agentId, callSid: offer.callSid, contactId: offer.contactId })).events);
        await send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connected', since: clock.now() });
      }
      await transfers.targetLegStatus(offer.callSid, p.callSid, p.status);
      return true;
    }
    if (!TERMINAL.has(p.status)) return true;
    const undone = await transfers.targetLegStatus(offer.callSid, p.callSid, p.status);
    if (!undone) return false;
    const a = await agents.get(offer.agentId);
    if (a && (a.state === 'on_call' || a.state === 'reserved') && a.offerId === offer.offerId) {
      publish((await agents.bridgeFailed({ agentId: offer.agentId, offerId: offer.offerId })).events);
      await send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'ended', since: clock.now() });
      await pushState(offer.agentId);
    }
    return true;
  }

  async function answered(offer: OfferRecord): Promise<void> {
    const a = await agents.get(offer.agentId);
    const r = await queues.leave({
      queue: offer.queue,
      callSid: offer.callSid,
      outcome: 'answered',
      offerId: offer.offerId,
      agentId: offer.agentId,
      team: a?.team ?? 'default',
      shortAbandonSeconds: short,
      serviceLevelSeconds: sl(offer.queue),
    });
    publish(r.events);
    publish((await agents.callConnected({ agentId: offer.agentId, callSid: offer.callSid, contactId: offer.contactId })).events);
    await send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connected', since: clock.now() });
  }

  async function startCallback(offer: OfferRecord): Promise<void> {
    if (!offer.callbackTo) {
      publish((await queues.callbackFinished({ queue: offer.queue, callSid: offer.callSid, result: 'failed' })).events);
      if (offer.agentLegSid) await rest.hangup(offer.agentLegSid).catch(() => undefined);
      return;
    }
    try {
      const legSid = await rest.createCall(
        {
          to: offer.callbackTo,
          from: offer.calledNumber || d.defaultCallerId || '+10000000000',
          url: urls.callbackLeg(offer.queue, offer.offerId),
          statusCallback: urls.callbackStatus(offer.queue, offer.offerId),
          timeoutSeconds: 30,
        },
        { settled: () => offers.leg(offer.offerId, 'callback') },
      );
      // As for the agent's leg: one call to the customer, whatever the retries did.
      const winner = await offers.claimLeg(offer.offerId, 'callback', legSid);
      if (winner !== legSid) await hangupQuietly(legSid);
      await updateOffer(offer.offerId, { callbackLegSid: winner });
    } catch (err) {
      d.log.warn({ err: (err as Error).message }, 'callback call could not be placed');
      publish((await queues.callbackFinished({ queue: offer.queue, callSid: offer.callSid, result: 'failed' })).events);
      if (offer.agentLegSid) await rest.hangup(offer.agentLegSid).catch(() => undefined);
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
    dial.conference({ startConferenceOnEnter: true, endConferenceOnExit: true, beep: 'false' }, conferenceName(offer.callSid));
    return twiml.toString();
  }

  async function callbackLegStatus(p: { queue: string; offerId: string; callSid: string; status: string }): Promise<void> {
    const offer = await offers.get(p.offerId);
    if (!offer) return;
    const terminal = TERMINAL.has(p.status);
    const winner = terminal ? await offers.leg(offer.offerId, 'callback') : await offers.claimLeg(offer.offerId, 'callback', p.callSid);
    if (winner !== null && winner !== p.callSid) {
      if (!terminal) await hangupQuietly(p.callSid);
      return;
    }
    if (p.status === 'in-progress' || p.status === 'answered') {
      const r = await queues.callbackFinished({ queue: offer.queue, callSid: offer.callSid, result: 'connected' });
      publish(r.events);
      if (r.result === 'removed') {
        publish((await agents.callConnected({ agentId: offer.agentId, callSid: offer.callSid, contactId: offer.contactId })).events);
        await send(offer.agentId, { type: 'call', callSid: offer.callSid, queue: offer.queue, status: 'connected', since: clock.now() });
      }
    } else if (TERMINAL.has(p.status) && p.status !== 'completed') {
      const result = p.status === 'busy' ? 'busy' : p.status === 'no-answer' ? 'no_answer' : 'failed';
      publish((await queues.callbackFinished({ queue: offer.queue, callSid: offer.callSid, result })).events);
      if (offer.agentLegSid) await rest.hangup(offer.agentLegSid).catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------ timers

  async function sweep(): Promise<void> {
    const expired = await agents.expireOffers({ limit: 100 });
    for (const x of expired.expired) {
      const rec = await offers.get(x.offerId);
      if (rec?.kind === 'transfer') await transfers.targetOfferEnded(rec, 'offer timeout');
      else await queues.releaseClaim({ queue: x.queue, callSid: x.callSid, offerId: x.offerId });
      await send(x.agentId, { type: 'offer_cancelled', offerId: x.offerId, reason: 'timeout' });
      await pushState(x.agentId);
    }
    publish(expired.events);
    const wraps = await agents.expireWrapUps({ limit: 100 });
    publish(wraps.events);
    for (const w of wraps.done) {
      await pushState(w.agentId);
      await afterWrapUp(w.queue, w.handleSeconds);
    }
    const gone = await agents.expireGrace({ limit: 100 });
    publish(gone.events);
    for (const g of gone.released) await queues.releaseClaim({ queue: g.queue, callSid: g.callSid, offerId: g.offerId });
    const now = clock.now();
    if (now - lastOrphanScan >= ORPHAN_SCAN_EVERY_MS) {
      lastOrphanScan = now;
      await recoverOrphans(now);
    }
    if (now - lastGhostScan >= GHOST_SCAN_EVERY_MS) {
      lastGhostScan = now;
      await closeGhosts(now);
    }
    await routeAll();
  }

  /**
   * Ask Twilio whether a caller still in our queue is on the line. When the call has ended (its hangup, the
   * Enqueue action and the final status callback, was lost: e.g. answered with errors during a Redis
   * outage; Twilio does not resend them), the caller is counted abandoned through the ordinary leave (at
   * most once: the leave script answers 'gone' to any later leave), with the wait up to the call's end when
   * Twilio says. True when the call has ended (closed now or already gone); false when it is live or its
   * status could not be read (the caller keeps their place).
   */
  async function closeIfEnded(queue: string, callSid: string, via: 'bridge' | 'sweep'): Promise<boolean> {
    let call: CallFacts;
    try {
      call = await rest.fetchCall(callSid);
    } catch (err) {
      d.log.warn({ err: (err as Error).message, queue, via }, 'could not read a waiting caller\'s call from Twilio; the caller keeps their place');
      return false;
    }
    if (!ENDED_CALL_STATUSES.has(call.status)) return false;
    const info = await queues.callerInfo(queue, callSid);
    if (!info || info.callback) return true;
    const waitSeconds = call.endedAt !== null && info.enqueuedAt > 0 ? Math.max(0, (call.endedAt - info.enqueuedAt) / 1000) : undefined;
    const r = await queues.leave({ queue, callSid, outcome: 'abandoned', waitSeconds, shortAbandonSeconds: short, serviceLevelSeconds: sl(queue) });
    publish(r.events);
    if (r.result === 'left') {
      d.log.warn({ queue, via, status: call.status, offerId: info.offerId }, 'closed a caller whose call had ended while still waiting in the queue (hangup lost) as abandoned');
      bus.service({ type: 'queue.ghost_closed', queue, via });
    }
    // Being offered to an agent right now: the offer is withdrawn (a bridge in progress ends at its dequeue).
    if (info.state === 'offered') await withdrawOfferFor(callSid);
    return true;
  }

  /**
   * Callers waiting far past their queue's max wait are checked with Twilio (a few per queue per look,
   * longest first, each at most once per GHOST_RECHECK_MS across instances), and closed when their call
   * has ended. In normal operation there are none, so this costs one ZRANGEBYSCORE per queue.
   */
  async function closeGhosts(now: number): Promise<void> {
    for (const [queue, q] of Object.entries(center.queues)) {
      const before = now - (q.maxWaitSeconds + GHOST_MARGIN_SECONDS) * 1000;
      let checks = 0;
      for (const callSid of await queues.enqueuedBefore(queue, before, GHOST_CHECKS_PER_SCAN * 4)) {
        if (checks >= GHOST_CHECKS_PER_SCAN || stopped) break;
        const info = await queues.callerInfo(queue, callSid);
        // A bridge in progress settles itself (its dequeue finds out); callbacks hold their place by design.
        if (!info || info.callback || (info.state !== 'waiting' && info.state !== 'offered')) continue;
        if (!(await queues.claimCheck(queue, callSid, GHOST_RECHECK_MS))) continue;
        checks++;
        await closeIfEnded(queue, callSid, 'sweep');
      }
    }
  }

  /**
   * Work left half done by an instance that died (SIGKILL, crash, lost host) has no timer anywhere else,
   * so the sweep of every instance looks for it:
   *  - a claim with no reservation: the router died between claiming the caller and reserving an agent,
   *    so no offer deadline will ever release it; the caller stays "being offered" past the deadline;
   *  - a bridge that never completed: the instance died after the accept, before the agent's leg was
   *    dialled or before the caller was taken out of the Twilio queue (the leg's status callback is
   *    recorded as seen before it is handled, so nobody handles it again); the agent stays on_call with no
   *    connected call.
   * Both are given back: the caller keeps their place and is offered again, the agent is freed (its leg,
   * if one was dialled, is hung up). Releases check the offer id atomically, so instances sweeping at
   * the same time do it once.
   */
  async function recoverOrphans(now: number): Promise<void> {
    for (const queue of Object.keys(center.queues)) {
      for (const c of await queues.staleClaims(queue, now - ORPHAN_GRACE_MS)) {
        const a = c.agentId && c.agentId !== 'pending' ? await agents.get(c.agentId) : null;
        // Reserved for this offer: the offer deadline releases it. On the call: the bridge check below.
        if (a && a.offerId === c.offerId && (a.state === 'reserved' || a.state === 'on_call')) continue;
        if ((await queues.releaseClaim({ queue, callSid: c.callSid, offerId: c.offerId })) === 'released') {
          d.log.warn({ queue, offerId: c.offerId }, 'released a claim left by an instance that stopped before reserving an agent');
        }
      }
    }
    for (const a of await agents.list()) {
      if (a.state !== 'on_call' || a.connectedAt !== null || a.talkStartedAt === null || !a.offerId) continue;
      if (now - a.talkStartedAt < STALE_BRIDGE_MS) continue;
      const offer = await offers.get(a.offerId);
      // Only a queue bridge: the caller still waits under this very offer (a transfer's target agent is
      // on the call without the caller being in any queue, and is left alone).
      if (!offer || offer.kind === 'transfer') continue;
      const entry = await queues.callerInfo(offer.queue, offer.callSid);
      if (!entry || entry.offerId !== offer.offerId || !['offered', 'callback_offered', 'bridging'].includes(entry.state)) continue;
      d.log.warn({ agentId: a.id, offerId: a.offerId }, 'a bridge never completed (its instance stopped): the caller is offered again');
      if (offer.agentLegSid) await rest.hangup(offer.agentLegSid).catch(() => undefined);
      await bridgeFailed(offer).catch((err: unknown) => d.log.warn({ err: (err as Error).message, offerId: offer.offerId }, 'stale bridge: already released elsewhere'));
    }
  }

  async function afterWrapUp(queue: string, handleSeconds: number): Promise<void> {
    if (center.queues[queue] && handleSeconds > 0) await queues.pushHandleTime(queue, handleSeconds);
  }

  function schedule(): void {
    if (stopped) return;
    stopTimer = clock.setTimer(d.sweepEveryMs ?? 1000, () => {
      sweep()
        .catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'sweep failed'))
        .finally(schedule);
    });
  }

  // ------------------------------------------------------------------ agent commands

  async function command(agentId: string, msg: Exclude<ClientMessage, { type: 'hello' | 'ping' }>): Promise<ServerMessage> {
    const ack = (): ServerMessage => ({ type: 'ack', for: msg.type, ...(msg.ref ? { ref: msg.ref } : {}) });
    const fail = (code: ErrorCode, field: string, detail: string): ServerMessage => socketError(sbError(code, field, detail), msg.ref);
    try {
      switch (msg.type) {
        case 'set_state': {
          const r = await agents.setState({ agentId, to: msg.state, reason: msg.reason, instance: d.instance });
          publish(r.events);
          if (r.releasedOffer) {
            await queues.releaseClaim(r.releasedOffer);
          }
          await pushState(agentId);
          if (msg.state === 'available') detach(routeAgent(agentId), 'routing failed');
          return ack();
        }
        case 'accept':
          return { ...(await accept(agentId, msg.offerId)), ...(msg.ref ? { ref: msg.ref } : {}) } as ServerMessage;
        case 'reject': {
          const offer = await offerFor(agentId, msg.offerId);
          const r = await agents.rejectOffer({ agentId, offerId: msg.offerId });
          publish(r.events);
          if (offer?.kind === 'transfer') await transfers.targetOfferEnded(offer, 'rejected');
          else if (offer) {
            await queues.releaseClaim({ queue: offer.queue, callSid: offer.callSid, offerId: msg.offerId });
            clock.setTimer(0, () => detach(route(offer.queue), 'routing failed'));
          }
          await pushState(agentId);
          return ack();
        }
        case 'hold': {
          const a = await agents.get(agentId);
          if (!a || a.callSid !== msg.callSid || a.state !== 'on_call') return fail('not_your_call', 'callSid', 'not a call you are talking on');
          const offer = await offers.forCall(msg.callSid);
          if (!offer?.conferenceSid) return fail('unavailable', 'callSid', 'the call is not connected yet');
          // The caller hears the configured hold music while held (participant Hold with HoldUrl).
          await rest.updateParticipant(offer.conferenceSid, msg.callSid, { hold: msg.on, ...(msg.on ? { holdUrl: urls.holdMusic } : {}) });
          const r = await agents.hold({ agentId, callSid: msg.callSid, on: msg.on });
          await send(agentId, { type: 'call', callSid: msg.callSid, queue: offer.queue, status: msg.on ? 'on_hold' : 'connected', since: clock.now() });
          publish(r.events);
          return ack();
        }
        case 'wrap_up': {
          const r = await agents.wrapUp({ agentId, callSid: msg.callSid, disposition: msg.disposition, code: msg.code });
          publish(r.events);
          const handled = r.events.find((e): e is Extract<DomainEvent, { type: 'call.handled' }> => e.type === 'call.handled');
          if (handled) {
            await afterWrapUp(handled.queue, handled.talkSeconds + handled.holdSeconds + handled.wrapupSeconds);
            const offer = await offers.forAgent(agentId);
            if (offer && offer.callSid === handled.callSid) await contacts.handled(offer.callerHash, handled, center.thresholds.repeatWindowSeconds);
          }
          await pushState(agentId);
          detach(routeAgent(agentId), 'routing failed');
          return ack();
        }
        case 'hangup': {
          const a = await agents.get(agentId);
          if (!a || a.callSid !== msg.callSid) return fail('not_your_call', 'callSid', 'not the call you are on');
          const offer = a.offerId ? await offerFor(agentId, a.offerId) : null;
          try {
            if (offer?.agentLegSid) await rest.hangup(offer.agentLegSid);
          } catch (err) {
            // 21220: the leg has ended already, which is what the agent asked for.
            if (!(err instanceof RestError && err.code === 21220)) throw err;
          }
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
    } catch (e) {
      if (e instanceof SwitchboardError) return socketError(e, msg.ref, 'type');
      throw e;
    }
  }

  async function connected(agentId: string, instance: string): Promise<ServerMessage> {
    const r = await agents.connected({ agentId, instance });
    publish(r.events);
    const a = await agents.get(agentId);
    if (!a) return socketError(sbError('not_found', 'token', 'agent is not configured'));
    const cfg = center.agents[agentId];
    const directory = {
      queues: Object.values(center.queues).map((q) => ({ id: q.id, name: q.name ?? q.id })),
      agents: Object.values(center.agents)
        .filter((o) => o.id !== agentId)
        .map((o) => ({ id: o.id, name: o.name, team: o.team })),
    };
    return { type: 'welcome', agentId, name: cfg?.name ?? agentId, team: a.team, skills: a.skills, state: a.state, since: a.stateSince, instance, directory };
  }

  async function resume(agentId: string): Promise<ServerMessage[]> {
    const a = await agents.get(agentId);
    if (!a) return [];
    const out: ServerMessage[] = [];
    const offer = a.offerId ? await offers.get(a.offerId) : null;
    if (a.state === 'reserved' && offer && a.offerDeadline) {
      const info = offer.kind === 'transfer' ? null : await queues.callerInfo(offer.queue, offer.callSid);
      out.push(await offerMessage(offer, info, a.offerDeadline));
    } else if (a.state === 'on_call' && a.callSid) {
      const status = a.holdStartedAt ? 'on_hold' : a.talkStartedAt ? 'connected' : 'connecting';
      out.push({ type: 'call', callSid: a.callSid, queue: a.callQueue ?? '', status, since: a.holdStartedAt ?? a.talkStartedAt ?? a.stateSince, ...(a.talkStartedAt ? { talkStartedAt: a.talkStartedAt } : {}) });
      const t = await transfers.get(a.callSid);
      if (t && t.fromAgentId === agentId && (t.state === 'offering' || t.state === 'dialing' || t.state === 'consulting')) {
        out.push({ type: 'transfer', callSid: t.callSid, status: t.state === 'consulting' ? 'consulting' : 'ringing', kind: t.kind, mode: t.mode, to: t.target });
      }
    } else if (a.state === 'wrap_up' && a.wrapDeadline) {
      const callSid = a.callSid ?? a.lastCallSid;
      if (callSid) out.push({ type: 'wrap_up', callSid, queue: a.callQueue ?? '', deadline: a.wrapDeadline });
    }
    return out;
  }

  async function disconnected(agentId: string, instance: string): Promise<void> {
    publish((await agents.disconnected({ agentId, instance, graceMs: d.graceMs ?? 30_000 })).events);
  }

  async function conferenceEvent(p: { friendlyName: string; conferenceSid: string; event: string }): Promise<void> {
    const m = /^sb-(CA[0-9a-fA-F]{32})$/.exec(p.friendlyName);
    if (!m || (p.event !== 'conference-start' && p.event !== 'participant-join')) return;
    const offer = await offers.forCall(m[1]!);
    if (offer && offer.conferenceSid !== p.conferenceSid) await offers.save({ ...offer, conferenceSid: p.conferenceSid });
  }

  return {
    conferenceEvent,
    transfers,
    async transferLegStatus(p) {
      await transfers.targetLegStatus(p.callSid, p.legSid, p.status);
    },
    monitor: (r) => transfers.monitor(r),
    async monitorLegStatus(p) {
      if (TERMINAL.has(p.status)) await transfers.monitorLegEnded(p.callSid, p.legSid);
    },
    setChannel(channel: AgentChannel) {
      d.channel = channel;
    },
    enter,
    callEnded,
    onCallStarted,
    waitTwiml,
    keys,
    result,
    connectTwiml,
    dequeued,
    agentLegStatus,
    callbackLegTwiml,
    callbackLegStatus,
    route,
    sweep,
    connected,
    resume,
    disconnected,
    command,
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      stopTimer?.();
      await Promise.allSettled([...routing.values()]);
    },
  };
}

function positionPrompt(position: number, ewtSeconds: number | null, language: string): string {
  const wait = roundForAnnouncement(ewtSeconds, language);
  if (ewtSeconds === null) return language === 'es' ? `Usted es el número ${position} en la fila.` : `You are number ${position} in line.`;
  if (language === 'es') return `Usted es el número ${position} en la fila. Tiempo estimado de espera: ${wait}.`;
  return `You are number ${position} in line. Your estimated wait is ${wait}.`;
}
const callbackOfferPrompt = (key: string) => `To hang up and keep your place for a call back, press ${key}.`;
const voicemailOfferPrompt = (key: string) => `To leave a message instead, press ${key}.`;
