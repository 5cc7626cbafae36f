/**
 * The IVR's webhooks: incoming call, menu answers, voicemail, status callbacks and the number's fallback
 * URL. Each loads the call's state, runs the pure IVR step, saves the state and publishes the events.
 */
import type { FastifyInstance } from 'fastify';
import type { DomainEvent } from '../events.js';
import { fallbackTwiml, waitFallbackTwiml } from '../ivr/fallback.js';
import { newResponse } from '../ivr/prompt.js';
import { hangupInIvr, initialState, type IvrInput, type IvrState, type StepContext } from '../ivr/step.js';
import { callerHash } from '../privacy.js';
import { callHasEnded } from '../call-status.js';
import { createIvrFlow, idempotencyToken, type IvrRouteDeps } from './ivr-flow.js';
import { baseParams, gatherParams, recordingParams, statusParams, type StatusParams } from './params.js';
import { queryParam, serveLive, serveStatus, validate } from './plugin.js';

export type { IvrRouteDeps, QueueGateway } from './ivr-flow.js';

/** Register the IVR routes on the webhook plugin's instance. */
export function registerIvrRoutes(app: FastifyInstance, deps: IvrRouteDeps): void {
  const { core, clock, calls } = deps;
  const { center, urls, bus } = core;
  const flow = createIvrFlow(deps);
  const ctxFor = flow.ctxFor;

  app.post('/twilio/voice', async (req, reply) => {
    const p = validate(core, baseParams, req, reply);
    if (!p) return reply;
    const token = idempotencyToken(req.headers);
    return serveLive(core, req, reply, () =>
      flow.incoming(p, token, (err: unknown) => req.log.warn({ err }, 'repeat-contact check failed')),
    );
  });

  app.post('/twilio/ivr/gather', async (req, reply) => {
    const p = validate(core, gatherParams, req, reply);
    if (!p) return reply;
    const node = queryParam(req, 'node');
    const input: IvrInput =
      queryParam(req, 'noInput') === '1'
        ? { kind: 'no_input', node }
        : { kind: 'gather', node, digits: p.Digits, speech: p.SpeechResult, confidence: p.Confidence };
    return serveLive(core, req, reply, () => flow.answer(p, idempotencyToken(req.headers), input, { from: p.From, to: p.To }));
  });

  app.post('/twilio/ivr/recorded', async (req, reply) => {
    const p = validate(core, recordingParams, req, reply);
    if (!p) return reply;
    const node = queryParam(req, 'node');
    return serveLive(core, req, reply, () =>
      flow.answer(p, idempotencyToken(req.headers), { kind: 'recorded', node }, undefined, async (state, ctx) => {
        if (p.RecordingSid && p.RecordingUrl)
          await storeVoicemail(deps, state, p.RecordingSid, p.RecordingUrl, p.RecordingDuration ?? 0, nodeQueue(ctx, node));
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
    return serveStatus(core, req, reply, () => callStatus(deps, p));
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

/**
 * A caller's status callback: de-duplicated and ordered by SequenceNumber; the first delivery of a final
 * status ends the call once. The status record and the call's state are read by one script call (the state
 * only for a final status), then the ended state is saved and its events published.
 */
async function callStatus(deps: IvrRouteDeps, p: StatusParams): Promise<void> {
  const { calls, clock } = deps;
  const ended = callHasEnded(p.CallStatus);
  const seq = p.SequenceNumber ?? (ended ? 1_000_000 : 0);
  const seen = await calls.statusCallback(p.CallSid, seq, p.CallStatus, ended);
  const state = seen.state ?? null;
  // Only the first delivery of a terminal status ends the call; duplicates and late, lower-numbered
  // callbacks change nothing (the stored latest status stays). call.ended once per call, also when its last
  // TwiML (the survey's goodbye) already ended the phase.
  if (!seen.isNew || !ended || !state || state.callEnded) return;
  const now = clock.now();
  const events: DomainEvent[] = [];
  if (state.phase === 'ivr') events.push(hangupInIvr(state, now));
  // A caller still in a queue: its offer (if any) is released first, and call.ended follows the queue's
  // events, as the Enqueue action (sent with this callback) usually lands first: the record is then
  // appended once, with the queue outcome in it. A call in the IVR has nothing to release.
  if (state.phase !== 'ended' && deps.queue?.callEnded) events.push(...(await deps.queue.callEnded(state)));
  events.push({ type: 'call.ended', at: now, callSid: state.callSid, status: p.CallStatus, durationSeconds: p.CallDuration ?? 0 });
  await calls.put({ ...state, phase: 'ended', callEnded: true });
  deps.core.bus.publish(events);
}
