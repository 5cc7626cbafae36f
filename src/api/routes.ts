/** The supervisor REST API (JSON, bearer token with supervisor scope). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CallStore } from '../store/calls.js';
import { requireScope, type Authenticator } from './auth.js';

export interface ApiDeps {
  auth: Authenticator;
  calls: CallStore;
  /** Live queue state for supervisors. */
  queueSnapshot(queue: string): Promise<{ waiting: number; callbacksPending: number; offered: number; longestWaitSeconds: number }>;
  queueNames: string[];
  /** Agents with state, for supervisors (agent ids belong here, never in metric labels). */
  agentList(): Promise<{ id: string; team: string; state: string; stateSince: number | null; breakReason: string | null; connected: boolean }[]>;
}

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

/** Register the supervisor API routes. */
export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const supervisor = requireScope(deps.auth, 'supervisor');
  app.get('/api/queues', { preHandler: supervisor }, async () => ({
    queues: await Promise.all(deps.queueNames.map(async (name) => ({ name, ...(await deps.queueSnapshot(name)) }))),
  }));
  app.get('/api/agents', { preHandler: supervisor }, async () => ({ agents: await deps.agentList() }));
  app.get('/api/voicemails', { preHandler: supervisor }, async (req, reply) => {
    const q = pageQuery.safeParse(req.query);
    if (!q.success) {
      const i = q.error.issues[0];
      return reply.code(400).send({ error: 'invalid_query', field: String(i?.path[0] ?? ''), message: i?.message });
    }
    return { voicemails: await deps.calls.listVoicemails(q.data.limit, q.data.offset) };
  });
}
