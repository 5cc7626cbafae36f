/**
 * Token buckets keyed by client (in memory, per instance): `take` spends a token and says how long to
 * wait when none is left. The number of keys is bounded so a flood of addresses cannot grow memory.
 * Imports nothing of ours.
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

export interface TokenBuckets {
  /** Spend `cost` tokens for `key`. */
  take(key: string, cost?: number): Take;
  /** Would `cost` tokens be available now (nothing is spent)? */
  check(key: string, cost?: number): Take;
  size(): number;
}

export function createTokenBuckets(o: BucketOptions): TokenBuckets {
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
    const last = xff.split(',').map((s) => s.trim()).filter(Boolean).at(-1);
    if (last && last.length <= 64) return last;
  }
  return peer;
}
