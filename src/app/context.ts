/**
 * What the server is built from (AppConfig: settings; AppDeps: what tests and main.ts hand in) and what it
 * holds once built (AppContext, as `app.sb`), for src/app.ts and the route registration in src/app/.
 */
import type { FastifyServerOptions } from 'fastify';
import type { AuthLimitOptions, Authenticator } from '../access/auth.js';
import type { AgentChannel } from '../agents/channel.js';
import type { AgentStore } from '../agents/store.js';
import type { Clock } from '../clock.js';
import type { CenterConfig } from '../config/callcenter.js';
import type { EnvConfig } from '../config/env.js';
import type { EventBus } from '../events.js';
import type { Metrics } from '../metrics/index.js';
import type { QueueService } from '../queue/service.js';
import type { QueueStore } from '../queue/store.js';
import type { TwilioRest, TwilioRestOptions } from '../queue/twilio-rest.js';
import type { AuditLog, RecordStore, RecordSubscription } from '../records/index.js';
import type { CallStore } from '../store/calls.js';
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';
import type { Scripts } from '../store/scripts.js';
import type { Urls } from '../urls.js';
import type { WebOptions } from '../web/index.js';

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
