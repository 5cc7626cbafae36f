/**
 * Bearer tokens with scopes: `supervisor` (the supervisor API, wallboard, monitoring) and `agent`
 * (an agent's own socket and desk). A supervisor principal names who it is: a named supervisor from the
 * call-center file (role `supervisor` or `admin`), or `admin` for SUPERVISOR_TOKEN; only admins read the
 * audit. Tokens are compared as SHA-256 digests in constant time.
 * Rate limits per client address: token failures on any surface (`sign_in`), and requests to the
 * supervisor API (`supervisor_api`); both answer 429 with Retry-After. With `shared`, the buckets live in
 * Redis and every instance spends from the same budget (memory answers while Redis does not).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AgentConfig, SupervisorConfig } from '../config/callcenter.js';
import { replyError, sbError } from '../errors.js';
import {
  asyncBuckets,
  clientAddress,
  createSharedTokenBuckets,
  createTokenBuckets,
  type BucketOptions,
  type RateLimitArgs,
  type TokenBuckets,
} from './rate-limit.js';

export type Scope = 'agent' | 'supervisor';
export type SupervisorRole = 'supervisor' | 'admin';
export interface Principal {
  scope: Scope;
  agentId?: string;
  /** Supervisor scope: who (the id in the call-center file, or `admin`), their name and role. */
  supervisor?: { id: string; name: string; role: SupervisorRole };
}

/** The principal requireScope attached to the request. */
export function principalOf(req: FastifyRequest): Principal | undefined {
  return (req as FastifyRequest & { principal?: Principal }).principal;
}

export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export type Limiter = 'sign_in' | 'supervisor_api';
export const LIMITERS: readonly Limiter[] = ['sign_in', 'supervisor_api'];

export interface AuthLimitOptions {
  /** Failed tokens per client address (agent socket hello, API bearer). Default 10, then 1 per 6 s. */
  signIn?: BucketOptions;
  /** Supervisor API requests per client address. Default 60, then 10 per second. */
  supervisorApi?: BucketOptions;
  /** Called each time a limit refuses something (a counter with a bounded label). */
  onLimited?: (limiter: Limiter) => void;
  /** Keep the buckets in Redis, shared by every instance (src/store/lua/rateLimit-1.lua). */
  shared?: {
    run(key: string, args: RateLimitArgs): Promise<readonly [number, number]>;
    keyOf(limiter: Limiter, client: string): string;
    /** Redis failed or was slow: the answer came from this instance's memory. */
    onError?: (err: unknown) => void;
  };
}

export interface AuthLimits {
  signIn: TokenBuckets;
  supervisorApi: TokenBuckets;
  limited(limiter: Limiter): void;
}

export interface Authenticator {
  /** Who holds this token, or null. */
  identify(token: string | undefined): Principal | null;
  limits: AuthLimits;
}

/** Build the token table from the supervisor (admin) token, the configured agents and named supervisors. */
export function createAuthenticator(
  supervisorToken: string,
  agents: Record<string, AgentConfig>,
  limitOptions: AuthLimitOptions = {},
  supervisors: Record<string, SupervisorConfig> = {},
): Authenticator {
  const buckets = (limiter: Limiter, o: BucketOptions): TokenBuckets => {
    const shared = limitOptions.shared;
    if (!shared) return asyncBuckets(createTokenBuckets(o));
    return createSharedTokenBuckets({
      ...o,
      run: shared.run,
      keyOf: (client) => shared.keyOf(limiter, client),
      ...(shared.onError ? { onError: shared.onError } : {}),
    });
  };
  const limits: AuthLimits = {
    signIn: buckets('sign_in', limitOptions.signIn ?? { capacity: 10, refillPerSecond: 1 / 6 }),
    supervisorApi: buckets('supervisor_api', limitOptions.supervisorApi ?? { capacity: 60, refillPerSecond: 10 }),
    limited: (l) => limitOptions.onLimited?.(l),
  };
  const sup = sha256(supervisorToken);
  const named = Object.values(supervisors).map((x) => ({
    digest: Buffer.from(x.tokenSha256, 'hex'),
    who: { id: x.id, name: x.name, role: x.role },
  }));
  const table = Object.values(agents).map((a) => ({
    id: a.id,
    digest: a.tokenSha256 ? Buffer.from(a.tokenSha256, 'hex') : sha256(a.token ?? ''),
  }));
  return {
    limits,
    identify(token) {
      if (!token) return null;
      const d = sha256(token);
      if (same(d, sup)) return { scope: 'supervisor', supervisor: { id: 'admin', name: 'SUPERVISOR_TOKEN', role: 'admin' } };
      for (const x of named) if (same(d, x.digest)) return { scope: 'supervisor', supervisor: x.who };
      for (const a of table) if (same(d, a.digest)) return { scope: 'agent', agentId: a.id };
      return null;
    },
  };
}

/** The bearer token of a request (Authorization header, or `token` query for WebSocket upgrades). */
export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.startsWith('Bearer ')) return h.slice(7).trim();
  return undefined;
}

/** Answer 429 with Retry-After and count it. */
export async function tooMany(auth: Authenticator, limiter: Limiter, retryAfterSeconds: number, reply: FastifyReply): Promise<void> {
  auth.limits.limited(limiter);
  await replyError(
    reply,
    sbError('rate_limited', undefined, `too many requests; retry after ${retryAfterSeconds} s`, { limiter, retryAfterSeconds }),
  );
}

/**
 * A preHandler that requires one of the scopes; answers 401/403 with a short reason, 429 when the
 * client address has spent its supervisor-API or failed-token budget.
 */
export function requireScope(auth: Authenticator, ...scopes: Scope[]) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ip = clientAddress(req.raw);
    if (scopes.includes('supervisor')) {
      const t = await auth.limits.supervisorApi.take(ip);
      if (!t.ok) return tooMany(auth, 'supervisor_api', t.retryAfterSeconds, reply);
    }
    const gate = await auth.limits.signIn.check(ip);
    if (!gate.ok) return tooMany(auth, 'sign_in', gate.retryAfterSeconds, reply);
    const p = auth.identify(bearer(req));
    if (!p) {
      await auth.limits.signIn.take(ip);
      await replyError(reply, sbError('unauthorized'));
      return;
    }
    if (!scopes.includes(p.scope)) {
      await replyError(reply, sbError('forbidden', undefined, `requires scope ${scopes.join(' or ')}`));
      return;
    }
    (req as FastifyRequest & { principal?: Principal }).principal = p;
  };
}

/** requireScope('supervisor'), then the supervisor's role must be admin (403 otherwise). */
export function requireAdmin(auth: Authenticator) {
  const supervisor = requireScope(auth, 'supervisor');
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    await supervisor(req, reply);
    if (reply.sent) return;
    if (principalOf(req)?.supervisor?.role !== 'admin') {
      await replyError(reply, sbError('forbidden', undefined, 'requires the admin role'));
    }
  };
}
