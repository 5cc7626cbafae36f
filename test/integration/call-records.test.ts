/**
 * The call-record store against real Redis (and, in the `cluster` project, a three-master cluster): events
 * folded in any order give the same record, an event folded twice counts once, an ended call has exactly
 * one stream entry whatever its revisions, old entries are trimmed by time, and the listing pages with a
 * cursor and filters. Also the audit stream's append, trim and listing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/events.js';
import { eventId, foldOps } from '../../src/records/fold.js';
import { createAuditLog, createRecordStore, csvToRecords, recordsToCsv, type RecordStore } from '../../src/records/index.js';
import { createKeys, type Keys } from '../../src/store/keys.js';
import type { RedisClient } from '../../src/store/redis.js';
import { createScripts } from '../../src/store/scripts.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';

let redis: RedisClient;
let keys: Keys;
/** The app clock the store reads (ms); the tests move it forward. */
let now: number;
let store: RecordStore;
const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const sid = (n: number) => 'CA' + String(n).padStart(32, '0');

beforeEach(() => {
  redis = newRedis();
  keys = createKeys(uniquePrefix('records'));
  now = T0;
  store = createRecordStore({ redis, keys, scripts: createScripts(redis), now: () => now, retentionDays: 30, workingTtlSeconds: 3600 });
});
afterEach(async () => {
  await redis.quit();
});

/** One answered call's events, in the order one instance would publish them. */
function answered(callSid: string, at: number, o: { agent?: string; wait?: number } = {}): DomainEvent[] {
  const agentId = o.agent ?? 'alice';
  return [
    { type: 'call.started', at, callSid, flow: 'main', callerHash: 'ab'.repeat(16), calledNumber: '+18005550100', language: 'en' },
    {
      type: 'ivr.exit',
      at: at + 4_000,
      callSid,
      flow: 'main',
      exit: 'queue',
      contained: false,
      path: ['language', 'main-menu', 'support-queue'],
      language: 'es',
    },
    { type: 'queue.offered', at: at + 4_000, callSid, queue: 'support', contactId: callSid, priority: 0 },
    {
      type: 'queue.left',
      at: at + 34_000,
      callSid,
      queue: 'support',
      contactId: callSid,
      outcome: 'answered',
      waitSeconds: o.wait ?? 30,
      short: false,
      serviceLevelSeconds: 20,
      agentId,
      team: 'default',
    },
    { type: 'survey.response', at: at + 100_000, callSid, survey: 'csat', score: 5 },
    { type: 'call.ended', at: at + 110_000, callSid, status: 'completed', durationSeconds: 110 },
    {
      type: 'call.handled',
      at: at + 120_000,
      callSid,
      contactId: callSid,
      queue: 'support',
      agentId,
      team: 'default',
      talkSeconds: 55.5,
      holdSeconds: 10,
      wrapupSeconds: 20,
      disposition: 'resolved',
      code: 'fixed',
    },
  ];
}

async function foldAll(events: DomainEvent[]): Promise<void> {
  for (const e of events) {
    now = Math.max(now, e.at);
    await store.fold(e);
  }
}

