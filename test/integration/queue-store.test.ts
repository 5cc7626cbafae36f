import { createHash } from 'node:crypto';
import type { Command } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import { SwitchboardError } from '../../src/errors.js';
import type { DomainEvent, EventOf } from '../../src/events.js';
import { createQueueStore, type EnqueueInput, type QueueStore } from '../../src/queue/store.js';
import { createKeys, type Keys } from '../../src/store/keys.js';
import { loadScripts } from '../../src/store/redis.js';
import type { RedisClient } from '../../src/store/redis.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';

const Q = 'support';
const SL = 20;
const SHORT = 5;

let redis: RedisClient;
let keys: Keys;
let clock: VirtualClock;
let store: QueueStore;
const extra: RedisClient[] = [];

beforeEach(() => {
  redis = newRedis();
  keys = createKeys(uniquePrefix('queue'));
  clock = new VirtualClock();
  store = createQueueStore(redis, keys, clock);
});

afterEach(async () => {
  await Promise.all([redis, ...extra.splice(0)].map((r) => r.quit()));
});

function input(callSid: string, over: Partial<EnqueueInput> = {}): EnqueueInput {
  return {
    queue: Q,
    callSid,
    contactId: `contact-${callSid}`,
    callerHash: `h-${callSid}`,
    priority: 0,
    maxLength: 1000,
    whenNoAgents: 'wait',
    serviceLevelSeconds: SL,
    ...over,
  };
}

const leaveArgs = { queue: Q, shortAbandonSeconds: SHORT, serviceLevelSeconds: SL };

async function streamEvents(queue = Q): Promise<DomainEvent[]> {
  const rows = await redis.xrange(keys.queue(queue).events, '-', '+');
  return rows.map(([, fields]) => {
    const i = fields.indexOf('data');
    const type = fields[fields.indexOf('type') + 1];
    const ev = JSON.parse(fields[i + 1]!) as DomainEvent;
    expect(ev.type).toBe(type);
    return ev;
  });
}

async function claimAll(queue = Q): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const c = await store.claimNext({ queue, offerId: `o${i}`, agentId: `a${i}`, deadline: clock.now() + 15_000 });
    if (!c) return out;
    out.push(c.callSid);
  }
}

function left(events: DomainEvent[]): EventOf<'queue.left'> {
  const e = events.find((x) => x.type === 'queue.left');
  if (!e || e.type !== 'queue.left') throw new Error('no queue.left');
  return e;
}

/** Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag, or of the whole key without one. */
function crc16(buf: Buffer): number {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(Buffer.from(key.slice(open + 1, close))) % 16384;
  }
  return crc16(Buffer.from(key)) % 16384;
}

describe('ordering and position', () => {
  it('serves higher priorities first, front entries first within a priority, FIFO otherwise', async () => {
    const plan: [string, number, boolean][] = [
      ['a', 0, false],
      ['b', 0, false],
      ['c', 5, false],
      ['d', 5, true],
      ['e', 9, false],
      ['f', 0, true],
      ['g', 5, false],
      ['h', 0, true],
    ];
    for (const [sid, priority, front] of plan) {
      const r = await store.enqueue(input(sid, { priority, front }));
      expect(r.result).toBe('queued');
    }
    const expected = ['e', 'd', 'c', 'g', 'f', 'h', 'a', 'b'];
    for (const [i, sid] of expected.entries()) {
      expect((await store.position(Q, sid))?.position).toBe(i + 1);
    }
    expect(await claimAll()).toEqual(expected);
  });

  it('reports position, size and wait; positions shift as callers ahead leave', async () => {
    const first = await store.enqueue(input('c1'));
    expect(first).toMatchObject({ result: 'queued', position: 1, size: 1 });
    await clock.advance(10_000);
    const second = await store.enqueue(input('c2'));
    expect(second).toMatchObject({ result: 'queued', position: 2, size: 2 });
    await clock.advance(5_000);
    expect(await store.position(Q, 'c1')).toEqual({
      position: 1,
      size: 2,
      state: 'waiting',
      enqueuedAt: clock.now() - 15_000,
      waitSeconds: 15,
    });
    expect(await store.position(Q, 'nobody')).toBeNull();
    await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned' });
    expect(await store.position(Q, 'c1')).toBeNull();
    expect(await store.position(Q, 'c2')).toMatchObject({ position: 1, size: 1, waitSeconds: 5 });
  });

  it('position is ZRANK + 1 over a large queue and counts callbacks and callers being offered', async () => {
    const n = 2000;
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) batch.push(store.enqueue(input(`c${i}`, { maxLength: n })));
    await Promise.all(batch);
    expect(await store.position(Q, `c${n - 1}`)).toMatchObject({ position: n, size: n });
    await store.requestCallback({ queue: Q, callSid: 'c0', serviceLevelSeconds: SL, shortAbandonSeconds: SHORT });
    expect(await store.position(Q, 'c0')).toMatchObject({ position: 1, state: 'callback' });
    expect((await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'a1', deadline: 0 }))?.callSid).toBe('c0');
    expect((await store.claimNext({ queue: Q, offerId: 'o2', agentId: 'a2', deadline: 0 }))?.callSid).toBe('c1');
    expect(await store.position(Q, 'c2')).toMatchObject({ position: 3, state: 'waiting' });
    expect(await store.position(Q, 'c1')).toMatchObject({ position: 2, state: 'offered' });
    expect(await store.position(Q, 'c0')).toMatchObject({ position: 1, state: 'callback_offered' });
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) await store.position(Q, `c${n - 1 - i}`);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('rejects a bad priority with a typed error', async () => {
    await expect(store.enqueue(input('x', { priority: 10 }))).rejects.toMatchObject({ code: 'invalid_params', field: 'priority' });
  });
});

