/**
 * GET /api/call-records (supervisor scope): call records newest first, filtered, with cursor paging;
 * JSON, or CSV with `Accept: text/csv` (a CSV export is written to the audit). GET /api/audit (admin
 * role): the supervisor audit, newest first.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fromZod, invalid, replyError, type SwitchboardError } from '../errors.js';
import {
  isCursor,
  recordsToCsv,
  RECORD_OUTCOMES,
  type AuditAction,
  type AuditLog,
  type RecordFilter,
  type RecordStore,
} from '../records/index.js';
import { principalOf, requireAdmin, requireScope, type Authenticator } from '../access/auth.js';

export interface RecordsRouteDeps {
  auth: Authenticator;
  records: RecordStore;
  audit: AuditLog;
}

/** A time as ISO 8601 or milliseconds since the epoch. */
const toMs = (s: string): number => (/^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s));
const time = z
  .string()
  .refine((s) => Number.isFinite(toMs(s)), 'an ISO 8601 time or milliseconds since the epoch')
  .transform(toMs)
  .optional();
const cursor = z.string().refine(isCursor, 'a nextCursor from a previous page').optional();

const recordQuery = z
  .object({
    from: time,
    to: time,
    queue: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a queue id')
      .optional(),
    outcome: z.enum(RECORD_OUTCOMES as [string, ...string[]]).optional(),
    agent: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an agent id')
      .optional(),
    callerKey: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'a caller key (32 hex digits)')
      .optional(),
    minWait: z.coerce.number().min(0).max(86_400).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
    cursor,
  })
  .strict();

const auditQuery = z
  .object({
    from: time,
    to: time,
    supervisor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor,
  })
  .strict();

/** A query refused: an unknown parameter is named as the field, otherwise the first rule broken. */
function badQuery(err: z.ZodError): SwitchboardError {
  const unknown = err.issues.find((i) => i.code === 'unrecognized_keys');
  return unknown && unknown.code === 'unrecognized_keys'
    ? invalid(unknown.keys[0] ?? '(query)', 'unknown parameter')
    : fromZod(err, '(query)');
}

export function registerRecordRoutes(app: FastifyInstance, deps: RecordsRouteDeps): void {
  const supervisor = requireScope(deps.auth, 'supervisor');
  const admin = requireAdmin(deps.auth);

  /** Write one audit entry for the supervisor behind this request. */
  const audit = async (req: FastifyRequest, a: AuditAction) => {
    const who = principalOf(req)?.supervisor;
    if (who) await deps.audit.append(who, a);
  };

  app.get('/api/call-records', { preHandler: supervisor }, async (req, reply) => {
    const q = recordQuery.safeParse(req.query);
    if (!q.success) return replyError(reply, badQuery(q.error));
    const csv = /\btext\/csv\b/.test(req.headers.accept ?? '');
    const o = q.data;
    const limit = o.limit ?? (csv ? 1000 : 50);
    if (!csv && limit > 500) return replyError(reply, invalid('limit', 'at most 500 for JSON (10000 for CSV)'));
    const filter: RecordFilter = {
      from: o.from,
      to: o.to,
      queue: o.queue,
      outcome: o.outcome as RecordFilter['outcome'],
      agent: o.agent,
      callerKey: o.callerKey,
      minWaitSeconds: o.minWait,
    };
    const page = await deps.records.list(filter, { limit, cursor: o.cursor, maxScan: Math.max(5000, limit * 4) });
    if (!csv) return page;
    // The export is audited with its filters (a caller key is a hash, never a number).
    const detail = new URLSearchParams(Object.entries(req.query as Record<string, string>).filter(([k]) => k !== 'cursor')).toString();
    await audit(req, { action: 'records.export', result: 'ok', detail: `${page.records.length} records${detail ? ` ${detail}` : ''}` });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="call-records.csv"')
      .header('x-next-cursor', page.nextCursor ?? '')
      .send(recordsToCsv(page.records));
  });

  app.get('/api/audit', { preHandler: admin }, async (req, reply) => {
    const q = auditQuery.safeParse(req.query);
    if (!q.success) return replyError(reply, badQuery(q.error));
    return deps.audit.list({ from: q.data.from, to: q.data.to, supervisor: q.data.supervisor, limit: q.data.limit, cursor: q.data.cursor });
  });
}
