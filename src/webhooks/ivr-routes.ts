/**
 * The IVR's webhooks: incoming call, menu answers, voicemail, status callbacks and the number's fallback
 * URL. Each loads the call's state, runs the pure IVR step, saves the state and publishes the events.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import type { DomainEvent } from '../events.js';
import { fallbackTwiml, waitFallbackTwiml } from '../ivr/fallback.js';
import { newResponse, type VoiceResponse } from '../ivr/prompt.js';
import { hangupInIvr, initialState, step, type IvrState, type StepContext } from '../ivr/step.js';
import { callerHash } from '../privacy.js';
import { callHasEnded } from '../call-status.js';
import type { CallStore } from '../store/calls.js';
import { baseParams, gatherParams, recordingParams, statusParams } from './params.js';
import { queryParam, serveLive, serveStatus, validate, type WebhookCore } from './plugin.js';

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

/** Register the IVR routes on the webhook plugin's instance. */
export function registerIvrRoutes(app: FastifyInstance, deps: IvrRouteDeps): void {
  const { core, clock, calls } = deps;
  const { center, urls, bus } = core;

  const ctxFor = (flowId: string): StepContext | undefined => {
    const flow = center.flows[flowId];
    return flow ? { center, flow, now: clock.now(), urls } : undefined;
  };

  /** Wrap a handler with the idempotency-token cache (Twilio retries carry the same token). */
  const idempotent = async (callSid: string, token: unknown, fn: () => Promise<string>): Promise<string> => {
    if (typeof token !== 'string' || token === '') return fn();
    const cached = await calls.cachedAnswer(callSid, token);
    if (cached !== null) return cached;
    const xml = await fn();
    await calls.rememberAnswer(callSid, token, xml);
    return xml;
  };

  const finish = async (
    res: { twiml: VoiceResponse; state: IvrState; events: DomainEvent[]; handoff?: { queue: string; priority: number | undefined } },
    party?: { from: string; to: string },
  ): Promise<string> => {
    let { state } = res;
    const events = [...res.events];
    if (res.handoff) {
      if (deps.queue) {
        const q = await deps.queue.enter({
          state,
          queue: res.handoff.queue,
          priority: res.handoff.priority,
          twiml: res.twiml,
          ...(party ? { party } : {}),
        });
        state = q.state;
        events.push(...q.events);
      } else {
        res.twiml.say({}, 'All of our agents are busy. Please call again later.');
        res.twiml.hangup();
      }
    }
    await calls.put(state);
    bus.publish(events);
    return res.twiml.toString();
  };

  app.post('/twilio/voice', async (req, reply) => {
    const p = validate(core, baseParams, req, reply);
    if (!p) return reply;
    return serveLive(core, req, reply, () =>
      idempotent(p.CallSid, req.headers['i-twilio-idempotency-token'], async () => {
        const number = center.numbers[p.To] ?? center.numbers['*'];
        const ctx = number ? ctxFor(number.flow) : undefined;
        if (!ctx) {
          const r = newResponse();
          r.say({}, 'This number is not in service.');
          r.hangup();
          return r.toString();
        }
        const fresh = initialState({
          callSid: p.CallSid,
          flow: ctx.flow,
          center,
          now: ctx.now,
          callerHash: callerHash(deps.callerHashKey, p.From),
          contactId: p.CallSid,
          calledNumber: p.To,
        });
        const { created, state } = await calls.create(fresh);
        if (!created) {
          // A second "incoming call" for a call we already know: answer its current node again.
          const r = step(ctx, state, { kind: 'gather', node: `\u0000replay` });
          return r.twiml.toString();
        }
        if (deps.queue?.onCallStarted) {
          void deps.queue.onCallStarted(state).catch((err: unknown) => req.log.warn({ err }, 'repeat-contact check failed'));
        }
        return finish(step(ctx, state, { kind: 'start' }), { from: p.From, to: p.To });
      }),
    );
  });

  app.post('/twilio/ivr/gather', async (req, reply) => {
    const p = validate(core, gatherParams, req, reply);
    if (!p) return reply;
    const node = queryParam(req, 'node');
    return serveLive(core, req, reply, () =>
      idempotent(p.CallSid, req.headers['i-twilio-idempotency-token'], async () => {
        const state = await calls.get(p.CallSid);
        const ctx = state ? ctxFor(state.flow) : undefined;
        if (!state || !ctx) return unknownCall();
        const input =
          queryParam(req, 'noInput') === '1'
            ? ({ kind: 'no_input', node } as const)
            : ({ kind: 'gather', node, digits: p.Digits, speech: p.SpeechResult, confidence: p.Confidence } as const);
        return finish(step(ctx, state, input), { from: p.From, to: p.To });
      }),
    );
  });

  app.post('/twilio/ivr/recorded', async (req, reply) => {
    const p = validate(core, recordingParams, req, reply);
    if (!p) return reply;
    const node = queryParam(req, 'node');
    return serveLive(core, req, reply, () =>
      idempotent(p.CallSid, req.headers['i-twilio-idempotency-token'], async () => {
        const state = await calls.get(p.CallSid);
        const ctx = state ? ctxFor(state.flow) : undefined;
        if (!state || !ctx) return unknownCall();
        if (p.RecordingSid && p.RecordingUrl)
          await storeVoicemail(deps, state, p.RecordingSid, p.RecordingUrl, p.RecordingDuration ?? 0, nodeQueue(ctx, node));
        return finish(step(ctx, state, { kind: 'recorded', node }));
      }),
    );
  });

  // recordingStatusCallback: the same recording may already be stored by the Record action; stored once.
  app.post('/twilio/recording', async (req, reply) => {
    const p = validate(core, recordingParams, req, reply);
    if (!p) return reply;
    if (p.RecordingSid && p.RecordingUrl && (p.RecordingStatus ?? 'completed') === 'completed') {
      const state = await calls.get(p.CallSid);
      const node = queryParam(req, 'node');
      const ctx = state ? ctxFor(state.flow) : undefined;
      // Recordings left from a queue's overflow carry `queue:<name>` as their node.
      const queue = node.startsWith('queue:') && center.queues[node.slice(6)] ? node.slice(6) : ctx ? nodeQueue(ctx, node) : 'none';
      if (state) await storeVoicemail(deps, state, p.RecordingSid, p.RecordingUrl, p.RecordingDuration ?? 0, queue);
    }
    return reply.code(204).send();
  });

  app.post('/twilio/status', async (req, reply) => {
    const p = validate(core, statusParams, req, reply);
    if (!p) return reply;
    return serveStatus(core, req, reply, async () => {
      const seq = p.SequenceNumber ?? (callHasEnded(p.CallStatus) ? 1_000_000 : 0);
      const seen = await calls.statusCallback(p.CallSid, seq, p.CallStatus);
      // Only the first delivery of a terminal status ends the call; duplicates and late, lower-numbered
      // callbacks change nothing (the stored latest status stays).
      if (seen.isNew && callHasEnded(p.CallStatus)) {
        const state = await calls.get(p.CallSid);
        // call.ended once per call, also when its last TwiML (the survey's goodbye) already ended the phase.
        if (state && !state.callEnded) {
          const events: DomainEvent[] = [];
          const now = clock.now();
          if (state.phase === 'ivr') events.push(hangupInIvr(state, now));
          if (state.phase !== 'ended' && deps.queue?.callEnded) events.push(...(await deps.queue.callEnded(state)));
          events.push({ type: 'call.ended', at: now, callSid: state.callSid, status: p.CallStatus, durationSeconds: p.CallDuration ?? 0 });
          await calls.put({ ...state, phase: 'ended', callEnded: true });
          bus.publish(events);
        }
      }
    });
  });

  // The number's fallback URL: Twilio could not get TwiML from us. Answer without touching Redis.
  app.post('/twilio/fallback', async (req, reply) => {
    const p = validate(core, baseParams, req, reply);
    if (!p) return reply;
    bus.service({ type: 'webhook.fallback', route: '/twilio/fallback', reason: 'internal' });
    const body = req.body as Record<string, unknown>;
    req.log.warn({ errorCode: body.ErrorCode }, 'Twilio requested the fallback URL');
    // Twilio uses the number's fallback URL for any failed document of the call, under the failed
    // document's rules: for a caller waiting in a queue (waitUrl, keys) keep them there with hold music.
    const failed = typeof body.ErrorUrl === 'string' ? body.ErrorUrl : '';
    if (/\/twilio\/queue\/(wait|keys)(\?|$)/.test(failed.replace(/^https?:\/\/[^/]+/, '')))
      return reply.type('text/xml').send(waitFallbackTwiml(center));
    return reply.type('text/xml').send(fallbackTwiml(center, urls.fallbackRecord));
  });

  // A voicemail left from the fallback TwiML: stored when Redis is back; never fails the caller.
  app.post('/twilio/fallback/recorded', async (req, reply) => {
    const p = validate(core, recordingParams, req, reply);
    if (!p) return reply;
    return serveLive(core, req, reply, async () => {
      if (p.RecordingSid && p.RecordingUrl) {
        const state = await calls.get(p.CallSid);
        const s =
          state ??
          initialState({
            callSid: p.CallSid,
            flow: Object.values(center.flows)[0]!,
            center,
            now: clock.now(),
            callerHash: callerHash(deps.callerHashKey, p.From),
            contactId: p.CallSid,
          });
        await storeVoicemail(deps, s, p.RecordingSid, p.RecordingUrl, p.RecordingDuration ?? 0, 'none');
      }
      const r = newResponse();
      r.say({}, 'Thank you. Goodbye.');
      r.hangup();
      return r.toString();
    });
  });
}

function nodeQueue(ctx: StepContext, node: string): string {
  const n = ctx.flow.nodes[node];
  return n?.type === 'voicemail' && n.queue ? n.queue : 'none';
}

async function storeVoicemail(
  deps: IvrRouteDeps,
  state: IvrState,
  recordingSid: string,
  url: string,
  duration: number,
  queue: string,
): Promise<void> {
  const now = deps.clock.now();
  const added = await deps.calls.addVoicemail({
    recordingSid,
    callSid: state.callSid,
    queue,
    url,
    durationSeconds: duration,
    at: now,
    callerHash: state.callerHash,
    language: state.language,
  });
  if (added)
    deps.core.bus.publish([
      { type: 'voicemail.recorded', at: now, callSid: state.callSid, queue, recordingSid, durationSeconds: duration },
    ]);
}

function unknownCall(): string {
  // State expired or never existed (a request for a call this deployment never saw): end politely.
  const r = newResponse();
  r.say({}, 'Sorry, we could not continue this call. Please call again.');
  r.hangup();
  return r.toString();
}
