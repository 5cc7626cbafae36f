/**
 * A supervisor pauses or resumes a connected call's recording (supervisor scope): `POST
 * /api/calls/{CallSid}/recording` with `{"action":"pause"|"resume"}`. Written to the supervisor audit
 * (`recording.pause` / `recording.resume`) naming who acted, whether it was carried out or refused.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Authenticator } from '../access/auth.js';
import type { AuditLog } from '../records/index.js';
import type { RecordingControl } from '../queue/service.js';
import { registerCallAction } from './supervisor-call-action.js';

export interface RecordingApiDeps {
  auth: Authenticator;
  audit?: AuditLog;
  control(callSid: string, c: RecordingControl): Promise<{ queue: string; recordingSid: string; status: 'paused' | 'in-progress' }>;
}

const body = z.object({ action: z.enum(['pause', 'resume']) }).strict();

/** Register /api/calls/:callSid/recording. */
export function registerRecordingApi(app: FastifyInstance, deps: RecordingApiDeps): void {
  registerCallAction(app, deps, {
    path: '/api/calls/:callSid/recording',
    body,
    auditAction: (b) => `recording.${b.action}`,
    run: (sid, b, who) => deps.control(sid, { action: b.action, by: 'supervisor', supervisorId: who.id }),
    answer: (sid, b, r) => ({ callSid: sid, action: b.action, status: r.status, recordingSid: r.recordingSid, queue: r.queue }),
    failLog: 'recording pause or resume failed',
    failMessage: 'the request could not be completed; try again',
  });
}
