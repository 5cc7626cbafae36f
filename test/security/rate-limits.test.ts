/**
 * Rate limits, per client address: the supervisor API answers 429 with Retry-After once a client has
 * spent its budget, failed tokens (API bearer or agent hello) block further sign-ins from that address,
 * and the agent socket's upgrade itself is refused with 429 while the block lasts. Each refusal is
 * counted in switchboard_rate_limited_total{limiter}. Buckets run on a test clock, so refill is exact.
 * The buckets live in Redis: two instances on one Redis give a client one budget, and a Redis that
 * stops answering leaves each instance limiting from memory (never a refusal or a 5xx of its own).
 */
import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/store/redis.js';
import { makeApp, sample, SUPERVISOR_TOKEN, type TestApp } from '../helpers/app.js';
import { newRedis } from '../helpers/redis.js';
import { startRedis } from '../setup/global-redis.js';
import { Sock } from '../helpers/ws.js';
import { expectSecurityHeaders } from '../helpers/security.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function limited(o: { api?: number; signIn?: number }) {
  let ms = 1_000_000;
  const now = () => ms;
  t = await makeApp({
    config: {
      rateLimits: {
        supervisorApi: { capacity: o.api ?? 1000, refillPerSecond: 1, now },
        signIn: { capacity: o.signIn ?? 1000, refillPerSecond: 0.1, now },
      },
    },
  });
  return { t, advance: (by: number) => (ms += by) };
}

const get = (app: FastifyInstance, url: string, token: string | undefined, ip = '203.0.113.10', peer = '127.0.0.1') =>
  app.inject({
    method: 'GET',
    url,
    remoteAddress: peer,
    headers: { 'x-forwarded-for': ip, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

describe('rate limits', () => {
  it('supervisor API: 429 with Retry-After after the burst, per client, refills, counted', async () => {
    const { t, advance } = await limited({ api: 5 });
    for (let i = 0; i < 5; i++) expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(200);
    const refused = await get(t.app, '/api/queues', SUPERVISOR_TOKEN);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBe(1);
    expect(refused.json()).toMatchObject({ error: 'rate_limited', limiter: 'supervisor_api', retryAfterSeconds: 1 });
    expectSecurityHeaders(refused, '429');
    expect((await get(t.app, '/api/agents', SUPERVISOR_TOKEN)).statusCode).toBe(429);
    // Another client behind the same proxy is not affected.
    expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN, '203.0.113.11')).statusCode).toBe(200);
    // A client talking to us directly cannot dodge its limit by writing X-Forwarded-For.
    for (let i = 0; i < 5; i++)
      expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN, `198.51.100.${i}`, '192.0.2.50')).statusCode).toBe(200);
    expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN, '198.51.100.99', '192.0.2.50')).statusCode).toBe(429);
    advance(1000);
    expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(200);
    expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(429);
    const m = await t.metrics();
    expect(sample(m, 'switchboard_rate_limited_total', { limiter: 'supervisor_api' })).toBe(4);
    expect(sample(m, 'switchboard_rate_limited_total', { limiter: 'sign_in' })).toBe(0);
    // Public routes are not limited.
    for (let i = 0; i < 20; i++) expect((await get(t.app, '/health', undefined)).statusCode).toBe(200);
  });

  it('failed tokens on the API block that address, even with a good token, until refill', async () => {
    const { t, advance } = await limited({ signIn: 3 });
    for (let i = 0; i < 3; i++) expect((await get(t.app, '/api/queues', `guess-${i}`)).statusCode).toBe(401);
    const blocked = await get(t.app, '/api/queues', SUPERVISOR_TOKEN);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ limiter: 'sign_in' });
    expect(Number(blocked.headers['retry-after'])).toBe(10);
    expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN, '203.0.113.77')).statusCode).toBe(200);
    advance(10_000);
    expect((await get(t.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(200);
    expect(sample(await t.metrics(), 'switchboard_rate_limited_total', { limiter: 'sign_in' })).toBe(1);
  });

  it('agent sign-in: failed hellos per address, then rate_limited, then the upgrade is refused with 429', async () => {
    const { t, advance } = await limited({ signIn: 3 });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    const url = `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/agent/ws`;
    const from = { 'x-forwarded-for': '203.0.113.50' };

    // A supervisor token is not an agent token; nor is a guess.
    for (const token of [SUPERVISOR_TOKEN, 'guess-1', 'guess-2']) {
      const s = await Sock.open(url, from);
      expect(await s.request(JSON.stringify({ type: 'hello', token }))).toMatchObject({
        type: 'error',
        code: 'unauthorized',
        field: 'token',
      });
      expect((await s.whenClosed()).code).toBe(4401);
    }
    const refused = await Sock.open(url, from).then(
      () => undefined,
      (e: { statusCode?: number; headers?: Record<string, string> }) => e,
    );
    expect(refused?.statusCode).toBe(429);
    expect(Number(refused?.headers?.['retry-after'])).toBe(10);
    // Another agent's address signs in fine.
    const bob = await Sock.open(url, { 'x-forwarded-for': '203.0.113.51' });
    expect(await bob.request(JSON.stringify({ type: 'hello', token: 'bob-demo-token' }))).toMatchObject({ type: 'welcome' });
    bob.close();
    advance(10_000);
    const alice = await Sock.open(url, from);
    expect(await alice.request(JSON.stringify({ type: 'hello', token: 'alice-demo-token' }))).toMatchObject({ type: 'welcome' });
    alice.close();
    expect(sample(await t.metrics(), 'switchboard_rate_limited_total', { limiter: 'sign_in' })).toBe(1);
  });

  it('a socket that never signs in is closed after 16 messages', async () => {
    const { t } = await limited({});
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    const s = await Sock.open(`ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/agent/ws`);
    for (let i = 0; i < 15; i++)
      expect(await s.request(JSON.stringify({ type: 'set_state', state: 'available' }))).toMatchObject({ code: 'unauthorized' });
    expect(await s.request(JSON.stringify({ type: 'set_state', state: 'available' }))).toMatchObject({ code: 'unauthorized' });
    expect((await s.whenClosed()).code).toBe(4401);
  });
});

