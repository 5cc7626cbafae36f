/**
 * How an IVR webhook turns into Redis work, waiting for Redis twice: one read of the call's hash (state and
 * last answer together; for a new call, the create that also checks for one), then the state save (with the
 * answer to remember). The step's events are published once Redis has confirmed the save, so a step whose
 * save failed is never counted; their writes (call-record folds) leave after it and the answer does not wait
 * for them. A queue hand-off adds the queue's own script in between.
 *
 * Idempotency (Twilio retries a call's latest request with the same I-Twilio-Idempotency-Token): the call's
 * hash remembers the last token with the time of its step and the state the step started from
 * (src/store/call-state.ts). A request carrying that token runs the same pure step again from there, with
 * its own (identical) parameters: the same TwiML, and nothing saved, published or counted again.
 */
import type { Clock } from '../clock.js';
import type { DomainEvent } from '../events.js';
import { newResponse, type VoiceResponse } from '../ivr/prompt.js';
import { initialState, step, type IvrInput, type IvrState, type StepContext } from '../ivr/step.js';
import { callerHash } from '../privacy.js';
import { restore, snapshot, tokenDigest, type LastAnswer } from '../store/call-state.js';
import type { CallStore } from '../store/calls.js';
import type { BaseParams } from './params.js';
import { requireStore, type WebhookCore } from './plugin.js';

/** What the IVR needs from the queue side when a caller is handed off (implemented in src/queue). */
export interface QueueGateway {
  /** Put the caller in a queue: append Enqueue (or overflow) TwiML and return events and the new state. */
  enter(args: {
    state: IvrState;
    queue: string;
    priority: number | undefined;
    twiml: VoiceResponse;
    party?: { from: string; to: string };
  }): Promise<{ state: IvrState; events: DomainEvent[] }>;
  /** A new call arrived (repeat-contact detection); failures must not affect the caller. */
  onCallStarted?(state: IvrState): Promise<void>;
  /** A call ended (final status callback): release anything the queue still holds for it. */
  callEnded?(state: IvrState): Promise<DomainEvent[]>;
}

export interface IvrRouteDeps {
  core: WebhookCore;
  clock: Clock;
  calls: CallStore;
  callerHashKey: string;
  queue?: QueueGateway | undefined;
}

type Party = { from: string; to: string };
type StepOutcome = {
  twiml: VoiceResponse;
  state: IvrState;
  events: DomainEvent[];
  handoff?: { queue: string; priority: number | undefined };
};

export interface IvrFlow {
  /** The incoming-call webhook. */
  incoming(p: BaseParams, token: string | undefined, warn: (err: unknown) => void): Promise<string>;
  /**
   * A webhook answering the call's current node (menu choice, no input, recording done). `beforeStep`
   * runs first on a known call (the voicemail is stored before the step, also on a retry: stored once).
   */
  answer(
    p: BaseParams,
    token: string | undefined,
    input: IvrInput,
    party: Party | undefined,
    beforeStep?: (state: IvrState, ctx: StepContext) => Promise<void>,
  ): Promise<string>;
  ctxFor(flowId: string, now?: number): StepContext | undefined;
}

