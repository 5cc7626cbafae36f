/**
 * buildApp(config, deps): the whole server as a fastify instance, with nothing started. main.ts starts
 * the process; tests build a fresh app per test and use inject() or listen on port 0.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { CenterConfig } from './config/callcenter.js';
import type { EnvConfig } from './config/env.js';
import { systemClock, type Clock } from './clock.js';
import { createEventBus, type EventBus } from './events.js';
import { createAuthenticator, type AuthLimitOptions, type Authenticator } from './access/auth.js';
import { installHttpSecurity } from './api/security.js';
import { registerApiRoutes } from './api/routes.js';
import { registerMonitorRoutes } from './api/monitor-routes.js';
import { registerRecordRoutes } from './api/records-routes.js';
import { registerRecordingApi } from './api/recording-routes.js';
import {
  createAuditLog,
  createRecordStore,
  subscribeCallRecords,
  type AuditLog,
  type RecordStore,
  type RecordSubscription,
} from './records/index.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { createCallStore, type CallStore } from './store/calls.js';
import { createKeys, type Keys } from './store/keys.js';
import type { RedisClient } from './store/redis.js';
import { createScripts, type Scripts } from './store/scripts.js';
import { installWebhookInfra, type WebhookCore } from './webhooks/plugin.js';
import { registerIvrRoutes } from './webhooks/ivr-routes.js';
import { registerQueueRoutes } from './webhooks/queue-routes.js';
import { registerRecordingRoutes } from './webhooks/recording-routes.js';
import { createAgentChannel, type AgentChannel } from './agents/channel.js';
import { createAgentStore, type AgentStore } from './agents/store.js';
import { createContactStore } from './queue/contacts.js';
import { createOfferStore } from './queue/offers.js';
import { createQueueService, type QueueService } from './queue/service.js';
import { createQueueStore, type QueueStore } from './queue/store.js';
import { createRecordingStore } from './queue/recording-store.js';
import { createTwilioRest, type TwilioRest, type TwilioRestOptions } from './queue/twilio-rest.js';
import { staffingRows } from './queue/staffing.js';
import { createLivePlanner, currentRows } from './capacity/live.js';
import { createPrometheusClient } from './capacity/prometheus.js';
import { registerPlanRoutes } from './api/plan-routes.js';
import { registerVoiceRoutes } from './api/voice-routes.js';
import { createPlanStore } from './store/plan.js';
import { serviceLevelSecondsFor } from './config/callcenter.js';
import { createUrls, type Urls } from './urls.js';
import { registerWeb, type WebOptions } from './web/index.js';

export type AppConfig = Pick<
  EnvConfig,
  'publicBaseUrl' | 'twilioAuthToken' | 'twilioAccountSid' | 'twilioApiBaseUrl' | 'callerHashKey' | 'redisPrefix' | 'supervisorToken'
> & {
  center: CenterConfig;
  /** Live-call webhooks answer fallback TwiML after this long (default 1500 ms, under the 2 s promise). */
  webhookBudgetMs?: number;
  instanceId?: string | undefined;
  /** Time limits of Twilio REST calls (defaults in src/queue/twilio-rest.ts: 4 s per request, 12 s per operation). */
  twilioRest?: Pick<TwilioRestOptions, 'requestTimeoutMs' | 'budgetMs'>;
  /** The Prometheus that scrapes Switchboard: /api/plan and the current plan's gauges use it (unset: off). */
  prometheusUrl?: string | undefined;
  /** The API key that signs the desk softphone's Access Tokens (GET /api/agent/voice-token; unset: off). */
  twilioApiKeySid?: string | undefined;
  twilioApiKeySecret?: string | undefined;
  /**
   * Rate limits on failed tokens and the supervisor API (defaults in src/access/auth.ts). The buckets live
   * in Redis, shared by every instance, unless `store` is 'memory' (per instance); memory answers
   * whenever Redis does not.
   */
  rateLimits?: Pick<AuthLimitOptions, 'signIn' | 'supervisorApi'> & { store?: 'redis' | 'memory' };
};

export interface AppDeps {
  redis: RedisClient;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  /** Twilio's REST API; by default the twilio package pointed at config.twilioApiBaseUrl. */
  rest?: TwilioRest;
  /** Sweeper period (offer, wrap-up and grace timeouts). Default 1000 ms. */
  sweepEveryMs?: number;
  /** Sign-out grace for agents whose socket dropped. Default 30 s. */
  graceMs?: number;
  /** Wallboard push throttle and periodic refresh (src/web; defaults 500 ms and 5 s). */
  web?: WebOptions;
  /** Both WebSockets close a socket that has not signed in after this long. Default 10 s. */
  helloTimeoutMs?: number;
}

