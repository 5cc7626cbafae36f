/**
 * A supervisor pauses or resumes a connected call's recording (supervisor scope): `POST
 * /api/calls/{CallSid}/recording` with `{"action":"pause"|"resume"}`. Written to the supervisor audit
 * (`recording.pause` / `recording.resume`) naming who acted, whether it was carried out or refused.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { principalOf, requireScope, type Authenticator } from '../access/auth.js';
import { fromZod, replyError, sbError, SwitchboardError } from '../errors.js';
import type { AuditLog } from '../records/index.js';
import type { RecordingControl } from '../queue/service.js';

export interface RecordingApiDeps {
  auth: Authenticator;
  audit?: AuditLog;
  control(callSid: string, c: RecordingControl): Promise<{ queue: string; recordingSid: string; status: 'paused' | 'in-progress' }>;
}

const callSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'CA followed by 32 hex digits');
const body = z.object({ action: z.enum(['pause', 'resume']) }).strict();

/** Register /api/calls/:callSid/recording. */
export function registerRecordingApi(app: FastifyInstance, deps: RecordingApiDeps): void {
  const supervisor = requireScope(deps.auth, 'supervisor');
  app.post('/api/calls/:callSid/recording', { preHandler: supervisor }, async (req, reply) => {
    const sid = callSid.safeParse((req.params as { callSid?: unknown }).callSid);
    if (!sid.success) return replyError(reply, fromZod(sid.error, 'callSid'));
    const b = body.safeParse(req.body);
    if (!b.success) return replyError(reply, fromZod(b.error, '(body)'));
    const who = principalOf(req)?.supervisor ?? { id: 'supervisor', name: 'supervisor', role: 'supervisor' as const };
    const audit = (result: string, queue?: string) =>
      deps.audit
        ?.append(who, { action: `recording.${b.data.action}`, callSid: sid.data, queue, result })
        .catch((err: unknown) => req.log.warn({ err }, 'audit write failed'));
    try {
      const r = await deps.control(sid.data, { action: b.data.action, by: 'supervisor', supervisorId: who.id });
      await audit('ok', r.queue);
      return { callSid: sid.data, action: b.data.action, status: r.status, recordingSid: r.recordingSid, queue: r.queue };
    } catch (e) {
      await audit(e instanceof SwitchboardError ? e.code : 'unavailable');
      if (e instanceof SwitchboardError) return replyError(reply, e);
      req.log.warn({ err: (e as Error).message, callSid: sid.data }, 'recording pause or resume failed');
      return replyError(reply, sbError('unavailable', 'callSid', 'the request could not be completed; try again'));
    }
  });
}
