import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';
import type { RedisClient } from '../../src/store/redis.js';

/** A unique key prefix per test, so tests share one redis-server without seeing each other. */
export function uniquePrefix(name = 't'): string {
  return `sbt:${name}:${randomBytes(4).toString('hex')}:`;
}

export function redisUrl(): string {
  const url = inject('redisUrl');
  if (!url) throw new Error('this test needs a standalone redis-server (it runs in the cluster project, which has none)');
  return url;
}

/** The cluster's nodes (host:port) when this test file runs in the `cluster` vitest project, else undefined. */
export function clusterNodes(): string[] | undefined {
  const nodes = inject('redisClusterNodes');
  return nodes && nodes.length ? nodes : undefined;
}

/**
 * A client for the test's Redis: one connection to the standalone server, or an ioredis Cluster when the
 * file runs in the `cluster` project (vitest.config.ts), so the same test bodies cover both.
 */
export function newRedis(): RedisClient {
  const nodes = clusterNodes();
  if (nodes) {
    return new Cluster(
      nodes.map((n) => {
        const [host, port] = n.split(':');
        return { host: host!, port: Number(port) };
      }),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
  }
  return new Redis(redisUrl(), { maxRetriesPerRequest: 1, lazyConnect: false });
}

/** Poll `fn` in real time until it returns true (Redis reconnecting happens in real time); throws after `ms`. */
export async function eventually(fn: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