export interface AppContext {
  config: AppConfig;
  redis: RedisClient;
  clock: Clock;
  bus: EventBus;
  keys: Keys;
  urls: Urls;
  scripts: Scripts;
  calls: CallStore;
  metrics: Metrics;
  auth: Authenticator;
  queues: QueueStore;
  agents: AgentStore;
  service: QueueService;
  channel: AgentChannel;
  /** Call records (folded from domain events) and the supervisor audit. */
  records: RecordStore;
  recordFolds: RecordSubscription;
  audit: AuditLog;
}

declare module 'fastify' {
  interface FastifyInstance {
    sb: AppContext;
  }
}

/** Pino options that keep phone numbers out of logs: bodies are never logged, headers are trimmed. */
export const loggerOptions = (level: string): FastifyServerOptions['logger'] => ({
  level,
  redact: { paths: ['req.headers.authorization', 'req.headers["x-twilio-signature"]', 'body', 'params.From', 'params.To'], remove: true },
  serializers: {
    req: (req: { method: string; routeOptions?: { url?: string }; url: string; id: string }) => ({
      method: req.method,
      // The route pattern, not the URL: query strings may carry caller-supplied values.
      route: req.routeOptions?.url ?? req.url.split('?')[0],
      id: req.id,
    }),
  },
});

/** A request slower than this is logged at warn whatever the level (the webhook budget is 1.5 s). */
export const SLOW_REQUEST_MS = 1000;

/**
 * Request logging that costs nothing at the default level: fastify's two info lines per request (incoming,
 * completed) cost more CPU than a webhook's own work. Per-request lines ("incoming request", "request
 * completed" with route, status and time) are debug; at info and above only what needs a look is
 * written: a refused request (4xx) at info, a failed one (5xx, or an error) at error, and any request slower
 * than SLOW_REQUEST_MS at warn. Fastify's other lines (its error handler, 404s) are unchanged.
 */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const ms = reply.elapsedTime;
    const status = reply.statusCode;
    if (error || status >= 500) reply.log.error({ req: request, status, ms, ...(error ? { err: error } : {}) }, 'request failed');
    else if (ms >= SLOW_REQUEST_MS) reply.log.warn({ req: request, status, ms }, 'slow request');
    else if (status >= 400) reply.log.info({ req: request, status, ms }, 'request refused');
    else reply.log.debug({ req: request, status, ms }, 'request completed');
  }
}

