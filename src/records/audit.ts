/**
 * The supervisor audit: every supervisor action (listen, coach, barge, stop, recording pause/resume,
 * call-record export) as one entry of a Redis stream naming who acted, trimmed by time in the same
 * command that appends (XADD ... MINID). Never the number a supervisor was dialed at, never a caller's.
 */
import type { Keys } from '../store/keys.js';
import type { RedisClient } from '../store/redis.js';

export interface AuditActor {
  /** The supervisor's id from the call-center file; `admin` for SUPERVISOR_TOKEN. */
  id: string;
  name: string;
  role: 'supervisor' | 'admin';
}

export interface AuditAction {
  /** e.g. `monitor.listen`, `monitor.stop`, `recording.pause`, `records.export`. */
  action: string;
  callSid?: string | undefined;
  queue?: string | undefined;
  /** `ok`, or the error code the action was refused with. */
  result: string;
  /** Anything else worth knowing, without personal data (e.g. the export's filters). */
  detail?: string | undefined;
}

export interface AuditEntry extends AuditAction {
  id: string;
  at: string;
  supervisor: string;
  name: string;
  role: string;
}

export interface AuditLog {
  append(actor: AuditActor, a: AuditAction): Promise<void>;
  /** Newest first; `cursor` is the id of the last entry of the previous page. */
  list(o: {
    from?: number | undefined;
    to?: number | undefined;
    supervisor?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ entries: AuditEntry[]; nextCursor: string | null }>;
}

export function createAuditLog(o: { redis: RedisClient; keys: Keys; now: () => number; retentionDays: number }): AuditLog {
  const key = o.keys.audit;
  const retentionMs = Math.round(o.retentionDays * 86_400_000);
  const xadd = (id: string, minId: number, fields: string[]) =>
    o.redis.call('XADD', key, 'MINID', '=', String(minId), id, ...fields) as Promise<string>;
  return {
    async append(actor, a) {
      const now = o.now();
      const fields = [
        'at',
        String(now),
        'supervisor',
        actor.id,
        'name',
        actor.name,
        'role',
        actor.role,
        'action',
        a.action,
        'result',
        a.result,
      ];
      if (a.callSid) fields.push('callSid', a.callSid);
      if (a.queue) fields.push('queue', a.queue);
      if (a.detail) fields.push('detail', a.detail);
      // Entry ids in action time; an instance whose clock is behind the last entry lets Redis pick the id.
      await xadd(`${now}-*`, now - retentionMs, fields).catch(() => xadd('*', now - retentionMs, fields));
    },
    async list({ from, to, supervisor, limit, cursor }) {
      const end = cursor ? `(${cursor}` : to !== undefined ? String(to) : '+';
      const start = from !== undefined ? String(from) : '-';
      const entries: AuditEntry[] = [];
      let last: string | null = null;
      let more = true;
      let next = end;
      while (entries.length < limit && more) {
        const batch = await o.redis.xrevrange(key, next, start, 'COUNT', 200);
        more = batch.length === 200;
        for (const [id, flat] of batch) {
          last = id;
          const f: Record<string, string> = {};
          for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
          if (supervisor !== undefined && f.supervisor !== supervisor) continue;
          entries.push({
            id,
            at: new Date(Number(f.at)).toISOString(),
            supervisor: f.supervisor ?? '',
            name: f.name ?? '',
            role: f.role ?? '',
            action: f.action ?? '',
            result: f.result ?? '',
            ...(f.callSid ? { callSid: f.callSid } : {}),
            ...(f.queue ? { queue: f.queue } : {}),
            ...(f.detail ? { detail: f.detail } : {}),
          });
          if (entries.length >= limit) {
            more = more || id !== batch[batch.length - 1]![0];
            break;
          }
        }
        if (last) next = `(${last}`;
      }
      return { entries, nextCursor: more && last ? last : null };
    },
  };
}