describe('enqueue', () => {
  it('is idempotent: the same callSid again answers already, with no second offer', async () => {
    const r1 = await store.enqueue(input('c1', { language: 'en', ivrPath: 'main>2', meta: { account: '42' } }));
    expect(r1.events).toHaveLength(1);
    expect(r1.events[0]).toEqual({ type: 'queue.offered', at: clock.now(), callSid: 'c1', queue: Q, contactId: 'contact-c1', priority: 0 });
    await store.enqueue(input('c2'));
    const r2 = await store.enqueue(input('c1', { priority: 9 }));
    expect(r2).toEqual({ result: 'already', position: 1, size: 2, events: [] });
    expect((await store.tally(Q)).offered).toBe(2);
    expect(await streamEvents()).toHaveLength(2);
    const claimed = await store.claimNext({ queue: Q, offerId: 'o', agentId: 'a', deadline: 1 });
    expect(claimed).toEqual({
      callSid: 'c1',
      contactId: 'contact-c1',
      callerHash: 'h-c1',
      state: 'waiting',
      enqueuedAt: clock.now(),
      queueSid: null,
      priority: 0,
      language: 'en',
      ivrPath: 'main>2',
      meta: { account: '42' },
    });
  });

  it('full: counted offered and left as overflow (max_length, wait 0); a retry counts nothing more', async () => {
    await store.enqueue(input('c1', { maxLength: 2 }));
    await store.enqueue(input('c2', { maxLength: 2 }));
    const r = await store.enqueue(input('c3', { maxLength: 2, overflowTarget: 'voicemail' }));
    expect(r.result).toBe('full');
    expect(r.events.map((e) => e.type)).toEqual(['queue.offered', 'queue.left']);
    expect(left(r.events)).toMatchObject({
      outcome: 'overflow',
      overflowReason: 'max_length',
      overflowTarget: 'voicemail',
      waitSeconds: 0,
      short: false,
      serviceLevelSeconds: SL,
    });
    expect(await store.position(Q, 'c3')).toBeNull();
    expect(await store.enqueue(input('c3', { maxLength: 2 }))).toEqual({ result: 'full', events: [] });
    const t = await store.tally(Q);
    expect(t).toMatchObject({ offered: 3, overflow: 1, inQueue: 2 });
    expect(await store.arrivalsSince(Q, 0)).toBe(3);
  });

  it('full counts callers on the line, not callbacks holding a place', async () => {
    await store.enqueue(input('c1', { maxLength: 2 }));
    await store.enqueue(input('c2', { maxLength: 2 }));
    await store.requestCallback({ queue: Q, callSid: 'c1', serviceLevelSeconds: SL });
    expect((await store.enqueue(input('c3', { maxLength: 2 }))).result).toBe('queued');
    expect((await store.enqueue(input('c4', { maxLength: 2 }))).result).toBe('full');
  });

  it('no_agents: overflows only when the queue says so', async () => {
    const r = await store.enqueue(input('c1', { noAgentsStaffed: true, whenNoAgents: 'overflow' }));
    expect(r.result).toBe('no_agents');
    expect(left(r.events)).toMatchObject({ outcome: 'overflow', overflowReason: 'no_agents', waitSeconds: 0 });
    expect(r.events[0]?.type).toBe('queue.offered');
    expect((await store.enqueue(input('c2', { noAgentsStaffed: true, whenNoAgents: 'wait' }))).result).toBe('queued');
    expect((await store.enqueue(input('c3', { noAgentsStaffed: false, whenNoAgents: 'overflow' }))).result).toBe('queued');
    expect(await store.tally(Q)).toMatchObject({ offered: 3, overflow: 1, inQueue: 2 });
  });

  it('a counted enqueue of a call that already left answers gone; a re-entry (countOffer false) is allowed', async () => {
    await store.enqueue(input('c1'));
    await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned' });
    expect(await store.enqueue(input('c1'))).toEqual({ result: 'gone', events: [] });
    const re = await store.enqueue(input('c1', { countOffer: false, front: true }));
    expect(re).toMatchObject({ result: 'queued', position: 1, events: [] });
    expect(await store.tally(Q)).toMatchObject({ offered: 1, abandoned: 1, inQueue: 0, reentered: 1 });
  });

  it('a re-entry is not an offer: no queue.offered, no queue.left, no arrival, and conservation holds', async () => {
    await store.enqueue(input('c1'));
    const re = await store.enqueue(input('t1', { countOffer: false, front: true }));
    expect(re.events).toEqual([]);
    expect((await store.position(Q, 't1'))?.position).toBe(1);
    const claimed = await store.claimNext({ queue: Q, offerId: 'o', agentId: 'a', deadline: 0 });
    expect(claimed?.callSid).toBe('t1');
    expect(await store.leave({ ...leaveArgs, callSid: 't1', outcome: 'answered', offerId: 'o' })).toEqual({
      result: 'left',
      events: [],
      priorState: 'offered',
    });
    const t = await store.tally(Q);
    expect(t).toMatchObject({ offered: 1, answered: 0, inQueue: 1, reentered: 1 });
    expect(t.offered).toBe(t.answered + t.abandoned + t.overflow + t.callback + t.inQueue);
    expect(await store.arrivalsSince(Q, 0)).toBe(1);
  });
});

