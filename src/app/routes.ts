/**
 * Every HTTP surface of the server on the built context: the signed Twilio scope (IVR, queue and recording
 * webhooks), the supervisor and agent APIs, /metrics, /health and /ready. (The pages and both WebSockets
 * are attached by src/web and src/agents.)
 */
import type { FastifyInstance } from 'fastify';
import { registerMonitorRoutes } from '../api/monitor-routes.js';
import { registerPlanRoutes, type PlanRouteDeps } from '../api/plan-routes.js';
import { registerRecordingApi } from '../api/recording-routes.js';
import { registerRecordRoutes } from '../api/records-routes.js';
import { registerApiRoutes } from '../api/routes.js';
import { registerVoiceRoutes } from '../api/voice-routes.js';
import type { RedisClient } from '../store/redis.js';
import { registerIvrRoutes } from '../webhooks/ivr-routes.js';
import { installWebhookInfra, type WebhookCore } from '../webhooks/plugin.js';
import { registerQueueRoutes } from '../webhooks/queue-routes.js';
import { registerRecordingRoutes } from '../webhooks/recording-routes.js';
import type { AppContext } from './context.js';

/** Register the routes; `planTargets` are each queue's service-level target for /api/plan. */
export async function registerRoutes(app: FastifyInstance, ctx: AppContext, planTargets: PlanRouteDeps['queues']): Promise<void> {
  const { config, clock, bus, urls, calls, auth, queues, agents, service, records, audit, metrics, redis } = ctx;
  const core: WebhookCore = {
    center: config.center,
    urls,
    authToken: config.twilioAuthToken,
    bus,
    budgetMs: config.webhookBudgetMs ?? 1500,
    storeReady: () => redis.status === 'ready',
  };

  await app.register(async (twilioScope) => {
    installWebhookInfra(twilioScope, core);
    registerIvrRoutes(twilioScope, { core, clock, calls, callerHashKey: config.callerHashKey, queue: service });
    registerQueueRoutes(twilioScope, { core, clock, calls, service, callerHashKey: config.callerHashKey });
    registerRecordingRoutes(twilioScope, { core, clock, calls, service, callerHashKey: config.callerHashKey });
  });

  registerApiRoutes(app, {
    auth,
    calls,
    queueNames: Object.keys(config.center.queues),
    queueSnapshot: (q) => queues.snapshot(q),
    agentList: async () =>
      (await agents.list()).map((a) => ({
        id: a.id,
        team: a.team,
        state: a.state,
        stateSince: a.stateSince,
        breakReason: a.breakReason,
        connected: a.connected,
      })),
  });

  registerVoiceRoutes(app, {
    auth,
    agents: config.center.agents,
    accountSid: config.twilioAccountSid,
    apiKeySid: config.twilioApiKeySid,
    apiKeySecret: config.twilioApiKeySecret,
  });
  registerPlanRoutes(app, { auth, prometheusUrl: config.prometheusUrl, queues: planTargets, now: () => clock.now() });

  registerRecordRoutes(app, { auth, records, audit });
  registerRecordingApi(app, { auth, audit, control: (callSid, c) => service.recordings.control(callSid, c) });

  const liveRecordingStatus = async (callSid: string) => {
    const status = (await service.recordings.current(callSid))?.status;
    return status === 'in-progress' || status === 'paused' ? status : null;
  };
  registerMonitorRoutes(app, {
    auth,
    audit,
    monitor: (r) => service.monitor(r),
    liveCalls: async () =>
      Promise.all(
        (await agents.listInState('on_call'))
          .filter((a) => a.callSid)
          .map(async (a) => ({
            callSid: a.callSid!,
            queue: a.callQueue ?? '',
            agentId: a.id,
            state: a.holdStartedAt ? 'on_hold' : 'talking',
            since: a.talkStartedAt,
            // Supervisor lines on the call (their mode, and where they are dialed): for the supervisor API only.
            monitors: await service.monitors(a.callSid!),
            recording: await liveRecordingStatus(a.callSid!),
          })),
      ),
  });

  app.get('/metrics', async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/health', async () => {
    const redisUp = await pingRedis(redis);
    return { status: redisUp ? 'ok' : 'degraded', redis: redisUp ? 'up' : 'down', instance: config.instanceId ?? null };
  });

  app.get('/ready', async (_req, reply) => {
    const redisUp = await pingRedis(redis);
    return reply.code(redisUp ? 200 : 503).send({ ready: redisUp });
  });
}

async function pingRedis(redis: RedisClient): Promise<boolean> {
  try {
    const r = await Promise.race([redis.ping(), new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 500))]);
    return r === 'PONG';
  } catch {
    return false;
  }
}
