/**
 * Supervisor monitoring of live calls (supervisor scope only): list the connected calls, and listen
 * (muted), coach (heard only by the agent) or barge (heard by everyone) on one, or stop. The supervisor's
 * phone, SIP address or Twilio Client identity is dialed into the call's conference; changing the mode
 * updates the same leg. Every action is logged with the call and the mode (never the number dialed).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SwitchboardError } from '../errors.js';
import type { MonitorMode } from '../events.js';
import { requireScope, type Authenticator } from './auth.js';

export interface MonitorDeps {
  auth: Authenticator;
  monitor(r: { callSid: string; mode: MonitorMode; to: string; by: string }): Promise<{ legSid: string | null; queue: string }>;
  liveCalls(): Promise<{ callSid: string; queue: string; agentId: string; state: string; since: number | null; monitors: { to: string; mode: MonitorMode }[] }[]>;
}

const callSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'CA followed by 32 hex digits');
const body = z
  .object({
    mode: z.enum(['listen', 'coach', 'barge', 'stop']),
    to: z.string().regex(/^(\+[1-9]\d{6,14}|client:[A-Za-z0-9_.-]{1,64}|sips?:[^\s<>"]{3,200})$/, 'an E.164 number, client:identity or sip: address'),
  })
  .strict();

/** Register /api/calls and /api/calls/:callSid/monitor. */
export function registerMonitorRoutes(app: FastifyInstance, deps: MonitorDeps): void {
  const supervisor = requireScope(deps.auth, 'supervisor');
  app.get('/api/calls', { preHandler: supervisor }, async () => ({ calls: await deps.liveCalls() }));
  app.post('/api/calls/:callSid/monitor', { preHandler: supervisor }, async (req, reply) => {
    const sid = callSid.safeParse((req.params as { callSid?: unknown }).callSid);
    if (!sid.success) return reply.code(400).send({ error: 'invalid_params', field: 'callSid', message: `callSid: ${sid.error.issues[0]?.message ?? 'invalid'}` });
    const b = body.safeParse(req.body);
    if (!b.success) {
      const field = b.error.issues[0]?.path.map(String).join('.') || 'body';
      return reply.code(400).send({ error: 'invalid_body', field, message: `${field}: ${b.error.issues[0]?.message ?? 'invalid'}` });
    }
    try {
      const r = await deps.monitor({ callSid: sid.data, mode: b.data.mode, to: b.data.to, by: 'supervisor' });
      return { callSid: sid.data, mode: b.data.mode, queue: r.queue, legSid: r.legSid };
    } catch (e) {
      if (e instanceof SwitchboardError) return reply.code(e.statusCode).send({ error: e.code.toLowerCase(), field: e.field, message: e.message });
      req.log.warn({ err: (e as Error).message, callSid: sid.data }, 'monitor failed');
      return reply.code(502).send({ error: 'twilio_unavailable', field: 'callSid', message: 'callSid: Twilio did not take the request; try again' });
    }
  });
}