describe('leave', () => {
  it('uses Twilio QueueTime as the wait when given, else now − enqueuedAt', async () => {
    await store.enqueue(input('c1'));
    await store.enqueue(input('c2'));
    await clock.advance(30_000);
    const a = await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned', waitSeconds: 42 });
    expect(left(a.events).waitSeconds).toBe(42);
    const b = await store.leave({ ...leaveArgs, callSid: 'c2', outcome: 'abandoned' });
    expect(left(b.events).waitSeconds).toBe(30);
  });

  it('marks short abandons (wait < shortAbandonSeconds) and counts them', async () => {
    for (const sid of ['c1', 'c2', 'c3']) await store.enqueue(input(sid));
    const a = await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned', waitSeconds: 3 });
    const b = await store.leave({ ...leaveArgs, callSid: 'c2', outcome: 'abandoned', waitSeconds: 5 });
    const c = await store.leave({
      ...leaveArgs,
      callSid: 'c3',
      outcome: 'overflow',
      waitSeconds: 1,
      overflowReason: 'max_wait',
      overflowTarget: 'queue',
    });
    expect(left(a.events)).toMatchObject({ short: true, outcome: 'abandoned', serviceLevelSeconds: SL, contactId: 'contact-c1' });
    expect(left(b.events).short).toBe(false);
    expect(left(c.events)).toMatchObject({ short: false, overflowReason: 'max_wait', overflowTarget: 'queue' });
    expect(await store.tally(Q)).toMatchObject({ abandoned: 2, shortAbandoned: 1, overflow: 1, inQueue: 0 });
  });

  it('is idempotent: a late hangup after answered counts no abandon', async () => {
    await store.enqueue(input('c1'));
    const c = await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'ag1', deadline: 0 });
    expect(c?.callSid).toBe('c1');
    expect(await store.markBridging({ queue: Q, callSid: 'c1', offerId: 'o1' })).toBe('bridging');
    await clock.advance(12_000);
    const ans = await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'answered', offerId: 'o1', team: 'blue' });
    expect(left(ans.events)).toMatchObject({ outcome: 'answered', agentId: 'ag1', team: 'blue', waitSeconds: 12 });
    expect(await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned' })).toEqual({
      result: 'gone',
      events: [],
      priorState: '',
    });
    expect(await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'answered' })).toEqual({ result: 'gone', events: [], priorState: '' });
    expect(await store.tally(Q)).toMatchObject({ offered: 1, answered: 1, abandoned: 0, inQueue: 0 });
  });

  it('rejects answered with a stale offerId (typed stale_offer) and accepts the current one', async () => {
    await store.enqueue(input('c1'));
    await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'ag1', deadline: 0 });
    expect(await store.releaseClaim({ queue: Q, callSid: 'c1', offerId: 'o1' })).toBe('released');
    await store.claimNext({ queue: Q, offerId: 'o2', agentId: 'ag2', deadline: 0 });
    const err = await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'answered', offerId: 'o1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SwitchboardError);
    expect(err).toMatchObject({ code: 'stale_offer', statusCode: 409 });
    await expect(store.markBridging({ queue: Q, callSid: 'c1', offerId: 'o1' })).rejects.toMatchObject({ code: 'stale_offer' });
    expect((await store.position(Q, 'c1'))?.state).toBe('offered');
    const ok = await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'answered', offerId: 'o2' });
    expect(left(ok.events).agentId).toBe('ag2');
  });

  it('carries the first estimate told into queue.left', async () => {
    await store.enqueue(input('c1'));
    const e1 = await store.recordEstimate({ queue: Q, callSid: 'c1', seconds: 120, position: 3 });
    expect(e1.result).toBe('first');
    expect(e1.events).toEqual([{ type: 'ewt.announced', at: clock.now(), callSid: 'c1', queue: Q, seconds: 120, position: 3 }]);
    const e2 = await store.recordEstimate({ queue: Q, callSid: 'c1', seconds: 60, position: 2 });
    expect(e2.result).toBe('again');
    expect(e2.events).toHaveLength(1);
    const l = await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned' });
    expect(left(l.events).ewtToldSeconds).toBe(120);
    expect(await store.recordEstimate({ queue: Q, callSid: 'c1', seconds: 5, position: 1 })).toEqual({ result: 'gone', events: [] });
  });
});

describe('callbacks', () => {
  it('keeps its place, is counted once as callback, and is claimed in order', async () => {
    for (const sid of ['c1', 'c2', 'c3']) await store.enqueue(input(sid));
    await clock.advance(8_000);
    const r = await store.requestCallback({ queue: Q, callSid: 'c2', serviceLevelSeconds: SL, shortAbandonSeconds: SHORT });
    expect(r.result).toBe('requested');
    expect(left(r.events)).toMatchObject({ outcome: 'callback', waitSeconds: 8, short: false, callSid: 'c2' });
    expect(await store.requestCallback({ queue: Q, callSid: 'c2', serviceLevelSeconds: SL })).toEqual({ result: 'already', events: [] });
    // The caller hangs up after asking: the Enqueue action must not count an abandon, nor drop the place.
    expect(await store.leave({ ...leaveArgs, callSid: 'c2', outcome: 'abandoned' })).toEqual({
      result: 'gone',
      events: [],
      priorState: 'callback',
    });
    expect(await store.position(Q, 'c3')).toMatchObject({ position: 3 });
    expect(await store.position(Q, 'c2')).toMatchObject({ position: 2, state: 'callback' });
    expect(await store.snapshot(Q)).toMatchObject({ waiting: 2, callbacksPending: 1, size: 3, offered: 0 });

    const a = await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'x', deadline: 0 });
    const b = await store.claimNext({ queue: Q, offerId: 'o2', agentId: 'y', deadline: 0 });
    expect([a?.callSid, a?.state, b?.callSid, b?.state]).toEqual(['c1', 'waiting', 'c2', 'callback']);
    expect((await store.position(Q, 'c2'))?.state).toBe('callback_offered');
    // The call back did not connect this time: back to callback, same place.
    expect(await store.releaseClaim({ queue: Q, callSid: 'c2', offerId: 'o2' })).toBe('released');
    expect(await store.position(Q, 'c2')).toMatchObject({ position: 2, state: 'callback' });
    const again = await store.claimNext({ queue: Q, offerId: 'o3', agentId: 'y', deadline: 0 });
    expect(again?.callSid).toBe('c2');

    await expect(store.callbackFinished({ queue: Q, callSid: 'c1', result: 'connected' })).rejects.toMatchObject({ code: 'conflict' });
    const done = await store.callbackFinished({ queue: Q, callSid: 'c2', result: 'connected' });
    expect(done).toEqual({
      result: 'removed',
      events: [{ type: 'callback.attempt', at: clock.now(), callSid: 'c2', queue: Q, result: 'connected' }],
    });
    expect(await store.callbackFinished({ queue: Q, callSid: 'c2', result: 'connected' })).toEqual({ result: 'gone', events: [] });
    expect(await store.position(Q, 'c3')).toMatchObject({ position: 2 });
    expect(await store.tally(Q)).toMatchObject({ offered: 3, callback: 1, abandoned: 0, inQueue: 2, callbackConnected: 1 });
  });

  it('does not convert a caller being offered; answers gone for one not in the queue', async () => {
    await store.enqueue(input('c1'));
    await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'x', deadline: 0 });
    expect((await store.requestCallback({ queue: Q, callSid: 'c1', serviceLevelSeconds: SL })).result).toBe('being_offered');
    expect((await store.requestCallback({ queue: Q, callSid: 'zz', serviceLevelSeconds: SL })).result).toBe('gone');
  });

  it('leaves the line: excluded from the longest wait', async () => {
    await store.enqueue(input('c1'));
    await clock.advance(20_000);
    await store.enqueue(input('c2'));
    await clock.advance(10_000);
    expect((await store.snapshot(Q)).longestWaitSeconds).toBe(30);
    await store.requestCallback({ queue: Q, callSid: 'c1', serviceLevelSeconds: SL });
    expect((await store.snapshot(Q)).longestWaitSeconds).toBe(10);
  });
});

