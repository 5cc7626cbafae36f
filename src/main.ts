/**
 * Starts the process: the only reader of process.env. Validates the environment and the call-center
 * file (a public PUBLIC_BASE_URL refuses development secrets), starts a local Redis when REDIS_URL is
 * unset, builds the app and listens.
 *
 * Stopping (close-with-grace): SIGINT/SIGTERM drain in-flight webhooks and exit 0; an uncaught exception
 * or unhandled rejection is logged, drains what it can and exits 1; a second signal exits at once (1);
 * a drain longer than DRAIN_MS exits 1. Whatever start-up had started is stopped on every path, a
 * failed start-up included (the local redis-server above all: see src/local-redis.ts).
 * Exit codes: 0 stopped, 1 failure or crash, 78 configuration error (EX_CONFIG).
 */
import { join } from 'node:path';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp, loggerOptions } from './app.js';
import { loadCenterConfigFile } from './config/callcenter.js';
import { refuseDevelopmentSecrets } from './config/deployment.js';
import { ConfigError, loadEnv } from './config/env.js';
import { startLocalRedis, type LocalRedis } from './local-redis.js';
import { connectRedis, whenReady, type RedisClient } from './store/redis.js';

/** The longest a drain may take before the process exits anyway (docker-compose.yml's stop_grace_period is above it). */
const DRAIN_MS = 25_000;
const EX_CONFIG = 78;
/** How long start-up waits for Redis (an external one may come up after the server) before it gives up. */
const REDIS_READY_TIMEOUT_MS = 60_000;

/** What start-up has started so far, stopped in reverse order by `stopAll`. */
interface Started {
  local?: LocalRedis;
  redis?: RedisClient;
  app?: FastifyInstance;
}

const started: Started = {};
let stopping: Promise<void> | undefined;

function stopAll(): Promise<void> {
  stopping ??= (async () => {
    // Stop taking connections, tell agents to reconnect elsewhere, let in-flight webhooks finish.
    try {
      await started.app?.close();
    } catch (err) {
      started.app?.log.error({ err }, 'error while closing');
    }
    started.redis?.disconnect();
    await started.local?.stop();
  })();
  return stopping;
}

const log = {
  error: (msg: unknown, ...rest: unknown[]): void => {
    if (started.app) started.app.log.error(typeof msg === 'string' ? msg : { err: msg }, ...rest.map(String));
    else console.error('switchboard:', msg, ...rest);
  },
};

async function main(): Promise<void> {
  // Installed first, so a signal or a crash during start-up also stops what has started.
  closeWithGrace(
    {
      delay: DRAIN_MS,
      logger: log,
      onSecondSignal: (signal) => log.error(`second ${signal}: exiting now without draining`),
      onTimeout: (ms) => log.error(`shutdown did not finish in ${ms / 1000} s; exiting`),
    },
    async ({ signal, err }) => {
      if (err) {
        if (started.app) started.app.log.fatal({ err }, 'crashed: draining and exiting');
        else console.error('switchboard: crashed:', err);
      } else if (started.app) {
        started.app.log.info({ signal }, 'shutting down: draining in-flight requests');
      }
      await stopAll();
    },
  );

  const env = loadEnv(process.env);
  const center = await loadCenterConfigFile(env.configPath);
  refuseDevelopmentSecrets(env, center.agents);
  let redisUrl = env.redisUrl;
  if (!redisUrl && !env.redisClusterNodes) {
    started.local = await startLocalRedis(join(env.dataDir, 'redis'));
    redisUrl = started.local.url;
  }
  const redis = connectRedis({ url: redisUrl, clusterNodes: env.redisClusterNodes });
  started.redis = redis;
  await whenReady(redis, REDIS_READY_TIMEOUT_MS);
  const app = await buildApp(
    {
      center,
      publicBaseUrl: env.publicBaseUrl,
      twilioAuthToken: env.twilioAuthToken,
      twilioAccountSid: env.twilioAccountSid,
      twilioApiBaseUrl: env.twilioApiBaseUrl,
      callerHashKey: env.callerHashKey,
      redisPrefix: env.redisPrefix,
      supervisorToken: env.supervisorToken,
      instanceId: env.instanceId,
      prometheusUrl: env.prometheusUrl,
      twilioApiKeySid: env.twilioApiKeySid,
      twilioApiKeySecret: env.twilioApiKeySecret,
    },
    { redis, logger: loggerOptions(env.logLevel) },
  );
  started.app = app;
  for (const name of env.devDefaults) app.log.warn(`${name} is not set: using a development default (set it in production)`);
  if (started.local) app.log.info({ redis: redisUrl }, 'REDIS_URL not set: started a local redis-server with append-only persistence');

  await app.listen({ port: env.port, host: env.host });
  app.log.info(`Switchboard listening on ${env.host}:${env.port}; Twilio voice URL ${env.publicBaseUrl}/twilio/voice`);
}

main().catch(async (e: unknown) => {
  if (e instanceof ConfigError) console.error(`switchboard: ${e.message}`);
  else console.error('switchboard: failed to start:', e);
  await stopAll();
  process.exit(e instanceof ConfigError ? EX_CONFIG : 1);
});