/** Build the server. Nothing listens until the caller calls `listen`. */
export async function buildApp(config: AppConfig, deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: deps.logger ?? false,
    logController: new RequestLog(),
    trustProxy: true,
    bodyLimit: 256 * 1024,
  });
  installHttpSecurity(app);
  const bus = createEventBus((err) => app.log.error({ err }, 'event subscriber failed'));
  const keys = createKeys(config.redisPrefix);
  const urls = createUrls(config.publicBaseUrl);
  const scripts = createScripts(deps.redis);
  const calls = createCallStore(deps.redis, keys, scripts, config.center.callTtlSeconds);
  const metrics = createMetrics({ center: config.center, bus, now: () => clock.now() });
  const records = createRecordStore({
    redis: deps.redis,
    keys,
    scripts,
    now: () => clock.now(),
    retentionDays: config.center.retention.callRecordsDays,
    workingTtlSeconds: config.center.callTtlSeconds,
  });
  const recordFolds = subscribeCallRecords(bus, records, (err) => {
    bus.service({ type: 'redis.error', op: 'call_record' });
    app.log.warn({ err }, 'call record fold failed');
  });
  const audit = createAuditLog({ redis: deps.redis, keys, now: () => clock.now(), retentionDays: config.center.retention.auditDays });
  deps.redis.on('error', () => bus.service({ type: 'redis.error', op: 'connection' }));

  const { store: limitStore, ...limitOptions } = config.rateLimits ?? {};
  const auth = createAuthenticator(
    config.supervisorToken,
    config.center.agents,
    {
      ...limitOptions,
      onLimited: (limiter) => bus.service({ type: 'rate.limited', limiter }),
      ...(limitStore === 'memory'
        ? {}
        : {
            shared: {
              run: (key, args) => scripts.rateLimit([key], args),
              keyOf: keys.rateLimit,
              onError: () => bus.service({ type: 'redis.error', op: 'rate_limit' }),
            },
          }),
    },
    config.center.supervisors,
  );
  const queues = createQueueStore(deps.redis, keys, clock);
  const agents = createAgentStore(deps.redis, keys, clock);
  const instance = config.instanceId ?? `i-${process.pid}`;
  const rest =
    deps.rest ??
    createTwilioRest({
      accountSid: config.twilioAccountSid,
      authToken: config.twilioAuthToken,
      apiBaseUrl: config.twilioApiBaseUrl,
      ...config.twilioRest,
      clock,
      onEvent: (e) => bus.service(e),
    });
  const service = createQueueService({
    center: config.center,
    urls,
    clock,
    bus,
    queues,
    agents,
    contacts: createContactStore(deps.redis, keys, scripts),
    offers: createOfferStore(deps.redis, keys),
    recordings: createRecordingStore(deps.redis, keys, scripts, config.center.callTtlSeconds),
    rest,
    redis: deps.redis,
    keys,
    instance,
    log: app.log,
    ...(deps.sweepEveryMs !== undefined ? { sweepEveryMs: deps.sweepEveryMs } : {}),
    ...(deps.graceMs !== undefined ? { graceMs: deps.graceMs } : {}),
  });
  const channel = await createAgentChannel({
    app,
    redis: deps.redis,
    channelName: keys.agentChannel,
    instance,
    auth,
    commands: service,
    log: app.log,
    ...(deps.helloTimeoutMs !== undefined ? { helloTimeoutMs: deps.helloTimeoutMs } : {}),
  });
  service.setChannel(channel);
  // The current interval's plan: computed by one instance from Prometheus, read by every instance's metrics.
  const planStore = createPlanStore(deps.redis, keys);
  const planTargets = Object.fromEntries(
    Object.keys(config.center.queues).map((q) => [
      q,
      { targetSeconds: serviceLevelSecondsFor(config.center, q), targetServiceLevel: config.center.thresholds.serviceLevelTarget },
    ]),
  );
  const planner = config.prometheusUrl
    ? createLivePlanner({
        prometheus: createPrometheusClient(config.prometheusUrl),
        store: planStore,
        now: () => clock.now(),
        queues: Object.entries(planTargets).map(([queue, t]) => ({ queue, ...t })),
        log: app.log,
      })
    : undefined;
  metrics.setGaugeSources({
    queues: async () =>
      Promise.all(
        Object.keys(config.center.queues).map(async (queue) => {
          const s = await queues.snapshot(queue);
          return { queue, waiting: s.waiting, callbacksPending: s.callbacksPending, longestWaitSeconds: s.longestWaitSeconds };
        }),
      ),
    agents: async () => agents.countByStateAndTeam(),
    staffing: async () => staffingRows({ center: config.center, queues, agents, now: clock.now() }),
    plan: async () => currentRows(await planStore.load(), clock.now()),
  });

  const ctx: AppContext = {
    config,
    redis: deps.redis,
    clock,
    bus,
    keys,
    urls,
    scripts,
    calls,
    metrics,
    auth,
    queues,
    agents,
    service,
    channel,
    records,
    recordFolds,
    audit,
  };
  app.decorate('sb', ctx);
  await registerWeb(app, { ...(deps.helloTimeoutMs !== undefined ? { helloTimeoutMs: deps.helloTimeoutMs } : {}), ...deps.web }); // agent desk, wallboard and its supervisor socket (src/web)

  app.addHook('onReady', async () => {
    for (const a of Object.values(config.center.agents)) {
      await agents.upsertAgent({ id: a.id, team: a.team, skills: a.skills, contact: a.contact });
    }
    // The agent index is kept by the agent scripts; recomputed once here so an upgraded deployment (or an
    // index changed by hand) is right before routing starts.
    await agents.rebuildIndex();
    service.start();
    planner?.start();
  });
  app.addHook('preClose', async () => {
    await channel.drain('server shutting down');
  });
  app.addHook('onClose', async () => {
    planner?.stop();
    await service.stop();
    await channel.close();
    await recordFolds.idle();
    recordFolds.stop();
  });

  const core: WebhookCore = {
    center: config.center,
    urls,
    authToken: config.twilioAuthToken,
    bus,
    budgetMs: config.webhookBudgetMs ?? 1500,
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
          })),
      ),
  });

  app.get('/metrics', async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/health', async () => {
    const redisUp = await pingRedis(deps.redis);
    return { status: redisUp ? 'ok' : 'degraded', redis: redisUp ? 'up' : 'down', instance: config.instanceId ?? null };
  });

  app.get('/ready', async (_req, reply) => {
    const redisUp = await pingRedis(deps.redis);
    return reply.code(redisUp ? 200 : 503).send({ ready: redisUp });
  });

  return app;
}

async function pingRedis(redis: RedisClient): Promise<boolean> {
  try {
    const r = await Promise.race([redis.ping(), new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 500))]);
    return r === 'PONG';
  } catch {
    return false;
  }
}