describe('claims', () => {
  it('claim and release keep the place; a stale release changes nothing', async () => {
    for (const sid of ['c1', 'c2', 'c3']) await store.enqueue(input(sid));
    const a = await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'x', deadline: 5 });
    const b = await store.claimNext({ queue: Q, offerId: 'o2', agentId: 'y', deadline: 5 });
    expect([a?.callSid, b?.callSid]).toEqual(['c1', 'c2']);
    expect(await store.snapshot(Q)).toMatchObject({ waiting: 3, offered: 2, size: 3 });
    expect(await store.releaseClaim({ queue: Q, callSid: 'c1', offerId: 'nope' })).toBe('stale');
    expect((await store.position(Q, 'c1'))?.state).toBe('offered');
    expect(await store.releaseClaim({ queue: Q, callSid: 'c1', offerId: 'o1' })).toBe('released');
    expect(await store.releaseClaim({ queue: Q, callSid: 'c1', offerId: 'o1' })).toBe('stale');
    expect(await store.position(Q, 'c1')).toMatchObject({ position: 1, state: 'waiting' });
    const c = await store.claimNext({ queue: Q, offerId: 'o3', agentId: 'z', deadline: 5 });
    expect(c?.callSid).toBe('c1');
    expect(await store.markBridging({ queue: Q, callSid: 'c2', offerId: 'o2' })).toBe('bridging');
    expect(await store.markBridging({ queue: Q, callSid: 'c2', offerId: 'o2' })).toBe('bridging');
    expect(await store.snapshot(Q)).toMatchObject({ offered: 1, bridging: 1 });
    const d = await store.claimNext({ queue: Q, offerId: 'o4', agentId: 'w', deadline: 5 });
    expect(d?.callSid).toBe('c3');
    expect(await store.claimNext({ queue: Q, offerId: 'o5', agentId: 'v', deadline: 5 })).toBeNull();
    await store.leave({ ...leaveArgs, callSid: 'c2', outcome: 'abandoned' });
    expect(await store.markBridging({ queue: Q, callSid: 'c2', offerId: 'o2' })).toBe('gone');
    expect(await store.releaseClaim({ queue: Q, callSid: 'c2', offerId: 'o2' })).toBe('gone');
    expect(await store.snapshot(Q)).toMatchObject({ waiting: 2, offered: 2, bridging: 0, size: 2 });
  });

  it('a caller who hangs up while being offered is no longer claimable or offered', async () => {
    await store.enqueue(input('c1'));
    await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'x', deadline: 0 });
    await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned' });
    expect(await store.releaseClaim({ queue: Q, callSid: 'c1', offerId: 'o1' })).toBe('gone');
    expect(await store.snapshot(Q)).toEqual({ waiting: 0, callbacksPending: 0, offered: 0, bridging: 0, longestWaitSeconds: 0, size: 0 });
    expect(await store.claimNext({ queue: Q, offerId: 'o2', agentId: 'x', deadline: 0 })).toBeNull();
  });

  it('reads a caller record while it is in the queue', async () => {
    await store.enqueue(input('c1', { priority: 3, language: 'es', meta: { callbackTo: '+15550001' } }));
    await store.enqueue(input('t1', { countOffer: false }));
    await store.recordEstimate({ queue: Q, callSid: 'c1', seconds: 90, position: 1 });
    await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'ag', deadline: 0 });
    expect(await store.callerInfo(Q, 'c1')).toEqual({
      callSid: 'c1',
      contactId: 'contact-c1',
      callerHash: 'h-c1',
      priority: 3,
      enqueuedAt: clock.now(),
      state: 'offered',
      offerId: 'o1',
      agentId: 'ag',
      queueSid: null,
      ewtToldSeconds: 90,
      language: 'es',
      ivrPath: null,
      callback: false,
      counted: true,
      meta: { callbackTo: '+15550001' },
    });
    expect(await store.callerInfo(Q, 't1')).toMatchObject({ counted: false, state: 'waiting', offerId: null });
    await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned' });
    expect(await store.callerInfo(Q, 'c1')).toBeNull();
    expect(await store.callerInfo(Q, 'zz')).toBeNull();
  });

  it('stores the Twilio queue sid for callers in the queue only', async () => {
    await store.enqueue(input('c1'));
    expect(await store.setQueueSid(Q, 'c1', 'QU123')).toEqual({ stored: true, awaitedBy: null });
    expect(await store.setQueueSid(Q, 'zz', 'QU123')).toEqual({ stored: false, awaitedBy: null });
    expect((await store.claimNext({ queue: Q, offerId: 'o', agentId: 'a', deadline: 0 }))?.queueSid).toBe('QU123');
    await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'answered', offerId: 'o' });
    expect(await store.setQueueSid(Q, 'c1', 'QU123')).toEqual({ stored: false, awaitedBy: null });
  });

  it('a bridge awaiting the queue sid is handed it once, by the request that brings it', async () => {
    for (const c of ['c1', 'c2', 'c3', 'c4']) await store.enqueue(input(c));
    await store.setQueueSid(Q, 'c2', 'QU2');
    // Only a caller being bridged under this very offer can be awaited.
    expect(await store.awaitQueueSid(Q, 'c1', 'o1')).toEqual({ result: 'gone' });
    for (const [i, c] of ['c1', 'c2', 'c3', 'c4'].entries()) {
      expect((await store.claimNext({ queue: Q, offerId: `o${i + 1}`, agentId: 'a', deadline: 0 }))?.callSid).toBe(c);
      expect(await store.markBridging({ queue: Q, callSid: c, offerId: `o${i + 1}` })).toBe('bridging');
    }
    expect(await store.awaitQueueSid(Q, 'c1', 'other')).toEqual({ result: 'gone' });
    // Known already: no wait.
    expect(await store.awaitQueueSid(Q, 'c2', 'o2')).toEqual({ result: 'sid', queueSid: 'QU2' });
    expect(await store.awaitQueueSid(Q, 'c1', 'o1')).toEqual({ result: 'waiting' });
    expect(await store.setQueueSid(Q, 'c1', 'QU1')).toEqual({ stored: true, awaitedBy: 'o1' });
    // Taken once: later waitUrl requests (and the bridge's own timeout) find no wait.
    expect(await store.setQueueSid(Q, 'c1', 'QU1')).toEqual({ stored: true, awaitedBy: null });
    expect(await store.stopAwaitingQueueSid(Q, 'c1')).toBe(false);
    // A wait the bridge gave up is not handed to a later request.
    expect(await store.awaitQueueSid(Q, 'c3', 'o3')).toEqual({ result: 'waiting' });
    expect(await store.stopAwaitingQueueSid(Q, 'c3')).toBe(true);
    expect(await store.setQueueSid(Q, 'c3', 'QU3')).toEqual({ stored: true, awaitedBy: null });
    // Nor one of a released claim.
    expect(await store.awaitQueueSid(Q, 'c4', 'o4')).toEqual({ result: 'waiting' });
    expect(await store.releaseClaim({ queue: Q, callSid: 'c4', offerId: 'o4' })).toBe('released');
    expect(await store.setQueueSid(Q, 'c4', 'QU4')).toEqual({ stored: true, awaitedBy: null });
  });

  it('race: 10 connections claiming concurrently never get the same caller, and every caller is claimed once', async () => {
    const n = 500;
    for (let i = 0; i < n; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => store.enqueue(input(`c${i + j}`, { priority: (i + j) % 3 }))));
    }
    const conns = Array.from({ length: 10 }, () => newRedis());
    extra.push(...conns);
    const stores = conns.map((c) => createQueueStore(c, keys, clock));
    const owner = new Map<string, string>();
    let offer = 0;
    let rounds = 0;
    for (;;) {
      rounds++;
      const got = await Promise.all(
        stores.flatMap((s, si) =>
          Array.from({ length: 4 }, () => {
            const offerId = `r${rounds}-s${si}-${offer++}`;
            return s.claimNext({ queue: Q, offerId, agentId: `agent${si}`, deadline: 0 }).then((c) => ({ c, offerId }));
          }),
        ),
      );
      let any = false;
      for (const { c, offerId } of got) {
        if (!c) continue;
        any = true;
        expect(owner.has(c.callSid), `${c.callSid} claimed twice`).toBe(false);
        owner.set(c.callSid, offerId);
      }
      if (!any) break;
      // Now and then give some back while others are claiming: each must be claimed again exactly once.
      if (rounds % 3 === 0) {
        const back = [...owner.entries()].slice(-7);
        const racing = stores.map((s, si) => s.claimNext({ queue: Q, offerId: `x${rounds}-${si}`, agentId: `agent${si}`, deadline: 0 }));
        const released = back.map(([sid, offerId]) => store.releaseClaim({ queue: Q, callSid: sid, offerId }));
        const [claims, rel] = await Promise.all([Promise.all(racing), Promise.all(released)]);
        expect(rel.every((r) => r === 'released')).toBe(true);
        for (const [sid] of back) owner.delete(sid);
        for (const [si, c] of claims.entries()) {
          if (!c) continue;
          expect(owner.has(c.callSid), `${c.callSid} claimed twice`).toBe(false);
          owner.set(c.callSid, `x${rounds}-${si}`);
        }
      }
    }
    expect(rounds).toBeGreaterThan(5);
    expect(owner.size).toBe(n);
    expect(await store.snapshot(Q)).toMatchObject({ waiting: n, offered: n, size: n });
    // Everyone holds exactly the offer we recorded for it.
    for (const [sid, offerId] of [...owner.entries()].slice(0, 50)) {
      expect(await redis.hget(keys.queue(Q).caller(sid), 'o')).toBe(offerId); // o: the offer (short field names)
    }
  });
});

