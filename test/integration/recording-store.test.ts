/**
 * The call's recording in Redis (src/queue/recording-store.ts, recordingState-1.lua) against a real Redis
 * (and the cluster project's Redis Cluster): Twilio's callbacks applied once each whatever their order,
 * pause / resume only on the live recording they name and only when they change it, a second recording
 * of the same call (a transfer into another queue that records) taking over, and the call's TTL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecordingStore, type RecordingStore } from '../../src/queue/recording-store.js';
import { createKeys, type Keys } from '../../src/store/keys.js';
import type { RedisClient } from '../../src/store/redis.js';
import { createScripts } from '../../src/store/scripts.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';

const CALL = 'CA' + '1'.repeat(32);
const CONF = 'CF' + '2'.repeat(32);
const RE1 = 'RE' + '3'.repeat(32);
const RE2 = 'RE' + '4'.repeat(32);
const URL1 = 'https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/' + RE1;

let redis: RedisClient;
let keys: Keys;
let store: RecordingStore;

beforeEach(() => {
  redis = newRedis();
  keys = createKeys(uniquePrefix('rec'));
  store = createRecordingStore(redis, keys, createScripts(redis), 600);
});
afterEach(() => redis.disconnect());

const cb = (recordingSid: string, change: 'in-progress' | 'completed' | 'failed' | 'absent', extra = {}) =>
  store.change(CALL, { recordingSid, change, conferenceSid: CONF, queue: 'support', now: 1000, ...extra });

describe('recording store', () => {
  it('applies each callback once, pauses and resumes only a live recording, and only when it changes', async () => {
    expect(await store.get(CALL)).toBeNull();
    expect(await store.change(CALL, { recordingSid: RE1, change: 'paused', now: 1 })).toEqual({ changed: false, status: '' });
    expect(await cb(RE1, 'in-progress')).toEqual({ changed: true, status: 'in-progress' });
    expect(await cb(RE1, 'in-progress')).toEqual({ changed: false, status: 'in-progress' }); // Twilio retried it
    expect(await store.get(CALL)).toEqual({ sid: RE1, conferenceSid: CONF, queue: 'support', status: 'in-progress' });
    expect(await store.change(CALL, { recordingSid: RE1, change: 'resumed', now: 2 })).toEqual({ changed: false, status: 'in-progress' });
    expect(await store.change(CALL, { recordingSid: RE1, change: 'paused', now: 3 })).toEqual({ changed: true, status: 'paused' });
    expect(await store.change(CALL, { recordingSid: RE1, change: 'paused', now: 4 })).toEqual({ changed: false, status: 'paused' });
    expect(await store.change(CALL, { recordingSid: RE2, change: 'resumed', now: 5 })).toEqual({ changed: false, status: 'paused' });
    expect(await store.change(CALL, { recordingSid: RE1, change: 'resumed', now: 6 })).toEqual({ changed: true, status: 'in-progress' });
    expect(await cb(RE1, 'completed', { durationSeconds: 42, url: URL1 })).toEqual({ changed: true, status: 'completed' });
    expect(await cb(RE1, 'completed', { durationSeconds: 42, url: URL1 })).toEqual({ changed: false, status: 'completed' });
    // Ended: no more pauses.
    expect(await store.change(CALL, { recordingSid: RE1, change: 'paused', now: 7 })).toEqual({ changed: false, status: 'completed' });
    const h = await redis.hgetall(keys.call(CALL).recording);
    expect(h).toMatchObject({ sid: RE1, status: 'completed', duration: '42', url: URL1 });
    const ttl = await redis.ttl(keys.call(CALL).recording);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('a completed callback before the in-progress one: the late in-progress does not reopen it', async () => {
    expect(await cb(RE1, 'completed', { durationSeconds: 9, url: URL1 })).toEqual({ changed: true, status: 'completed' });
    expect(await cb(RE1, 'in-progress')).toEqual({ changed: true, status: 'completed' });
    expect(await store.get(CALL)).toMatchObject({ sid: RE1, status: 'completed' });
  });

  it("a second recording of the call takes over; the first one's late completion is applied without changing it", async () => {
    await cb(RE1, 'in-progress');
    await cb(RE2, 'in-progress');
    expect(await store.get(CALL)).toMatchObject({ sid: RE2, status: 'in-progress' });
    expect(await cb(RE1, 'completed', { durationSeconds: 30, url: URL1 })).toEqual({ changed: true, status: 'in-progress' });
    expect(await store.get(CALL)).toMatchObject({ sid: RE2, status: 'in-progress' });
    expect(await cb(RE2, 'absent')).toEqual({ changed: true, status: 'absent' });
    expect(await store.get(CALL)).toMatchObject({ sid: RE2, status: 'absent' });
  });
});
