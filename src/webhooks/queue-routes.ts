/**
 * The queue's webhooks: the Enqueue waitUrl (position and estimate between hold music), keys pressed
 * while waiting (callback, voicemail), the Enqueue action for every QueueResult, the TwiML a dequeued
 * caller runs (a conference), the caller's leg after the agent leg ends (the survey), the agent's and
 * the callback's legs, and conference status callbacks.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { callHasEnded } from '../call-status.js';
import type { Clock } from '../clock.js';
import { invalid, replyError } from '../errors.js';
import type { DomainEvent } from '../events.js';
import { waitFallbackTwiml } from '../ivr/fallback.js';
import { newResponse, type VoiceResponse } from '../ivr/prompt.js';
import type { IvrState } from '../ivr/step.js';
import { startSurvey, SURVEY_KINDS, surveyAnswer } from '../ivr/survey.js';
import type { QueueService } from '../queue/service.js';
import type { CallStore } from '../store/calls.js';
import {
  baseParams,
  conferenceStatusParams,
  dialResultParams,
  gatherParams,
  queueResultParams,
  queueWaitParams,
  recordingParams,
  statusParams,
  type StatusParams,
} from './params.js';
import { storedOrFreshState } from './known-call.js';
import { requireStore, serveLive, serveStatus, validate, type WebhookCore } from './plugin.js';

export interface QueueRouteDeps {
  core: WebhookCore;
  clock: Clock;
  calls: CallStore;
  service: QueueService;
  callerHashKey: string;
}

const str = (q: unknown, k: string): string => {
  const v = (q as Record<string, unknown>)[k];
  return typeof v === 'string' ? v : '';
};

/** What every queue route uses: the call-center file's queues and the answers for a bad queue or a failed waitUrl. */
function routeHelpers(deps: QueueRouteDeps) {
  const { center } = deps.core;
  return {
    lang: (s: IvrState | null) => s?.language ?? center.defaultLanguage,
    knownQueue: (q: string) => Boolean(center.queues[q]),
    // A waiting caller whose waitUrl (or keys) fails keeps their place: hold music, then the waitUrl again.
    holdOn: () => waitFallbackTwiml(center),
    badQueue: (reply: FastifyReply) => replyError(reply, invalid('queue', 'not a configured queue')),
  };
}
type Helpers = ReturnType<typeof routeHelpers>;

/** Register the queue routes on the webhook plugin's instance. */
export function registerQueueRoutes(app: FastifyInstance, deps: QueueRouteDeps): void {
  const h = routeHelpers(deps);
  registerWaitingRoutes(app, deps, h);
  registerAfterCallRoutes(app, deps);
  registerLegRoutes(app, deps, h);
}

