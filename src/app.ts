/**
 * buildApp(config, deps): the whole server as a fastify instance, with nothing started. main.ts starts
 * the process; tests build a fresh app per test and use inject() or listen on port 0.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { CenterConfig, EnvConfig } from './config.js';
import { systemClock, type Clock } from './clock.js';
import { createEventBus, type EventBus } from './events.js';
import { createAuthenticator, type Authenticator } from './api/auth.js';
import { registerApiRoutes } from './api/routes.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { createCallStore, type CallStore } from './store/calls.js';
import { createKeys, type Keys } from './store/keys.js';
import { defineScripts, type RedisClient, type ScriptRunner } from './store/redis.js';
import { installWebhookInfra, type WebhookCore } from './webhooks/plugin.js';
import { registerIvrRoutes, type QueueGateway } from './webhooks/ivr-routes.js';
import { createUrls, type Urls } from './webhooks/urls.js';

export type AppConfig = Pick<
  EnvConfig,
  'publicBaseUrl' | 'twilioAuthToken' | 'twilioAccountSid' | 'twilioApiBaseUrl' | 'callerHashKey' | 'redisPrefix' | 'supervisorToken'
> & {
  center: CenterConfig;
  /** Live-call webhooks answer fallback TwiML after this long (default 1500 ms, under the 2 s promise). */
  webhookBudgetMs?: number;
  instanceId?: string | undefined;
};

export interface AppDeps {
  redis: RedisClient;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  /** Extra wiring (queue, agents) added by later modules; tests may pass their own. */
  queue?: QueueGateway;
}

export interface AppContext {
  config: AppConfig;
  redis: RedisClient;
  clock: Clock;
  bus: EventBus;
  keys: Keys;
  urls: Urls;
  scripts: Record<string, ScriptRunner>;
  calls: CallStore;
  metrics: Metrics;
  auth: Authenticator;
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

/** Build the server. Nothing listens until the caller calls `listen`. */
export async function buildApp(config: AppConfig, deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: deps.logger ?? false,
    trustProxy: true,
    bodyLimit: 256 * 1024,
  });
  const bus = createEventBus((err) => app.log.error({ err }, 'event subscriber failed'));
  const keys = createKeys(config.redisPrefix);
  const urls = createUrls(config.publicBaseUrl);
  const scripts = defineScripts(deps.redis);
  const calls = createCallStore(deps.redis, keys, scripts, config.center.callTtlSeconds);
  const metrics = createMetrics({ center: config.center, bus });
  deps.redis.on('error', () => bus.service({ type: 'redis.error', op: 'connection' }));

  const auth = createAuthenticator(config.supervisorToken, config.center.agents);
  const ctx: AppContext = { config, redis: deps.redis, clock, bus, keys, urls, scripts, calls, metrics, auth };
  app.decorate('sb', ctx);

  const core: WebhookCore = {
    center: config.center,
    urls,
    authToken: config.twilioAuthToken,
    bus,
    budgetMs: config.webhookBudgetMs ?? 1500,
  };

  await app.register(async (twilioScope) => {
    installWebhookInfra(twilioScope, core);
    registerIvrRoutes(twilioScope, { core, clock, calls, callerHashKey: config.callerHashKey, queue: deps.queue });
  });

  registerApiRoutes(app, { auth, calls });

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
