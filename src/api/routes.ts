/** The supervisor REST API (JSON, bearer token with supervisor scope). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { agentsForServiceLevel, erlangA, erlangC } from '../capacity/erlang.js';
import { fromZod, replyError } from '../errors.js';
import type { CallStore } from '../store/calls.js';
import { requireScope, type Authenticator } from '../access/auth.js';

export interface ApiDeps {
  auth: Authenticator;
  calls: CallStore;
  /** Live queue state for supervisors. */
  queueSnapshot(queue: string): Promise<{ waiting: number; callbacksPending: number; offered: number; longestWaitSeconds: number }>;
  queueNames: string[];
  /** Agents with state, for supervisors (agent ids belong here, never in metric labels). */
  agentList(): Promise<
    { id: string; team: string; state: string; stateSince: number | null; breakReason: string | null; connected: boolean }[]
  >;
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
  // Erlang C/A for planners: the same numbers as `npm run capacity`.
  const capacityQuery = z.object({
    arrivalsPerHour: z.coerce.number().min(0).max(1_000_000),
    ahtSeconds: z.coerce.number().positive().max(86_400),
    targetSeconds: z.coerce.number().min(0).max(86_400).default(20),
    targetServiceLevel: z.coerce.number().gt(0).lt(1).default(0.8),
    agents: z.coerce.number().int().min(1).max(10_000).optional(),
    patienceSeconds: z.coerce.number().positive().max(86_400).optional(),
  });
  app.get('/api/capacity', { preHandler: supervisor }, async (req, reply) => {
    const q = capacityQuery.safeParse(req.query);
    if (!q.success) return replyError(reply, fromZod(q.error, '(query)'));
    const o = q.data;
    const agents =
      o.agents ??
      agentsForServiceLevel({
        arrivalsPerHour: o.arrivalsPerHour,
        ahtSeconds: o.ahtSeconds,
        targetSeconds: o.targetSeconds,
        targetServiceLevel: o.targetServiceLevel,
        maxAgents: 10_000,
        ...(o.patienceSeconds ? { patienceSeconds: o.patienceSeconds } : {}),
      }).agents;
    const base = {
      arrivalsPerHour: o.arrivalsPerHour,
      ahtSeconds: o.ahtSeconds,
      targetSeconds: o.targetSeconds,
      agents: Math.max(1, agents),
    };
    const r = o.patienceSeconds
      ? { model: 'erlang_a', ...erlangA({ ...base, patienceSeconds: o.patienceSeconds }) }
      : { model: 'erlang_c', ...erlangC(base) };
    return JSON.parse(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
  });
  app.get('/api/voicemails', { preHandler: supervisor }, async (req, reply) => {
    const q = pageQuery.safeParse(req.query);
    if (!q.success) return replyError(reply, fromZod(q.error, '(query)'));
    return { voicemails: await deps.calls.listVoicemails(q.data.limit, q.data.offset) };
  });
}