export function createIvrFlow(deps: IvrRouteDeps): IvrFlow {
  const { core, clock, calls } = deps;
  const { center, urls, bus } = core;

  const ctxFor = (flowId: string, now = clock.now()): StepContext | undefined => {
    const flow = center.flows[flowId];
    return flow ? { center, flow, now, urls } : undefined;
  };

  /** Put the caller in the queue the step handed off to (or say no one can take the call). */
  async function handoff(res: StepOutcome, party: Party | undefined): Promise<{ state: IvrState; events: DomainEvent[] }> {
    if (!res.handoff) return { state: res.state, events: res.events };
    if (!deps.queue) {
      res.twiml.say({}, 'All of our agents are busy. Please call again later.');
      res.twiml.hangup();
      return { state: res.state, events: res.events };
    }
    const q = await deps.queue.enter({
      state: res.state,
      queue: res.handoff.queue,
      priority: res.handoff.priority,
      twiml: res.twiml,
      ...(party ? { party } : {}),
    });
    return { state: q.state, events: [...res.events, ...q.events] };
  }

  /** Save the step's state (and the answer to remember), then publish its events: only a step Redis holds is counted. */
  async function finish(
    res: StepOutcome,
    party: Party | undefined,
    at: number,
    before: IvrState | null,
    token: string | undefined,
  ): Promise<string> {
    const { state, events } = await handoff(res, party);
    const last: LastAnswer | undefined = token ? { token, at, before: before ? snapshot(before, state) : '' } : undefined;
    await calls.put(state, last);
    bus.publish(events);
    return res.twiml.toString();
  }

  /** A retried request: the step again from the state it started from, at its time; nothing saved or published. */
  async function again(state: IvrState, last: LastAnswer, input: IvrInput, party: Party | undefined): Promise<string> {
    const ctx = ctxFor(state.flow, last.at);
    if (!ctx) return unknownCall();
    const from =
      last.before === ''
        ? initialState({
            callSid: state.callSid,
            flow: ctx.flow,
            center,
            now: last.at,
            callerHash: state.callerHash,
            contactId: state.contactId,
            ...(state.calledNumber ? { calledNumber: state.calledNumber } : {}),
          })
        : restore(state, last.before);
    const res = step(ctx, from, last.before === '' ? { kind: 'start' } : input);
    // The queue's enqueue is idempotent: the caller already queued gets the same Enqueue, no new events.
    await handoff(res, party);
    return res.twiml.toString();
  }

  /** A call we already know: its last answer again for a retry, else its current node again. */
  function known(state: IvrState, last: LastAnswer | null, token: string | undefined, party: Party): Promise<string> | string {
    if (token !== undefined && last?.token === token) return again(state, last, { kind: 'start' }, party);
    const ctx = ctxFor(state.flow);
    if (!ctx) return unknownCall();
    return step(ctx, state, { kind: 'gather', node: `\u0000replay` }).twiml.toString();
  }

  async function incoming(p: BaseParams, token: string | undefined, warn: (err: unknown) => void): Promise<string> {
    const number = center.numbers[p.To] ?? center.numbers['*'];
    const ctx = number ? ctxFor(number.flow) : undefined;
    if (!ctx) {
      const r = newResponse();
      r.say({}, 'This number is not in service.');
      r.hangup();
      return r.toString();
    }
    const party = { from: p.From, to: p.To };
    const fresh = initialState({
      callSid: p.CallSid,
      flow: ctx.flow,
      center,
      now: ctx.now,
      callerHash: callerHash(deps.callerHashKey, p.From),
      contactId: p.CallSid,
      calledNumber: p.To,
    });
    const started = (s: IvrState) => {
      if (deps.queue?.onCallStarted) void deps.queue.onCallStarted(s).catch(warn);
    };
    const res = step(ctx, fresh, { kind: 'start' });
    if (res.handoff) {
      // The flow hands off at once: the call exists before it enters the queue, so a duplicate never does.
      requireStore(core);
      const c = await calls.create(fresh);
      if (!c.created) return known(c.state, c.last, token, party);
      started(fresh);
      return finish(res, party, ctx.now, null, token);
    }
    // One write creates the call with its answer remembered; then its events and the repeat check go together.
    requireStore(core);
    const c = await calls.create(res.state, token ? { token, at: ctx.now, before: '' } : undefined);
    if (!c.created) return known(c.state, c.last, token, party);
    bus.publish(res.events);
    started(res.state);
    return res.twiml.toString();
  }

  async function answer(
    p: BaseParams,
    token: string | undefined,
    input: IvrInput,
    party: Party | undefined,
    beforeStep?: (state: IvrState, ctx: StepContext) => Promise<void>,
  ): Promise<string> {
    const { state, last } = await calls.load(p.CallSid);
    const ctx = state ? ctxFor(state.flow) : undefined;
    if (!state || !ctx) return unknownCall();
    if (beforeStep) await beforeStep(state, ctx);
    if (token !== undefined && last?.token === token) return again(state, last, input, party);
    return finish(step(ctx, state, input), party, ctx.now, state, token);
  }

  return { incoming, answer, ctxFor };
}

/** The digest of the request's I-Twilio-Idempotency-Token (as the call's hash keeps it), if it has one. */
export function idempotencyToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const t = headers['i-twilio-idempotency-token'];
  return typeof t === 'string' && t !== '' ? tokenDigest(t) : undefined;
}

export function unknownCall(): string {
  // State expired or never existed (a request for a call this deployment never saw): end politely.
  const r = newResponse();
  r.say({}, 'Sorry, we could not continue this call. Please call again.');
  r.hangup();
  return r.toString();
}