/** Two apps on one Redis and one key prefix: two instances of one deployment. */
async function twoInstances(store: 'redis' | 'memory', o: { api?: number; signIn?: number } = {}) {
  let ms = 1_000_000;
  const now = () => ms;
  const rateLimits = {
    store,
    supervisorApi: { capacity: o.api ?? 1000, refillPerSecond: 1, now },
    signIn: { capacity: o.signIn ?? 1000, refillPerSecond: 0.1, now },
  };
  const redis = newRedis();
  const a = await makeApp({ redis, config: { rateLimits } });
  const b = await makeApp({ redis, config: { rateLimits, redisPrefix: a.prefix, instanceId: 'b' } });
  cleanup.push(async () => {
    await a.close();
    await b.close();
    redis.disconnect();
  });
  return { a, b, redis, advance: (by: number) => (ms += by) };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('rate limits shared by instances (Redis)', () => {
  it('two instances on one Redis give a client one budget, not two; counted where refused; the bucket key expires', async () => {
    const { a, b, redis, advance } = await twoInstances('redis', { api: 6 });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await get(i % 2 ? b.app : a.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    // Another client has its own budget on both.
    expect((await get(b.app, '/api/queues', SUPERVISOR_TOKEN, '203.0.113.11')).statusCode).toBe(200);
    // One key per limiter and client, with a TTL (it is gone once the bucket would be full again).
    const key = a.app.sb.keys.rateLimit('supervisor_api', '203.0.113.10');
    expect(key).toBe(b.app.sb.keys.rateLimit('supervisor_api', '203.0.113.10'));
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    advance(1000);
    expect((await get(b.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(200);
    expect((await get(a.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(429);
    const refusedA = sample(await a.metrics(), 'switchboard_rate_limited_total', { limiter: 'supervisor_api' })!;
    const refusedB = sample(await b.metrics(), 'switchboard_rate_limited_total', { limiter: 'supervisor_api' })!;
    expect([refusedA, refusedB]).toEqual([3, 2]);
  });

  it('in memory (store: memory), each instance has its own budget: N instances, N times the burst', async () => {
    const { a, b } = await twoInstances('memory', { api: 6 });
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await get(i % 2 ? b.app : a.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(12);
  });

  it('failed tokens on one instance block sign-ins from that address on the other (API, agent socket upgrade)', async () => {
    const { a, b, advance } = await twoInstances('redis', { signIn: 3 });
    await b.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = b.app.server.address();
    const urlB = `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/agent/ws`;
    const from = { 'x-forwarded-for': '203.0.113.10' };
    for (let i = 0; i < 2; i++) expect((await get(a.app, '/api/queues', `guess-${i}`)).statusCode).toBe(401);
    const s = await Sock.open(urlB, from);
    expect(await s.request(JSON.stringify({ type: 'hello', token: 'guess-2' }))).toMatchObject({ code: 'unauthorized' });
    const refused = await Sock.open(urlB, from).then(
      () => undefined,
      (e: { statusCode?: number }) => e,
    );
    expect(refused?.statusCode).toBe(429);
    expect((await get(a.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(429);
    expect((await get(b.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(429);
    advance(10_000);
    expect((await get(b.app, '/api/queues', SUPERVISOR_TOKEN)).statusCode).toBe(200);
  });

  it('a Redis blip (the server stopped) answers from memory: no 5xx, no refusal it caused; the limit still holds per instance', async () => {
    const r = await startRedis();
    cleanup.push(
      () => r.stop(),
      () => rmSync(r.dir, { recursive: true, force: true }),
    );
    const redis = connectRedis({ url: r.url, commandTimeoutMs: 2000 });
    cleanup.push(() => redis.disconnect());
    const ms = 1_000_000;
    const t = await makeApp({ redis, config: { rateLimits: { signIn: { capacity: 3, refillPerSecond: 0.1, now: () => ms } } } });
    cleanup.push(() => t.close());
    // One failed token while Redis answers: spent in Redis, mirrored in memory.
    expect((await get(t.app, '/api/queues', 'guess-0')).statusCode).toBe(401);
    expect(await redis.hget(t.app.sb.keys.rateLimit('sign_in', '203.0.113.10'), 't')).toBe('2');

    r.proc.kill('SIGSTOP');
    try {
      // Redis hangs: the limiter gives up on it and answers from memory, which knows of the first failure.
      expect((await get(t.app, '/api/queues', 'guess-1')).statusCode).toBe(401);
      expect((await get(t.app, '/api/queues', 'guess-2')).statusCode).toBe(401);
      const blocked = await get(t.app, '/api/queues', SUPERVISOR_TOKEN);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json()).toMatchObject({ limiter: 'sign_in' });
      // Other addresses are not refused because Redis is away.
      for (let i = 0; i < 3; i++) expect((await get(t.app, '/api/queues', `guess-${i}`, `198.51.100.${i}`)).statusCode).toBe(401);
    } finally {
      r.proc.kill('SIGCONT');
    }
    const m = await t.metrics();
    expect(sample(m, 'switchboard_redis_errors_total', { op: 'rate_limit' })).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'switchboard_rate_limited_total', { limiter: 'sign_in' })).toBe(1);
  });
});
