import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** A unique key prefix per test, so tests share one redis-server without seeing each other. */
export function uniquePrefix(name = 't'): string {
  return `sbt:${name}:${randomBytes(4).toString('hex')}:`;
}

export function redisUrl(): string {
  return inject('redisUrl');
}

export function newRedis(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: 1, lazyConnect: false });
}
