/**
 * A supervisor's action on one live call (`POST /api/calls/{CallSid}/<what>`, supervisor scope): the
 * CallSid and body checked with errors naming the field, the action carried out, and an audit entry naming
 * who acted and whether it was carried out or refused. Monitoring and recording control share it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { principalOf, requireScope, type Authenticator, type Principal } from '../access/auth.js';
import { fromZod, replyError, sbError, SwitchboardError } from '../errors.js';
import type { AuditLog } from '../records/index.js';

const callSid = z.string().regex(/^CA[0-9a-fA-F]{32}$/, 'CA followed by 32 hex digits');

export type SupervisorPrincipal = NonNullable<Principal['supervisor']>;

export interface CallAction<B, R extends { queue: string }> {
  path: string;
  body: z.ZodType<B>;
  /** The audit's action name, e.g. `monitor.listen`. */
  auditAction(b: B): string;
  run(callSid: string, b: B, who: SupervisorPrincipal): Promise<R>;
  answer(callSid: string, b: B, r: R): object;
  /** Logged (with the error's message) and answered as `unavailable` when `run` fails unexpectedly. */
  failLog: string;
  failMessage: string;
}

export function registerCallAction<B, R extends { queue: string }>(
  app: FastifyInstance,
  deps: { auth: Authenticator; audit?: AuditLog },
  a: CallAction<B, R>,
): void {
  app.post(a.path, { preHandler: requireScope(deps.auth, 'supervisor') }, async (req, reply) => {
    const sid = callSid.safeParse((req.params as { callSid?: unknown }).callSid);
    if (!sid.success) return replyError(reply, fromZod(sid.error, 'callSid'));
    const raw = sid.data;
    const b = a.body.safeParse(req.body);
    if (!b.success) return replyError(reply, fromZod(b.error, '(body)'));
    const who = principalOf(req)?.supervisor ?? { id: 'supervisor', name: 'supervisor', role: 'supervisor' as const };
    const audit = (result: string, queue?: string) =>
      deps.audit
        ?.append(who, { action: a.auditAction(b.data), callSid: raw, queue, result })
        .catch((err: unknown) => req.log.warn({ err }, 'audit write failed'));
    try {
      const r = await a.run(raw, b.data, who);
      await audit('ok', r.queue);
      return a.answer(raw, b.data, r);
    } catch (e) {
      await audit(e instanceof SwitchboardError ? e.code : 'unavailable');
      if (e instanceof SwitchboardError) return replyError(reply, e);
      req.log.warn({ err: (e as Error).message, callSid: raw }, a.failLog);
      return replyError(reply, sbError('unavailable', 'callSid', a.failMessage));
    }
  });
}
