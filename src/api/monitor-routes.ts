/**
 * Supervisor monitoring of live calls (supervisor scope only): list the connected calls, and listen
 * (muted), coach (heard only by the agent) or barge (heard by everyone) on one, or stop. The supervisor's
 * phone, SIP address or Twilio Client identity is dialed into the call's conference; changing the mode
 * updates the same leg. Every action is logged with the call and the mode (never the number dialed), and
 * written to the supervisor audit naming who acted, whether it was carried out or refused.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { fromZod, replyError, sbError, SwitchboardError } from '../errors.js';
import type { MonitorMode } from '../events.js';
import type { AuditLog } from '../records/index.js';
import { principalOf, requireScope, type Authenticator } from '../access/auth.js';

export interface MonitorDeps {
  auth: Authenticator;
  monitor(r: { callSid: string; mode: MonitorMode; to: string; by: string }): Promise<{ legSid: string | null; queue: string }>;
  /** The supervisor audit (who listened, coached, barged, stopped on which call). */
  audit?: AuditLog;
  liveCalls(): Promise<
    {
      callSid: string;
      queue: string;
      agentId: string;
      state: string;
      since: number | null;
      monitors: { to: string; mode: MonitorMode }[];
      /** The call's recording: running, paused, or null (its queue does not record, or it has not started or has ended). */
      recording: 'in-progress' | 'paused' | null;
    }[]
  >;
}

const callSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'CA followed by 32 hex digits');
const body = z
  .object({
    mode: z.enum(['listen', 'coach', 'barge', 'stop']),
    to: z
      .string()
      .regex(/^(\+[1-9]\d{6,14}|client:[A-Za-z0-9_.-]{1,64}|sips?:[^\s<>"]{3,200})$/, 'an E.164 number, client:identity or sip: address'),
  })
  .strict();

/** Register /api/calls and /api/calls/:callSid/monitor. */
export function registerMonitorRoutes(app: FastifyInstance, deps: MonitorDeps): void {
  const supervisor = requireScope(deps.auth, 'supervisor');
  app.get('/api/calls', { preHandler: supervisor }, async () => ({ calls: await deps.liveCalls() }));
  app.post('/api/calls/:callSid/monitor', { preHandler: supervisor }, async (req, reply) => {
    const sid = callSid.safeParse((req.params as { callSid?: unknown }).callSid);
    if (!sid.success) return replyError(reply, fromZod(sid.error, 'callSid'));
    const b = body.safeParse(req.body);
    if (!b.success) return replyError(reply, fromZod(b.error, '(body)'));
    const who = principalOf(req)?.supervisor ?? { id: 'supervisor', name: 'supervisor', role: 'supervisor' as const };
    const audit = (result: string, queue?: string) =>
      deps.audit
        ?.append(who, { action: `monitor.${b.data.mode}`, callSid: sid.data, queue, result })
        .catch((err: unknown) => req.log.warn({ err }, 'audit write failed'));
    try {
      const r = await deps.monitor({ callSid: sid.data, mode: b.data.mode, to: b.data.to, by: who.id });
      await audit('ok', r.queue);
      return { callSid: sid.data, mode: b.data.mode, queue: r.queue, legSid: r.legSid };
    } catch (e) {
      await audit(e instanceof SwitchboardError ? e.code : 'unavailable');
      if (e instanceof SwitchboardError) return replyError(reply, e);
      req.log.warn({ err: (e as Error).message, callSid: sid.data }, 'monitor failed');
      return replyError(reply, sbError('unavailable', 'callSid', 'Twilio did not take the request; try again'));
    }
  });
}
