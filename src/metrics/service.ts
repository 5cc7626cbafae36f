/** The service's own series (webhooks, Redis and Twilio REST errors, rate limits), fed by service events. */
import { Gauge, type Registry } from 'prom-client';
import type { ServiceEvent } from '../events.js';
import { P, seriesMakers } from './call-series.js';
import type { Labels } from './labels.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];

export function createServiceSeries(registry: Registry, L: Labels) {
  const { counter, histogram } = seriesMakers(registry);
  const webhookDuration = histogram(
    'webhook_duration_seconds',
    'Webhook latency by route and status class.',
    ['route', 'status'],
    LATENCY_BUCKETS,
  );
  const webhookFallbacks = counter('webhook_fallbacks_total', 'Live-call webhooks answered with fallback TwiML.', ['route', 'reason']);
  const webhookRejected = counter('webhook_rejected_total', 'Webhooks refused (signature or parameters).', ['route', 'reason']);
  const webhookUnprocessed = counter(
    'webhook_unprocessed_total',
    'Status callbacks that could not be processed (answered 503 or 500; Twilio does not resend them).',
    ['route', 'reason'],
  );
  const ghostsClosed = counter(
    'queue_ghosts_closed_total',
    'Callers still waiting in Redis whose call Twilio says had ended (hangup missed), closed as abandoned.',
    ['queue', 'via'],
  );
  const redisErrors = counter('redis_errors_total', 'Failed Redis operations.', ['op']);
  const restCalls = counter('twilio_rest_requests_total', 'REST requests to Twilio by result.', ['op', 'result']);
  const rateLimited = counter('rate_limited_total', 'Requests and sign-ins refused with 429 by a rate limit (per client address).', [
    'limiter',
  ]);
  for (const limiter of ['sign_in', 'supervisor_api']) rateLimited.inc({ limiter }, 0);
  new Gauge({ name: P + 'up', help: '1 while the process serves.', registers: [registry] }).set(1);

  const onService = (e: ServiceEvent): void => {
    switch (e.type) {
      case 'webhook.served':
        if (e.route.startsWith('/twilio/'))
          webhookDuration.observe({ route: L.route(e.route), status: `${Math.floor(e.statusCode / 100)}xx` }, e.seconds);
        break;
      case 'webhook.fallback':
        webhookFallbacks.inc({ route: L.route(e.route), reason: e.reason });
        break;
      case 'webhook.rejected':
        webhookRejected.inc({ route: L.route(e.route), reason: e.reason });
        break;
      case 'webhook.unprocessed':
        webhookUnprocessed.inc({ route: L.route(e.route), reason: e.reason });
        break;
      case 'queue.ghost_closed':
        ghostsClosed.inc({ queue: L.queue(e.queue), via: e.via });
        break;
      case 'redis.error':
        redisErrors.inc({ op: e.op });
        break;
      case 'twilio.rest':
        restCalls.inc({ op: e.op, result: e.result });
        break;
      case 'rate.limited':
        rateLimited.inc({ limiter: e.limiter });
        break;
    }
  };
  return { onService, redisErrors };
}
