/**
 * Token buckets keyed by client: `take` spends a token and says how long to wait when none is left.
 * Two kinds: in memory, per instance (`createTokenBuckets`; the number of keys is bounded so a flood of
 * addresses cannot grow memory), and shared by every instance through one Redis key per limiter and
 * client (`createSharedTokenBuckets`, the script src/store/lua/rateLimit-1.lua), which falls back to the
 * in-memory buckets whenever Redis does not answer: a Redis blip must never turn into refusals or 5xx.
 * Imports nothing of ours (the script runner and key names are handed in).
 */
import type { IncomingMessage } from 'node:http';

export interface BucketOptions {
  /** Burst size. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Keys kept at most (the oldest are forgotten first). Default 10 000. */
  maxKeys?: number;
  /** Milliseconds; wall time by default (rate limits are about real time, not the call clock). */
  now?: () => number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

/** What the limits' users see: shared or not, an answer may need a round trip. */
export interface TokenBuckets {
  /** Spend `cost` tokens for `key`. */
  take(key: string, cost?: number): Promise<Take>;
  /** Would `cost` tokens be available now (nothing is spent)? */
  check(key: string, cost?: number): Promise<Take>;
}

/** In-memory buckets answer at once. */
export interface LocalTokenBuckets {
  take(key: string, cost?: number): Take;
  check(key: string, cost?: number): Take;
  size(): number;
}

export function createTokenBuckets(o: BucketOptions): LocalTokenBuckets {
  const now = o.now ?? Date.now;
  const maxKeys = o.maxKeys ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const level = (key: string): { tokens: number; at: number } => {
    const t = now();
    const b = buckets.get(key);
    if (!b) return { tokens: o.capacity, at: t };
    return { tokens: Math.min(o.capacity, b.tokens + ((t - b.at) / 1000) * o.refillPerSecond), at: t };
  };
  const answer = (tokens: number, cost: number): Take =>
    tokens >= cost ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / o.refillPerSecond)) };

  return {
    take(key, cost = 1) {
      const b = level(key);
      const a = answer(b.tokens, cost);
      if (a.ok) b.tokens -= cost;
      buckets.delete(key);
      // A full bucket is the same as no bucket: forget it.
      if (b.tokens < o.capacity) buckets.set(key, b);
      while (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      return a;
    },
    check(key, cost = 1) {
      return answer(level(key).tokens, cost);
    },
    size: () => buckets.size,
  };
}

/** The in-memory buckets behind the async interface. */
export function asyncBuckets(local: LocalTokenBuckets): TokenBuckets {
  return {
    take: async (key, cost) => local.take(key, cost),
    check: async (key, cost) => local.check(key, cost),
  };
}

/** The bucket script's ARGV, in its header's order. */
export type RateLimitArgs = readonly [capacity: number, perSecond: number, cost: number, mode: 'take' | 'check', now: number | ''];

export interface SharedBucketOptions extends BucketOptions {
  /**
   * Runs the bucket script on one key (the `rateLimit` method of src/store/scripts.ts, rateLimit-1.lua):
   * resolves to `[ok 0|1, retryAfterMs]`. `now` is '' to use Redis's own clock.
   */
  run(key: string, args: RateLimitArgs): Promise<readonly [number, number]>;
  /** The Redis key of one client's bucket. */
  keyOf(client: string): string;
  /** Give up on Redis after this long and answer from memory (default 250 ms). */
  timeoutMs?: number;
  /** After a failure, answer from memory for this long before trying Redis again (default 1000 ms). */
  backoffMs?: number;
  /** Called on each Redis failure or timeout (the answer then comes from memory). */
  onError?: (err: unknown) => void;
}

/**
 * Buckets shared by every instance on one Redis, so N instances give a client the budget of one.
 * Every spend Redis grants is mirrored in this instance's in-memory buckets; when Redis fails or is slow
 * the answer comes from those (a per-instance limit, never a refusal caused by the failure itself), and
 * Redis is left alone for `backoffMs` so a dead Redis costs each request no more than a map lookup.
 */
export function createSharedTokenBuckets(o: SharedBucketOptions): TokenBuckets & { local: LocalTokenBuckets } {
  const local = createTokenBuckets(o);
  const timeoutMs = o.timeoutMs ?? 250;
  const backoffMs = o.backoffMs ?? 1000;
  // The backoff runs on wall time whatever clock the buckets use.
  let redisAfter = 0;

  const shared = async (mode: 'take' | 'check', key: string, cost: number): Promise<Take | undefined> => {
    if (Date.now() < redisAfter) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const run = o.run(o.keyOf(key), [o.capacity, o.refillPerSecond, cost, mode, o.now ? o.now() : '']);
      run.catch(() => {}); // a failure after the timeout has nobody left to tell
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`rate limit: no answer from Redis in ${timeoutMs} ms`)), timeoutMs);
      });
      const r = await Promise.race([run, timeout]);
      if (!Array.isArray(r) || r.length < 2) throw new Error('rate limit: unexpected script reply');
      const [ok, retryAfterMs] = r.map(Number) as [number, number];
      return ok === 1 ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    } catch (err) {
      redisAfter = Date.now() + backoffMs;
      o.onError?.(err);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    local,
    async take(key, cost = 1) {
      const r = await shared('take', key, cost);
      if (!r) return local.take(key, cost);
      // Mirror the spend, so memory knows this instance's share if Redis goes away.
      if (r.ok) local.take(key, cost);
      return r;
    },
    async check(key, cost = 1) {
      return (await shared('check', key, cost)) ?? local.check(key, cost);
    },
  };
}

const PRIVATE = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|f[cd][0-9a-f]{2}:|::ffff:(127|10|192\.168)\.)/i;

/**
 * The client address a limit is keyed on: the socket's peer, or, when the peer is a private address
 * (a proxy or load balancer in front of us), the last hop it appended to X-Forwarded-For. Hops further
 * left are written by the client and not trusted.
 */
export function clientAddress(req: IncomingMessage): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  const xff = req.headers['x-forwarded-for'];
  if (typeof xff === 'string' && PRIVATE.test(peer)) {
    const last = xff
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .at(-1);
    if (last && last.length <= 64) return last;
  }
  return peer;
}
