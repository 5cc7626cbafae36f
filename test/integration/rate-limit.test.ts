/**
 * The shared rate-limit bucket (src/store/lua/rateLimit-1.lua, through its typed method and createSharedTokenBuckets) on the
 * test's Redis, standalone or Cluster (one key per limiter and client, so any slot will do): two holders
 * spend from one bucket, refill follows the clock handed in or the Redis server's own, and when the
 * client fails each holder answers from memory, which knows that holder's own spends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSharedTokenBuckets } from '../../src/access/rate-limit.js';
import { createKeys } from '../../src/store/keys.js';
import { createScripts } from '../../src/store/scripts.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('shared token buckets (src/access/rate-limit.ts) on a real Redis', () => {
  it("spend from one bucket per key across holders; fall back to memory (with this holder's spends) when the client fails", async () => {
    const c = newRedis();
    cleanup.push(() => c.disconnect());
    const scripts = createScripts(c);
    const keys = createKeys(uniquePrefix('rl'));
    let ms = 5_000_000;
    const errors: unknown[] = [];
    const make = () =>
      createSharedTokenBuckets({
        capacity: 2,
        refillPerSecond: 0.5,
        now: () => ms,
        run: (key, args) => scripts.rateLimit([key], args),
        keyOf: (client) => keys.rateLimit('test', client),
        backoffMs: 0,
        // A loaded CI machine can take longer than the default 250 ms for the first call (connect, script
        // load); the fallback when Redis fails is checked below, with the client closed.
        timeoutMs: 10_000,
        onError: (e) => errors.push(e),
      });
    const one = make();
    const two = make();
    expect(await one.take('x')).toEqual({ ok: true });
    expect(await two.check('x')).toEqual({ ok: true });
    expect(await two.take('x')).toEqual({ ok: true });
    expect(await one.check('x')).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(await one.take('x')).toEqual({ ok: false, retryAfterSeconds: 2 });
    ms += 2000;
    expect(await two.take('x')).toEqual({ ok: true });
    expect(await one.take('x')).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(errors).toEqual([]);
    // Costs above one and the Redis clock (no `now`): a fresh bucket grants a burst of exactly the capacity.
    const wall = createSharedTokenBuckets({
      capacity: 5,
      refillPerSecond: 0.001,
      run: (key, args) => scripts.rateLimit([key], args),
      keyOf: (client) => keys.rateLimit('wall', client),
      timeoutMs: 10_000,
    });
    expect(await wall.take('y', 3)).toEqual({ ok: true });
    expect((await wall.take('y', 3)).ok).toBe(false);
    expect(await wall.take('y', 2)).toEqual({ ok: true });
    expect((await wall.take('y')).ok).toBe(false);

    c.disconnect();
    // Memory answers from this holder's own spends: `one` spent 1 of x's 2 tokens 2 s ago (full again),
    // `two` spent one then, and one more just now (1 left).
    expect(await one.take('x')).toEqual({ ok: true });
    expect(await one.take('x')).toEqual({ ok: true });
    expect(await one.take('x')).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(await two.take('x')).toEqual({ ok: true });
    expect(await two.take('x')).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(await one.take('fresh')).toEqual({ ok: true });
    expect(errors.length).toBeGreaterThanOrEqual(3);
  });
});