describe('events, tallies and side lists', () => {
  it('appends every event to the queue stream in the same script that returns it', async () => {
    const returned: DomainEvent[] = [];
    const keep = <T extends { events: DomainEvent[] }>(r: T): T => {
      returned.push(...r.events);
      return r;
    };
    keep(await store.enqueue(input('c1')));
    keep(await store.enqueue(input('c2')));
    keep(await store.enqueue(input('c3', { maxLength: 2 })));
    keep(await store.recordEstimate({ queue: Q, callSid: 'c2', seconds: 30, position: 2 }));
    keep(await store.requestCallback({ queue: Q, callSid: 'c2', serviceLevelSeconds: SL }));
    await store.claimNext({ queue: Q, offerId: 'o', agentId: 'a', deadline: 0 });
    keep(await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'answered', offerId: 'o' }));
    keep(await store.callbackFinished({ queue: Q, callSid: 'c2', result: 'no_answer' }));
    expect(returned.map((e) => e.type)).toEqual([
      'queue.offered',
      'queue.offered',
      'queue.offered',
      'queue.left',
      'ewt.announced',
      'queue.left',
      'queue.left',
      'callback.attempt',
    ]);
    expect(await streamEvents()).toEqual(returned);
  });

  it('keeps the newest 200 handle times, newest first', async () => {
    for (let i = 1; i <= 250; i++) await store.pushHandleTime(Q, i);
    expect(await redis.llen(keys.queue(Q).handleTimes)).toBe(200);
    expect(await store.recentHandleTimes(Q, 3)).toEqual([250, 249, 248]);
    expect(await store.recentHandleTimes(Q, 1000)).toHaveLength(200);
    expect(await store.recentHandleTimes(Q, 0)).toEqual([]);
  });

  it('serves entries written with the long field names of the format before once upgraded at start-up', async () => {
    const LONG: Record<string, string> = {
      s: 'state',
      c: 'callerHash',
      t: 'enqueuedAt',
      i: 'contactId',
      l: 'language',
      p: 'ivrPath',
      Q: 'queueSid',
      e: 'ewtTold',
      b: 'cb',
      B: 'callbackAt',
      o: 'offerId',
      a: 'agentId',
      d: 'offerDeadline',
      O: 'offeredAt',
      g: 'bridgingAt',
      W: 'awaitSid',
    };
    await store.enqueue(input('c1', { language: 'es', ivrPath: 'main>2', meta: { account: '42' } }));
    await store.enqueue(input('c2', { countOffer: false, priority: 5 }));
    await store.enqueue(input('c3', { meta: { callbackTo: '+15550003', calledNumber: '+18005550100' } }));
    await store.enqueue(input('c4'));
    await store.enqueue(input('c5'));
    await store.setQueueSid(Q, 'c1', 'QU1');
    await store.recordEstimate({ queue: Q, callSid: 'c1', seconds: 40, position: 2 });
    await store.requestCallback({ queue: Q, callSid: 'c4', serviceLevelSeconds: SL });
    await store.leave({ ...leaveArgs, callSid: 'c5', outcome: 'abandoned' });
    const claimed = await store.claimNext({ queue: Q, offerId: 'o1', agentId: 'alice', deadline: clock.now() + 15_000 });
    expect(claimed?.callSid).toBe('c2');
    const sids = ['c1', 'c2', 'c3', 'c4'];
    const before = await Promise.all(sids.map((c) => store.callerInfo(Q, c)));
    const positions = await Promise.all(sids.map((c) => store.position(Q, c)));
    // Rewrite every entry as the format before wrote it: long names, counted and priority always, callSid
    // and front; and the tombstone of c5 with state / outcome / reason.
    const k = keys.queue(Q);
    for (const c of sids) {
      const h = await redis.hgetall(k.caller(c));
      const old: Record<string, string> = { callSid: c, front: '0', counted: h.n === '0' ? '0' : '1', priority: h.r ?? '0' };
      for (const [f, v] of Object.entries(h)) if (LONG[f]) old[LONG[f]] = v;
      const OLD_META: Record<string, string> = { '>f': 'm:callbackTo', '>n': 'm:calledNumber' };
      for (const [f, v] of Object.entries(h)) if (f.startsWith('m:') || OLD_META[f]) old[OLD_META[f] ?? f] = v;
      await redis.del(k.caller(c));
      await redis.hset(k.caller(c), old);
    }
    await redis.del(k.caller('c5'));
    await redis.hset(k.caller('c5'), { state: 'left', outcome: 'abandoned', reason: '' });
    // Every entry in `waiting` beside `ready`, as the format before kept them (no `held`).
    for (const z of [k.ready, k.held]) {
      const rows = await redis.zrange(z, 0, -1, 'WITHSCORES');
      for (let i = 0; i < rows.length; i += 2) await redis.zadd(k.waiting, rows[i + 1]!, rows[i]!);
    }
    await redis.del(k.held);
    expect(await redis.zcard(k.waiting)).toBe(4);

    expect(await store.upgradeEntries(Q)).toBe(4);
    expect(await store.upgradeEntries(Q)).toBe(0);
    expect(await Promise.all(sids.map((c) => store.callerInfo(Q, c)))).toEqual(before);
    expect(await Promise.all(sids.map((c) => store.position(Q, c)))).toEqual(positions);
    expect(await redis.exists(k.waiting)).toBe(0);
    expect(await redis.zrange(k.held, 0, -1)).toEqual(['c2']);
    expect(Object.keys(await redis.hgetall(k.caller('c1'))).sort()).toEqual(['Q', 'c', 'e', 'i', 'l', 'm:account', 'p', 's', 't']);
    // Served as before: the offer is answered, the others leave, the old tombstone keeps c5 out.
    expect((await store.leave({ ...leaveArgs, callSid: 'c2', outcome: 'answered', offerId: 'o1' })).events).toEqual([]);
    const c1 = await store.leave({ ...leaveArgs, callSid: 'c1', outcome: 'abandoned' });
    expect(c1.events[0]).toMatchObject({ type: 'queue.left', outcome: 'abandoned', contactId: 'contact-c1', ewtToldSeconds: 40 });
    expect((await store.claimNext({ queue: Q, offerId: 'o2', agentId: 'bob', deadline: 0 }))?.callSid).toBe('c3');
    expect((await store.leave({ ...leaveArgs, callSid: 'c3', outcome: 'answered', offerId: 'o2' })).events[0]).toMatchObject({
      outcome: 'answered',
      agentId: 'bob',
    });
    expect(await store.callbackFinished({ queue: Q, callSid: 'c4', result: 'connected' })).toMatchObject({ result: 'removed' });
    expect(await store.enqueue(input('c5'))).toEqual({ result: 'gone', events: [] });
    const t = await store.tally(Q);
    expect(t).toMatchObject({ offered: 4, answered: 1, abandoned: 2, callback: 1, inQueue: 0, reentered: 1 });
    expect(t.offered).toBe(t.answered + t.abandoned + t.overflow + t.callback + t.inQueue);
  });

  it('counts arrivals in the capacity window and forgets those older than 7 days', async () => {
    const day = 24 * 3600 * 1000;
    const t0 = clock.now();
    await store.enqueue(input('c1'));
    await store.enqueue(input('c2', { at: t0 + 3 * day }));
    await store.enqueue(input('c3', { at: t0 + 3 * day + 1000, countOffer: false }));
    expect(await store.arrivalsSince(Q, t0)).toBe(2);
    expect(await store.arrivalsSince(Q, t0 + day)).toBe(1);
    await store.enqueue(input('c4', { at: t0 + 8 * day }));
    const buckets = async () => Object.keys(await redis.hgetall(keys.queue(Q).arrivals)).filter((f) => /^\d+$/.test(f));
    expect(await buckets()).toHaveLength(2);
    expect(await store.arrivalsSince(Q, 0)).toBe(2);
    // Counted per 10-second bucket: the bucket holding `since` is counted whole.
    const t1 = t0 + 8 * day + 60_000;
    const b = Math.floor(t1 / 10_000) * 10_000;
    await store.enqueue(input('c5', { at: b + 1_000 }));
    await store.enqueue(input('c6', { at: b + 9_000 }));
    await store.enqueue(input('c7', { at: b + 10_000 }));
    expect(await store.arrivalsSince(Q, b + 5_000)).toBe(3);
    expect(await store.arrivalsSince(Q, b + 10_000)).toBe(1);
    expect(await store.arrivalsSince(Q, b + 20_000)).toBe(0);
    expect(await store.arrivalsSince(Q, t0 + 7 * day)).toBe(4);
    // A month without arrivals: the next one leaves only its own bucket.
    await store.enqueue(input('c8', { at: t1 + 30 * day }));
    expect(await buckets()).toEqual([String(Math.floor((t1 + 30 * day) / 10_000))]);
    expect(await store.arrivalsSince(Q, 0)).toBe(1);
  });

  it('counts the arrivals of the format before (a ZSET per arrival) until they age out, and gives them a week to live', async () => {
    const t0 = clock.now();
    const legacy = keys.queue(Q).legacyArrivals;
    await redis.zadd(legacy, t0 - 7_200_000, 'old1', t0 - 1_800_000, 'old2', t0 - 60_000, 'old3');
    expect(await store.arrivalsSince(Q, t0 - 3_600_000)).toBe(2);
    await store.enqueue(input('c1'));
    expect(await store.arrivalsSince(Q, t0 - 3_600_000)).toBe(3);
    const ttl = await redis.pttl(legacy);
    expect(ttl).toBeGreaterThan(6 * 24 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3_600_000);
    await store.enqueue(input('c2'));
    expect(await redis.pttl(legacy)).toBeLessThanOrEqual(ttl);
  });

  it('conservation holds after a random mix of operations (offered = answered + abandoned + overflow + callback + waiting)', async () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
    const offers = new Map<string, string>();
    const all: string[] = [];
    let next = 0;
    for (let step = 0; step < 1500; step++) {
      await clock.advance(Math.floor(rnd() * 4000));
      const op = rnd();
      const sid = pick(all) ?? 'none';
      if (op < 0.3) {
        const id = rnd() < 0.1 && all.length ? sid : `c${next++}`;
        if (!all.includes(id)) all.push(id);
        await store.enqueue(
          input(id, {
            priority: Math.floor(rnd() * 10),
            front: rnd() < 0.1,
            maxLength: 40,
            noAgentsStaffed: rnd() < 0.05,
            whenNoAgents: rnd() < 0.5 ? 'overflow' : 'wait',
          }),
        );
      } else if (op < 0.4) {
        await store.leave({
          ...leaveArgs,
          callSid: sid,
          outcome: 'abandoned',
          waitSeconds: rnd() < 0.5 ? Math.floor(rnd() * 60) : undefined,
        });
      } else if (op < 0.45) {
        await store.leave({ ...leaveArgs, callSid: sid, outcome: 'overflow', overflowReason: 'max_wait' });
      } else if (op < 0.52) {
        await store.requestCallback({ queue: Q, callSid: sid, serviceLevelSeconds: SL });
      } else if (op < 0.7) {
        const offerId = `o${step}`;
        const c = await store.claimNext({ queue: Q, offerId, agentId: 'a', deadline: 0 });
        if (c) offers.set(c.callSid, offerId);
      } else if (op < 0.78) {
        await store.releaseClaim({ queue: Q, callSid: sid, offerId: offers.get(sid) ?? 'x' });
      } else if (op < 0.83) {
        await store.markBridging({ queue: Q, callSid: sid, offerId: offers.get(sid) ?? 'x' }).catch(() => undefined);
      } else if (op < 0.93) {
        // Sometimes with a stale offer id (rejected), sometimes with none (Twilio's own dequeue).
        const offerId = rnd() < 0.8 ? offers.get(sid) : undefined;
        await store
          .leave({ ...leaveArgs, callSid: sid, outcome: 'answered', offerId: offerId ?? (rnd() < 0.5 ? 'stale' : undefined) })
          .catch((e: unknown) => expect(e).toMatchObject({ code: 'stale_offer' }));
      } else {
        await store.callbackFinished({ queue: Q, callSid: sid, result: rnd() < 0.7 ? 'connected' : 'failed' }).catch(() => undefined);
      }
    }
    const t = await store.tally(Q);
    const snap = await store.snapshot(Q);
    expect(t.offered).toBeGreaterThan(200);
    expect(t.answered).toBeGreaterThan(10);
    expect(t.callback).toBeGreaterThan(10);
    expect(t.overflow).toBeGreaterThan(10);
    expect(t.offered).toBe(t.answered + t.abandoned + t.overflow + t.callback + t.inQueue);
    expect(t.inQueue).toBe(snap.waiting);

    // The stream tells the same story as the tally.
    const evs = await streamEvents();
    const count = (f: (e: DomainEvent) => boolean): number => evs.filter(f).length;
    expect(count((e) => e.type === 'queue.offered')).toBe(t.offered);
    for (const outcome of ['answered', 'abandoned', 'overflow', 'callback'] as const) {
      expect(count((e) => e.type === 'queue.left' && e.outcome === outcome)).toBe(t[outcome]);
    }
    expect(count((e) => e.type === 'queue.left' && e.short)).toBe(t.shortAbandoned);

    // Index invariants: ready = waiting|callback states, held = the others (ready and held are disjoint and
    // together the queue); offering = offered states; callbacks = cb entries.
    const k = keys.queue(Q);
    const held = await redis.zrange(k.held, 0, -1);
    const ready = new Set(await redis.zrange(k.ready, 0, -1));
    const members = [...ready, ...held];
    expect(new Set(members).size).toBe(members.length);
    expect(ready.size + held.length).toBe((await store.snapshot(Q)).size);
    expect(await redis.exists(k.waiting)).toBe(0);
    const offering = new Set(await redis.smembers(k.offering));
    const callbacks = new Set(await redis.smembers(k.callbacks));
    const since = new Set(await redis.zrange(k.since, 0, -1));
    for (const m of members) {
      const [state, cb] = await redis.hmget(k.caller(m), 's', 'b'); // state, callback (short field names)
      expect(ready.has(m)).toBe(state === 'waiting' || state === 'callback');
      expect(offering.has(m)).toBe(state === 'offered' || state === 'callback_offered');
      expect(callbacks.has(m)).toBe(cb === '1');
      expect(since.has(m)).toBe(cb !== '1');
    }
    expect(ready.size + offering.size).toBeLessThanOrEqual(members.length);
    expect(since.size + callbacks.size).toBe(members.length);
  });
});