/** The caller in the queue: waitUrl, keys, the Enqueue action, the overflow voicemail, the dequeue's connect. */
function registerWaitingRoutes(app: FastifyInstance, deps: QueueRouteDeps, h: Helpers): void {
  const { core, calls, service, clock } = deps;
  const { bus } = core;
  const { lang, knownQueue, holdOn, badQueue } = h;

  app.post('/twilio/queue/wait', async (req, reply) => {
    const p = validate(core, queueWaitParams, req, reply);
    if (!p) return reply;
    const queue = str(req.query, 'queue');
    if (!knownQueue(queue)) return badQueue(reply);
    return serveLive(
      core,
      req,
      reply,
      // The caller's language is the one kept with its queue entry: no read of the call's state.
      () => service.waitTwiml({ callSid: p.CallSid, queue, queueSid: p.QueueSid, queueTime: p.QueueTime }),
      undefined,
      holdOn,
    );
  });

  app.post('/twilio/queue/keys', async (req, reply) => {
    const p = validate(core, gatherParams, req, reply);
    if (!p) return reply;
    const queue = str(req.query, 'queue');
    if (!knownQueue(queue)) return badQueue(reply);
    return serveLive(
      core,
      req,
      reply,
      async () => {
        const state = await calls.get(p.CallSid);
        const r = await service.keys({ callSid: p.CallSid, queue, digits: p.Digits ?? '', language: lang(state) });
        if (r.choseVoicemail && state) await calls.put({ ...state, leaveFor: 'voicemail' });
        return r.xml;
      },
      undefined,
      holdOn,
    );
  });

  app.post('/twilio/queue/result', async (req, reply) => {
    const p = validate(core, queueResultParams, req, reply);
    if (!p) return reply;
    const queue = str(req.query, 'queue');
    if (!knownQueue(queue)) return badQueue(reply);
    // Only a caller who leaves to overflow needs the call's state (language, voicemail chosen) and a new phase;
    // a hang-up or a notification is one queue script.
    const overflows = p.QueueResult === 'leave' || p.QueueResult === 'queue-full' || p.QueueResult === 'error';
    return serveLive(core, req, reply, async () => {
      // A hang-up's first command is the leave script (a write): not while the store reconnects.
      if (!overflows) requireStore(core);
      const state = overflows ? await calls.get(p.CallSid) : null;
      const xml = await service.result({
        callSid: p.CallSid,
        queue,
        queueResult: p.QueueResult,
        queueTime: p.QueueTime,
        language: lang(state),
        choseVoicemail: state?.leaveFor === 'voicemail',
      });
      if (state) await calls.put({ ...state, phase: p.QueueResult === 'leave' && state.leaveFor === 'voicemail' ? 'voicemail' : 'ended' });
      return xml;
    });
  });

  app.post('/twilio/queue/voicemail', async (req, reply) => {
    const p = validate(core, recordingParams, req, reply);
    if (!p) return reply;
    const queue = str(req.query, 'queue');
    return serveLive(core, req, reply, async () => {
      const state = await calls.get(p.CallSid);
      if (state && p.RecordingSid && p.RecordingUrl) {
        const added = await calls.addVoicemail({
          recordingSid: p.RecordingSid,
          callSid: p.CallSid,
          queue: knownQueue(queue) ? queue : 'none',
          url: p.RecordingUrl,
          durationSeconds: p.RecordingDuration ?? 0,
          at: clock.now(),
          callerHash: state.callerHash,
          language: state.language,
        });
        if (added)
          bus.publish([
            {
              type: 'voicemail.recorded',
              at: clock.now(),
              callSid: p.CallSid,
              queue,
              recordingSid: p.RecordingSid,
              durationSeconds: p.RecordingDuration ?? 0,
            },
          ]);
      }
      const r = newResponse();
      r.say({}, 'Thank you for your message. Goodbye.');
      r.hangup();
      return r.toString();
    });
  });

  // Runs on the dequeued caller: join the call's conference.
  app.post('/twilio/queue/connect', async (req, reply) => {
    const p = validate(core, baseParams, req, reply);
    if (!p) return reply;
    const queue = str(req.query, 'queue');
    const offerId = str(req.query, 'offer');
    if (!knownQueue(queue)) return badQueue(reply);
    return serveLive(core, req, reply, async () => {
      const [state, , c] = await Promise.all([
        calls.get(p.CallSid),
        service.dequeued(offerId),
        service.connectTwiml({ callSid: p.CallSid, queue, offerId }),
      ]);
      if (state && c.joins) await calls.put({ ...state, phase: 'agent', queue });
      return c.twiml;
    });
  });
}

/** The caller's leg after the agent's ended (the survey), and the callback's leg. */
function registerAfterCallRoutes(app: FastifyInstance, deps: QueueRouteDeps): void {
  const { core, calls, service, clock } = deps;
  const { center, urls, bus } = core;

  /** Run a survey step on the caller's stored state; a call we no longer know is ended politely. */
  const surveyStep = async (
    callSid: string,
    fn: (state: IvrState) => { twiml: { toString(): string }; state: IvrState; events: DomainEvent[] },
  ): Promise<string> => {
    const state = await calls.get(callSid);
    if (!state) {
      const r = newResponse();
      r.hangup();
      return r.toString();
    }
    const s = fn(state);
    // The events are published once the save is confirmed (see ivr-flow.ts).
    await calls.put(s.state);
    bus.publish(s.events);
    return s.twiml.toString();
  };

  // The caller's <Dial> ended (the agent left the conference): the post-call survey. Twilio also requests
  // the Dial action when the caller hung up (CallStatus=completed) and ignores the answer: nothing can be
  // played on a finished call, so no survey is offered or counted, and the call's state is left to its
  // final status callback.
  app.post('/twilio/call/after', async (req, reply) => {
    const p = validate(core, dialResultParams, req, reply);
    if (!p) return reply;
    const queue = str(req.query, 'queue');
    if (callHasEnded(p.CallStatus)) return serveLive(core, req, reply, () => Promise.resolve(newResponse().toString()));
    return serveLive(core, req, reply, () =>
      surveyStep(p.CallSid, (state) => startSurvey(center, state, queue, clock.now(), (k) => urls.survey(k))),
    );
  });

  app.post('/twilio/survey', async (req, reply) => {
    const p = validate(core, gatherParams, req, reply);
    if (!p) return reply;
    const step = str(req.query, 'step');
    const kind = SURVEY_KINDS.find((k) => k === step);
    if (!kind) return replyError(reply, invalid('step', SURVEY_KINDS.join(', ')));
    return serveLive(core, req, reply, () =>
      surveyStep(p.CallSid, (state) => surveyAnswer(center, state, kind, p.Digits, clock.now(), (k) => urls.survey(k))),
    );
  });

  app.post('/twilio/callback/leg', async (req, reply) => {
    const p = validate(core, baseParams, req, reply);
    if (!p) return reply;
    return serveLive(core, req, reply, () =>
      service.callbackLegTwiml({ queue: str(req.query, 'queue'), offerId: str(req.query, 'offer'), language: center.defaultLanguage }),
    );
  });
}

