/**
 * Bearer tokens with scopes: `supervisor` (the supervisor API, wallboard, monitoring) and `agent`
 * (an agent's own socket and desk). Tokens are compared as SHA-256 digests in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AgentConfig } from '../config.js';

export type Scope = 'agent' | 'supervisor';
export interface Principal {
  scope: Scope;
  agentId?: string;
}

export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface Authenticator {
  /** Who holds this token, or null. */
  identify(token: string | undefined): Principal | null;
}

/** Build the token table from the supervisor token and the configured agents. */
export function createAuthenticator(supervisorToken: string, agents: Record<string, AgentConfig>): Authenticator {
  const sup = sha256(supervisorToken);
  const table = Object.values(agents).map((a) => ({
    id: a.id,
    digest: a.tokenSha256 ? Buffer.from(a.tokenSha256, 'hex') : sha256(a.token ?? ''),
  }));
  return {
    identify(token) {
      if (!token) return null;
      const d = sha256(token);
      if (same(d, sup)) return { scope: 'supervisor' };
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

/** A preHandler that requires one of the scopes; answers 401/403 with a short reason. */
export function requireScope(auth: Authenticator, ...scopes: Scope[]) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const p = auth.identify(bearer(req));
    if (!p) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required' });
      return;
    }
    if (!scopes.includes(p.scope)) {
      await reply.code(403).send({ error: 'forbidden', message: `requires scope ${scopes.join(' or ')}` });
      return;
    }
    (req as FastifyRequest & { principal?: Principal }).principal = p;
  };
}