describe('Redis Cluster readiness', () => {
  it('every command the store sends keeps its keys in one slot, the queue tag', async () => {
    const shaToName = new Map(
      loadScripts()
        .filter((d) => d.name.startsWith('queue'))
        .map((d) => [createHash('sha1').update(d.lua).digest('hex'), d.name]),
    );
    const seen: { name: string; keys: string[] }[] = [];
    // Both clients (Redis and Cluster) route every command, pipelined or not, through sendCommand.
    const client = redis as unknown as { sendCommand: (cmd: Command, ...rest: unknown[]) => unknown };
    const original = client.sendCommand.bind(redis);
    client.sendCommand = (cmd: Command, ...rest: unknown[]) => {
      const keysOf = cmd.getKeys().map(String);
      const name = cmd.name === 'evalsha' ? (shaToName.get(String(cmd.args[0])) ?? 'evalsha') : cmd.name;
      seen.push({ name, keys: keysOf });
      return original(cmd, ...rest);
    };
    const q2 = 'sales';
    for (const queue of [Q, q2]) {
      await store.enqueue(input('c1', { queue }));
      await store.enqueue(input('c2', { queue, maxLength: 1 }));
      await store.enqueue(input('c3', { queue }));
      await store.setQueueSid(queue, 'c1', 'QU1');
      await store.position(queue, 'c1');
      await store.callerInfo(queue, 'c1');
      await store.recordEstimate({ queue, callSid: 'c1', seconds: 10, position: 1 });
      await store.requestCallback({ queue, callSid: 'c3', serviceLevelSeconds: SL });
      const c = await store.claimNext({ queue, offerId: 'o1', agentId: 'a', deadline: 0 });
      expect(c?.callSid).toBe('c1');
      await store.releaseClaim({ queue, callSid: 'c1', offerId: 'o1' });
      await store.claimNext({ queue, offerId: 'o2', agentId: 'a', deadline: 0 });
      await store.markBridging({ queue, callSid: 'c1', offerId: 'o2' });
      await store.awaitQueueSid(queue, 'c1', 'o2');
      await store.stopAwaitingQueueSid(queue, 'c1');
      await store.leave({ queue, callSid: 'c1', outcome: 'answered', offerId: 'o2', shortAbandonSeconds: SHORT, serviceLevelSeconds: SL });
      await store.callbackFinished({ queue, callSid: 'c3', result: 'connected' });
      await store.snapshot(queue);
      await store.tally(queue);
      await store.pushHandleTime(queue, 100);
      await store.recentHandleTimes(queue, 5);
      await store.arrivalsSince(queue, 0);
      await store.upgradeEntries(queue);
    }
    client.sendCommand = original;

    const scripts = new Set(seen.map((s) => s.name).filter((n) => n.startsWith('queue')));
    expect([...scripts].sort()).toEqual([...shaToName.values()].sort());
    const withKeys = seen.filter((s) => s.keys.length > 0);
    expect(withKeys.length).toBeGreaterThan(40);
    for (const s of withKeys) {
      const tags = new Set(s.keys.map((k) => /\{([^}]+)\}/.exec(k)?.[1]));
      expect(tags.size, `${s.name}: ${s.keys.join(' ')}`).toBe(1);
      expect([...tags][0]).toMatch(/^q:(support|sales)$/);
      expect(new Set(s.keys.map(keySlot)).size, `${s.name} spans slots`).toBe(1);
    }
    expect(keySlot(keys.queue(Q).waiting)).not.toBe(keySlot(keys.queue(q2).waiting));
  });

  it('the one key built inside a script (claim) is the catalogue key, in the same slot', () => {
    const k = keys.queue(Q);
    expect(k.callerPrefix + 'CA123').toBe(k.caller('CA123'));
    expect(keySlot(k.caller('CA123'))).toBe(keySlot(k.waiting));
    expect(keySlot('123456789')).toBe(0x31c3 % 16384); // CRC16/XMODEM check value
  });
});