/** Legs' status callbacks, re-entries into a queue (transfer, overflow), conference events, hold music. */
function registerLegRoutes(app: FastifyInstance, deps: QueueRouteDeps, h: Helpers): void {
  const { core, calls, service, clock } = deps;
  const { center, bus } = core;
  const { knownQueue, badQueue } = h;

  /** A leg's status callback: de-duplicated and ordered by (CallSid, SequenceNumber), handled once. */
  const legStatus = (path: string, handle: (p: StatusParams, req: FastifyRequest) => Promise<void>) =>
    app.post(path, async (req, reply) => {
      const p = validate(core, statusParams, req, reply);
      if (!p) return reply;
      return serveStatus(core, req, reply, async () => {
        const seen = await calls.statusCallback(p.CallSid, p.SequenceNumber ?? 0, p.CallStatus);
        if (seen.isNew) await handle(p, req);
      });
    });

  /** A caller (re-)entering a queue from a redirect: the stored call state, or a fresh one if it was lost. */
  const entryRoute = (
    path: string,
    enter: (a: {
      queue: string;
      state: IvrState;
      twiml: VoiceResponse;
      party: { from: string; to: string };
    }) => Promise<{ state: IvrState; events: DomainEvent[] }>,
  ) =>
    app.post(path, async (req, reply) => {
      const p = validate(core, baseParams, req, reply);
      if (!p) return reply;
      const queue = str(req.query, 'queue');
      if (!knownQueue(queue)) return badQueue(reply);
      return serveLive(core, req, reply, async () => {
        const state = await storedOrFreshState(calls, { center, clock, callerHashKey: deps.callerHashKey }, p);
        const twiml = newResponse();
        const r = await enter({ queue, state, twiml, party: { from: p.From, to: p.To } });
        await calls.put(r.state);
        bus.publish(r.events);
        return twiml.toString();
      });
    });

  // A connected caller transferred to a queue by an agent (or back to their queue when a cold transfer
  // found nobody): the same contact re-enters, not a new offer, at the front or the configured priority.
  entryRoute('/twilio/transfer/queue', ({ queue, state, twiml, party }) => {
    const q = center.queues[queue]!;
    twiml.say(
      {},
      state.language === 'es' ? 'Por favor espere mientras transferimos su llamada.' : 'Please hold while we transfer your call.',
    );
    return service.enter({ state, queue, priority: q.transferPriority, twiml, party, countOffer: false, front: q.transferToFront });
  });

  // Overflow into another queue: the caller re-enters there as a new offer of that queue.
  entryRoute('/twilio/queue/enter', ({ queue, state, twiml, party }) => service.enter({ state, queue, priority: undefined, twiml, party }));

  // The agent's leg (dialed into the conference as a participant): its status decides the bridge.
  legStatus('/twilio/agent/status', async (p, req) => {
    const work = service.agentLegStatus({ offerId: str(req.query, 'offer'), callSid: p.CallSid, status: p.CallStatus });
    // An answered leg starts the bridge (dequeue or callback), whose REST calls may retry with backoff
    // for seconds: Twilio gets its answer now, the bridge finishes on its own.
    if (p.CallStatus === 'in-progress') void work.catch((err: unknown) => req.log.error({ err }, 'bridge after the agent answered failed'));
    else await work;
  });
  legStatus('/twilio/callback/status', (p, req) =>
    service.callbackLegStatus({
      queue: str(req.query, 'queue'),
      offerId: str(req.query, 'offer'),
      callSid: p.CallSid,
      status: p.CallStatus,
    }),
  );
  // An outside number dialed into a conference by a transfer.
  legStatus('/twilio/transfer/status', (p, req) =>
    service.transferLegStatus({ callSid: str(req.query, 'call'), legSid: p.CallSid, status: p.CallStatus }),
  );
  // A supervisor's monitoring leg.
  legStatus('/twilio/monitor/status', (p, req) =>
    service.monitorLegStatus({ callSid: str(req.query, 'call'), legSid: p.CallSid, status: p.CallStatus }),
  );

  app.post('/twilio/conference/status', async (req, reply) => {
    const p = validate(core, conferenceStatusParams, req, reply);
    if (!p) return reply;
    // Only the ConferenceSid is taken from these, as a second source: the Participants create answer of the
    // agent's leg gives it first (a create retried after a lost answer may not); the agent's and the caller's legs
    // (status callbacks and the Dial action) drive the call's state, so duplicates and reordering of
    // conference events cannot change a count.
    return serveStatus(core, req, reply, () =>
      service.conferenceEvent({ friendlyName: p.FriendlyName, conferenceSid: p.ConferenceSid, event: p.StatusCallbackEvent }),
    );
  });

  // Hold music for the conference and the queue, served by us so it works without Twilio's assets.
  app.post('/twilio/hold', async (_req, reply) => {
    const r = newResponse();
    r.play({ loop: 0 }, center.holdMusic.url);
    return reply.type('text/xml').send(r.toString());
  });
}
