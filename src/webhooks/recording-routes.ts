/**
 * The webhooks of call recording:
 * - `/twilio/queue/consented`: a queue that records plays its consent prompt and redirects here, where
 *   the caller is queued (src/queue/caller.ts); a live-call webhook (never a 5xx, fallback TwiML).
 * - `/twilio/conference/recording`: the conference recording status callback
 *   (`conferenceRecordingStatusCallback`, asked for by the agent's leg that creates a recorded call's
 *   conference: src/queue/bridge.ts). Its URL names the caller's call and the queue, so the recording is
 *   filed under the caller's call whichever participant Twilio names in CallSid. Applied once per recording
 *   and status (a retried callback changes nothing), answered like any status callback (serveStatus).
 * Both are signed like every webhook (the plugin checks it before these run).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { fromZod, invalid, replyError } from '../errors.js';
import { newResponse } from '../ivr/prompt.js';
import type { QueueService } from '../queue/service.js';
import type { CallStore } from '../store/calls.js';
import { storedOrFreshState } from './known-call.js';
import { baseParams } from './params.js';
import { queryParam, serveLive, serveStatus, validate, type WebhookCore } from './plugin.js';

const sid = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be ${prefix} followed by 32 hex digits`);

/**
 * What Twilio sends with a conference recording status callback (https://www.twilio.com/docs/voice/twiml/recording,
 * recordingStatusCallback parameters; the statuses a conference recording reports: participant.d.ts
 * conferenceRecordingStatusCallbackEvent). RecordingDuration may be -1 while the recording is in progress.
 */
export const conferenceRecordingParams = z.looseObject({
  AccountSid: sid('AC'),
  CallSid: sid('CA').optional(),
  ConferenceSid: sid('CF'),
  RecordingSid: sid('RE'),
  RecordingUrl: z.string().url().max(1024),
  RecordingStatus: z.enum(['in-progress', 'completed', 'failed', 'absent']),
  RecordingDuration: z.coerce.number().int().min(-1).max(10_000_000).optional(),
  RecordingChannels: z.string().max(8).optional(),
  RecordingSource: z.string().max(64).optional(),
  RecordingStartTime: z.string().max(64).optional(),
  ErrorCode: z.string().max(16).optional(),
});

const callQuery = sid('CA');

export interface RecordingRouteDeps {
  core: WebhookCore;
  clock: Clock;
  calls: CallStore;
  callerHashKey: string;
  service: Pick<QueueService, 'recordings' | 'enter'>;
}

const flag = z.enum(['0', '1']);
const consentedQuery = z.object({
  queue: z.string().min(1).max(63),
  priority: z.coerce.number().int().min(0).max(9).optional(),
  front: flag,
  offer: flag,
});

/** Register /twilio/conference/recording on the webhook plugin's instance. */
export function registerRecordingRoutes(app: FastifyInstance, deps: RecordingRouteDeps): void {
  const { core, service, calls, clock } = deps;
  const { center, bus } = core;

  app.post('/twilio/queue/consented', async (req, reply) => {
    const p = validate(core, baseParams, req, reply);
    if (!p) return reply;
    const q = consentedQuery.safeParse(req.query ?? {});
    if (!q.success) return replyError(reply, fromZod(q.error, '(query)'));
    if (!center.queues[q.data.queue]) return replyError(reply, invalid('queue', 'not a configured queue'));
    const { queue, priority, front, offer } = q.data;
    return serveLive(core, req, reply, async () => {
      const state = await storedOrFreshState(calls, { center, clock, callerHashKey: deps.callerHashKey }, p);
      const twiml = newResponse();
      const r = await service.enter({
        state,
        queue,
        priority,
        twiml,
        party: { from: p.From, to: p.To },
        front: front === '1',
        countOffer: offer === '1',
        consented: true,
      });
      await calls.put(r.state);
      bus.publish(r.events);
      return twiml.toString();
    });
  });

  app.post('/twilio/conference/recording', async (req, reply) => {
    const p = validate(core, conferenceRecordingParams, req, reply);
    if (!p) return reply;
    const call = callQuery.safeParse(queryParam(req, 'call'));
    if (!call.success) return replyError(reply, fromZod(call.error, 'call'));
    const queue = queryParam(req, 'queue');
    if (!core.center.queues[queue]) return replyError(reply, invalid('queue', 'not a configured queue'));
    return serveStatus(core, req, reply, () =>
      service.recordings.statusCallback({
        callSid: call.data,
        queue,
        recordingSid: p.RecordingSid,
        conferenceSid: p.ConferenceSid,
        status: p.RecordingStatus,
        url: p.RecordingUrl,
        durationSeconds: Math.max(0, p.RecordingDuration ?? 0),
      }),
    );
  });
}
