/**
 * Starts the process: the only reader of process.env. Validates the environment and the call-center
 * file, starts a local Redis when REDIS_URL is unset, builds the app and listens. SIGINT/SIGTERM drain
 * in-flight webhooks before exiting.
 */
import { join } from 'node:path';
import { buildApp, loggerOptions } from './app.js';
import { loadCenterConfigFile } from './config/callcenter.js';
import { ConfigError, loadEnv } from './config/env.js';
import { startLocalRedis, type LocalRedis } from './local-redis.js';
import { connectRedis } from './store/redis.js';

async function main(): Promise<void> {
  const env = loadEnv(process.env);
  const center = await loadCenterConfigFile(env.configPath);
  let local: LocalRedis | undefined;
  let redisUrl = env.redisUrl;
  if (!redisUrl && !env.redisClusterNodes) {
    local = await startLocalRedis(join(env.dataDir, 'redis'));
    redisUrl = local.url;
  }
  const redis = connectRedis({ url: redisUrl, clusterNodes: env.redisClusterNodes });
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
    },
    { redis, logger: loggerOptions(env.logLevel) },
  );
  for (const name of env.devDefaults) app.log.warn(`${name} is not set: using a development default (set it in production)`);
  if (local) app.log.info({ redis: redisUrl }, 'REDIS_URL not set: started a local redis-server with append-only persistence');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: draining in-flight requests');
    // Stop taking connections, tell agents to reconnect elsewhere, let in-flight webhooks finish; a
    // request that never ends cannot hold the process forever.
    const deadline = setTimeout(() => {
      app.log.error('shutdown did not finish in 25 s; exiting');
      process.exit(1);
    }, 25_000);
    deadline.unref();
    try {
      await app.close();
    } catch (err) {
      app.log.error({ err }, 'error while closing');
    }
    redis.disconnect();
    await local?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  await app.listen({ port: env.port, host: env.host });
  app.log.info(`Switchboard listening on ${env.host}:${env.port}; Twilio voice URL ${env.publicBaseUrl}/twilio/voice`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    console.error(`switchboard: ${e.message}`);
    process.exit(78);
  }
  console.error('switchboard: failed to start:', e);
  process.exit(1);
});
