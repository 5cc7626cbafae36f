/**
 * buildApp(config, deps): the whole server as a fastify instance, with nothing started. main.ts starts
 * the process; tests build a fresh app per test and use inject() or listen on port 0. Its settings and
 * context types are in src/app/context.ts, its logging in src/app/logging.ts, its routes in src/app/routes.ts.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { systemClock, type Clock } from './clock.js';
import { serviceLevelSecondsFor } from './config/callcenter.js';
import { createEventBus, type EventBus } from './events.js';
import { createAuthenticator, type Authenticator } from './access/auth.js';
import { installHttpSecurity } from './api/security.js';
import { createAuditLog, createRecordStore, subscribeCallRecords } from './records/index.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { createCallStore } from './store/calls.js';
import { createKeys, type Keys } from './store/keys.js';
import { createPlanStore } from './store/plan.js';
import { createScripts, type Scripts } from './store/scripts.js';
import { createAgentChannel } from './agents/channel.js';
import { createAgentStore, type AgentStore } from './agents/store.js';
import { createContactStore } from './queue/contacts.js';
import { createOfferStore } from './queue/offers.js';
import { createRecordingStore } from './queue/recording-store.js';
import { createQueueService } from './queue/service.js';
import { staffingRows } from './queue/staffing.js';
import { createQueueStore, type QueueStore } from './queue/store.js';
import { createTwilioRest } from './queue/twilio-rest.js';
import { ensureTwilioQueueSizes } from './queue/twilio-queue-size.js';
import { createLivePlanner, currentRows, type LivePlanner } from './capacity/live.js';
import { createPrometheusClient } from './capacity/prometheus.js';
import { createUrls } from './urls.js';
import { registerWeb } from './web/index.js';
import type { AppConfig, AppContext, AppDeps } from './app/context.js';
import { RequestLog } from './app/logging.js';
import { registerRoutes } from './app/routes.js';

export type { AppConfig, AppContext, AppDeps } from './app/context.js';
export { loggerOptions, SLOW_REQUEST_MS } from './app/logging.js';

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

  const auth = authenticator(config, bus, scripts, keys);
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
  const { planner, planTargets } = planning({ app, config, deps, clock, keys, metrics, queues, agents });

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

  let queueSizes: { stop(): void } | undefined;
  app.addHook('onReady', async () => {
    for (const a of Object.values(config.center.agents)) {
      await agents.upsertAgent({ id: a.id, team: a.team, skills: a.skills, contact: a.contact });
    }
    // The agent index is kept by the agent scripts; recomputed once here so an upgraded deployment (or an
    // index changed by hand) is right before routing starts.
    await agents.rebuildIndex();
    // Queue entries of the format before (long field names) are rewritten before routing reads them.
    for (const queue of Object.keys(config.center.queues)) await queues.upgradeEntries(queue);
    service.start();
    planner?.start();
    queueSizes = ensureTwilioQueueSizes(config.center, rest, app.log);
  });
  app.addHook('preClose', async () => {
    await channel.drain('server shutting down');
  });
  app.addHook('onClose', async () => {
    queueSizes?.stop();
    planner?.stop();
    await service.stop();
    await channel.close();
    await recordFolds.idle();
    recordFolds.stop();
  });

  await registerRoutes(app, ctx, planTargets);
  return app;
}

/** Tokens and their rate limits: the buckets in Redis (the rateLimit script), shared by every instance, unless `store` is 'memory'. */
function authenticator(config: AppConfig, bus: EventBus, scripts: Scripts, keys: Keys): Authenticator {
  const { store: limitStore, ...limitOptions } = config.rateLimits ?? {};
  return createAuthenticator(
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
}

/**
 * The current interval's plan, computed by one instance from Prometheus (when configured) and read by every
 * instance's metrics, and the sources the scrape reads its gauges from.
 */
function planning(o: {
  app: FastifyInstance;
  config: AppConfig;
  deps: AppDeps;
  clock: Clock;
  keys: Keys;
  metrics: Metrics;
  queues: QueueStore;
  agents: AgentStore;
}): { planner: LivePlanner | undefined; planTargets: Record<string, { targetSeconds: number; targetServiceLevel: number }> } {
  const { app, config, deps, clock, keys, metrics, queues, agents } = o;
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
  return { planner, planTargets };
}