describe('call records in Redis', () => {
  it('folds a call into one record; order of arrival and duplicates change nothing', async () => {
    const events = answered(sid(1), T0);
    await foldAll(events);
    const first = (await store.list({}, { limit: 10 })).records;
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      callSid: sid(1),
      revision: 2, // once at the end of the call, again when the wrap-up finished
      startedAt: new Date(T0).toISOString(),
      endedAt: new Date(T0 + 110_000).toISOString(),
      callerKey: 'ab'.repeat(16),
      numberCalled: '+18005550100',
      language: 'es',
      ivrPath: ['language', 'main-menu', 'support-queue'],
      queue: 'support',
      outcome: 'answered',
      waitSeconds: 30,
      agent: 'alice',
      agents: ['alice'],
      talkSeconds: 55.5,
      holdSeconds: 10,
      wrapUpSeconds: 20,
      disposition: 'resolved',
      dispositionCode: 'fixed',
      csat: 5,
      nps: null,
    });
    // The same events again (a replay): nothing summed twice, no new revision.
    await foldAll(events);
    expect((await store.list({}, { limit: 10 })).records).toEqual(first);

    // The same call's events in reverse order (two instances racing) fold to the same facts.
    const other = createRecordStore({
      redis,
      keys: createKeys(uniquePrefix('records-rev')),
      scripts: createScripts(redis),
      now: () => now,
      retentionDays: 30,
      workingTtlSeconds: 3600,
    });
    for (const e of [...events].reverse()) await other.fold(e);
    const [rev] = (await other.list({}, { limit: 10 })).records;
    const facts = (r: object) => Object.fromEntries(Object.entries(r).filter(([k]) => !['revision', 'updatedAt'].includes(k)));
    expect(facts(rev!)).toEqual(facts(first[0]!));
  });

  it('folds events published together (several calls, retries included) like one by one, with one revision per call and batch', async () => {
    const a = answered(sid(11), T0);
    const b = answered(sid(12), T0 + 1_000, { agent: 'bob', wait: 12 });
    // One at a time on another prefix: the reference facts.
    const single = createRecordStore({
      redis,
      keys: createKeys(uniquePrefix('records-one')),
      scripts: createScripts(redis),
      now: () => now,
      retentionDays: 30,
      workingTtlSeconds: 3600,
    });
    now = T0 + 200_000;
    for (const e of [...a, ...b]) await single.fold(e);
    // Together: both calls' events interleaved in one batch, then the same batch again (a replay).
    const mixed = a.flatMap((e, i) => [e, ...(b[i] ? [b[i]] : [])]);
    await store.foldAll(mixed);
    await store.foldAll(mixed);
    const byCall = async (s: RecordStore) =>
      Object.fromEntries((await s.list({}, { limit: 10 })).records.map((r) => [r.callSid, r] as const));
    const together = await byCall(store);
    const alone = await byCall(single);
    const facts = (r: object) => Object.fromEntries(Object.entries(r).filter(([k]) => !['revision', 'updatedAt'].includes(k)));
    expect(Object.keys(together).sort()).toEqual([sid(11), sid(12)]);
    for (const c of [sid(11), sid(12)]) {
      expect(facts(together[c]!)).toEqual(facts(alone[c]!));
      // One at a time: a revision at the end of the call and another for the wrap-up after it; together: one.
      expect(alone[c]!.revision).toBe(2);
      expect(together[c]!.revision).toBe(1);
    }
    expect(together[sid(12)]).toMatchObject({ waitSeconds: 12, agent: 'bob', talkSeconds: 55.5 });
    // An empty batch, and events about no call, send nothing.
    await store.foldAll([]);
    await store.foldAll([
      { type: 'agent.state', at: T0, agentId: 'alice', team: 'default', from: 'available', to: 'break', secondsInFrom: 3 },
    ]);
    expect(await redis.xlen(keys.records.stream)).toBe(2);
  });

  it('moves a working record of the format before (a call in flight across an upgrade) once; its events still count once', async () => {
    const events = answered(sid(7), T0);
    // The first four events as the format before folded them: public field names, `_r:<group>` ranks, an
    // `_e:<event id>` field per event, the CallSid in the hash.
    const legacy: Record<string, string> = { callSid: sid(7) };
    for (const e of events.slice(0, 4)) {
      legacy[`_e:${eventId(e)}`] = '1';
      for (const op of foldOps(e)!.ops) {
        const [o, f, v] = op as [string, string, string];
        if (o === 'set') legacy[f] = v;
        else if (o === 'setnx') legacy[f] ??= v;
        else if (o === 'add') legacy[f] = String(Number(legacy[f] ?? 0) + Number(v));
        else if (o === 'rank' && Number(v) >= Number(legacy[`_r:${f}`] ?? -1)) {
          legacy[`_r:${f}`] = v;
          for (let i = 3; i < op.length; i += 2) legacy[op[i]!] = op[i + 1]!;
        }
      }
    }
    await redis.hset(keys.records.legacyCall(sid(7)), legacy);
    // Then every event, the four already folded included (a replay must not add the wait twice).
    await foldAll(events);
    expect(await redis.exists(keys.records.legacyCall(sid(7)))).toBe(0);
    const working = await redis.hgetall(keys.records.call(sid(7)));
    expect(Object.keys(working).filter((f) => !f.startsWith('_') && f.length > 1)).toEqual([]);
    await foldAll(answered(sid(8), T0));
    const records = (await store.list({}, { limit: 10 })).records;
    const facts = (r: object) => Object.fromEntries(Object.entries(r).filter(([k]) => !['callSid', 'revision', 'updatedAt'].includes(k)));
    const moved = records.find((r) => r.callSid === sid(7))!;
    expect(moved).toMatchObject({ waitSeconds: 30, queue: 'support', outcome: 'answered', revision: 2 });
    expect(facts(moved)).toEqual(facts(records.find((r) => r.callSid === sid(8))!));
  });

  it('keeps one stream entry per call, trims by time, and pages newest first with filters', async () => {
    // An entry far older than the retention: trimmed by the next append.
    await redis.xadd(keys.records.stream, '1000-1', 'callSid', sid(99));
    await foldAll(answered(sid(1), T0, { agent: 'alice', wait: 5 }));
    await foldAll(answered(sid(2), T0 + 200_000, { agent: 'bob', wait: 90 }));
    await foldAll([
      { type: 'call.started', at: T0 + 400_000, callSid: sid(3), flow: 'main', callerHash: 'cd'.repeat(16), language: 'en' },
      { type: 'queue.offered', at: T0 + 401_000, callSid: sid(3), queue: 'billing', contactId: sid(3), priority: 0 },
      {
        type: 'queue.left',
        at: T0 + 476_000,
        callSid: sid(3),
        queue: 'billing',
        contactId: sid(3),
        outcome: 'abandoned',
        waitSeconds: 75,
        short: false,
        serviceLevelSeconds: 20,
      },
      { type: 'call.ended', at: T0 + 476_000, callSid: sid(3), status: 'completed', durationSeconds: 76 },
    ]);
    const entries = await redis.xrange(keys.records.stream, '-', '+');
    expect(entries.map(([, f]) => f[f.indexOf('callSid') + 1])).toEqual([sid(1), sid(2), sid(3)]);

    const all = (await store.list({}, { limit: 10 })).records;
    expect(all.map((r) => r.callSid)).toEqual([sid(3), sid(2), sid(1)]);
    expect(all[0]).toMatchObject({ outcome: 'abandoned', waitSeconds: 75, queue: 'billing', agent: null });
    // Paging with a cursor, one at a time, gives the same list.
    const paged: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const p = await store.list({}, { limit: 1, cursor });
      paged.push(...p.records.map((r) => r.callSid));
      if (!p.nextCursor) break;
      cursor = p.nextCursor;
    }
    expect(paged).toEqual([sid(3), sid(2), sid(1)]);
    const ids = async (f: Parameters<RecordStore['list']>[0]) => (await store.list(f, { limit: 10 })).records.map((r) => r.callSid);
    expect(await ids({ outcome: 'abandoned' })).toEqual([sid(3)]);
    expect(await ids({ agent: 'bob' })).toEqual([sid(2)]);
    expect(await ids({ queue: 'support', minWaitSeconds: 60 })).toEqual([sid(2)]);
    expect(await ids({ callerKey: 'cd'.repeat(16) })).toEqual([sid(3)]);
    expect(await ids({ from: T0 + 100_000, to: T0 + 300_000 })).toEqual([sid(2)]);
    expect(await ids({ from: T0 + 500_000 })).toEqual([]);

    // CSV round-trips to the same records.
    expect(csvToRecords(recordsToCsv(all))).toEqual(all);
  });

  it('the audit stream appends who did what, trims by time and lists newest first', async () => {
    const audit = createAuditLog({ redis, keys, now: () => now, retentionDays: 1 });
    await redis.xadd(keys.audit, '1000-1', 'supervisor', 'ancient');
    await audit.append(
      { id: 'sam', name: 'Sam Lee', role: 'supervisor' },
      { action: 'monitor.listen', callSid: sid(1), queue: 'support', result: 'ok' },
    );
    now = T0 + 60_000;
    await audit.append(
      { id: 'admin', name: 'SUPERVISOR_TOKEN', role: 'admin' },
      { action: 'records.export', result: 'ok', detail: '3 records' },
    );
    const { entries, nextCursor } = await audit.list({ limit: 10 });
    expect(nextCursor).toBeNull();
    expect(entries.map((e) => [e.supervisor, e.action])).toEqual([
      ['admin', 'records.export'],
      ['sam', 'monitor.listen'],
    ]);
    expect(entries[1]).toMatchObject({
      name: 'Sam Lee',
      role: 'supervisor',
      callSid: sid(1),
      queue: 'support',
      result: 'ok',
      at: new Date(T0).toISOString(),
    });
    expect((await audit.list({ limit: 10, supervisor: 'sam' })).entries).toHaveLength(1);
    const page1 = await audit.list({ limit: 1 });
    expect(page1.entries.map((e) => e.supervisor)).toEqual(['admin']);
    expect((await audit.list({ limit: 1, cursor: page1.nextCursor! })).entries.map((e) => e.supervisor)).toEqual(['sam']);
  });
});
