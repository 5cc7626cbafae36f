/**
 * Supervisor monitoring of live calls (supervisor scope only): list the connected calls, and listen
 * (muted), coach (heard only by the agent) or barge (heard by everyone) on one, or stop. The supervisor's
 * phone, SIP address or Twilio Client identity is dialed into the call's conference; changing the mode
 * updates the same leg. Every action is logged with the call and the mode (never the number dialed), and
 * written to the supervisor audit naming who acted, whether it was carried out or refused.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MonitorMode } from '../events.js';
import type { AuditLog } from '../records/index.js';
import { requireScope, type Authenticator } from '../access/auth.js';
import { registerCallAction } from './supervisor-call-action.js';

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
  app.get('/api/calls', { preHandler: requireScope(deps.auth, 'supervisor') }, async () => ({ calls: await deps.liveCalls() }));
  registerCallAction(app, deps, {
    path: '/api/calls/:callSid/monitor',
    body,
    auditAction: (b) => `monitor.${b.mode}`,
    run: (sid, b, who) => deps.monitor({ callSid: sid, mode: b.mode, to: b.to, by: who.id }),
    answer: (sid, b, r) => ({ callSid: sid, mode: b.mode, queue: r.queue, legSid: r.legSid }),
    failLog: 'monitor failed',
    failMessage: 'Twilio did not take the request; try again',
  });
}
