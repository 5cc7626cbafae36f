import { createHash } from 'node:crypto';
import type { Command } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentStore, type AgentStore, type ReserveInput, type UpsertAgentInput } from '../../src/agents/store.js';
import { VirtualClock } from '../../src/clock.js';
import { SwitchboardError } from '../../src/errors.js';
import type { DomainEvent, EventOf } from '../../src/events.js';
import { createKeys, type Keys } from '../../src/store/keys.js';
import { loadScripts } from '../../src/store/redis.js';
import type { RedisClient } from '../../src/store/redis.js';
import { newRedis, uniquePrefix } from '../helpers/redis.js';

const Q = 'support';
const OFFER_MS = 15_000;

let redis: RedisClient;
let keys: Keys;
let clock: VirtualClock;
let store: AgentStore;
const extra: RedisClient[] = [];

beforeEach(() => {
  redis = newRedis();
  keys = createKeys(uniquePrefix('agents'));
  clock = new VirtualClock();
  store = createAgentStore(redis, keys, clock);
});

afterEach(async () => {
  await Promise.all([redis, ...extra.splice(0)].map((r) => r.quit()));
});

async function addAgent(id: string, over: Partial<UpsertAgentInput> = {}): Promise<void> {
  await store.upsertAgent({ id, team: 'default', skills: [], contact: `client:${id}`, ...over });
}

async function signIn(id: string): Promise<DomainEvent[]> {
  return (await store.setState({ agentId: id, to: 'available' })).events;
}

/** Add agents and sign them in one second apart, in the order given (the first is the longest idle). */
async function staff(ids: string[], over: Partial<UpsertAgentInput> = {}): Promise<void> {
  for (const id of ids) {
    await addAgent(id, over);
    await signIn(id);
    await clock.advance(1000);
  }
}

let seq = 0;
async function reserve(over: Partial<ReserveInput> = {}, s: AgentStore = store) {
  const n = ++seq;
  const offerId = `of_${n}`;
  const r = await s.reserve({
    offerId,
    queue: Q,
    callSid: `CA${n}`,
    requiredSkills: [],
    strategy: 'longest_idle',
    deadline: clock.now() + OFFER_MS,
    ...over,
  });
  return { offerId, callSid: `CA${n}`, agentId: r?.agentId ?? null, r };
}

async function streamEvents(): Promise<DomainEvent[]> {
  const rows = await redis.xrange(keys.agents.events, '-', '+');
  return rows.map(([, fields]) => {
    const type = fields[fields.indexOf('type') + 1];
    const ev = JSON.parse(fields[fields.indexOf('data') + 1]!) as DomainEvent;
    expect(ev.type).toBe(type);
    return ev;
  });
}

function only<T extends DomainEvent['type']>(events: DomainEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

async function availableIds(): Promise<string[]> {
  return redis.zrange(keys.agents.available, 0, -1);
}

async function expectError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SwitchboardError);
  expect((err as SwitchboardError).code).toBe(code);
  expect((err as SwitchboardError).message).toMatch(message);
}

/** Put an agent on a call: sign in, reserve, accept. */
async function onCall(id: string) {
  const o = await reserve({ excludeAgents: [] });
  expect(o.agentId).toBe(id);
  const acc = await store.acceptOffer({ agentId: id, offerId: o.offerId });
  return { ...o, acc };
}

describe('records', () => {
  it('creates agents offline, keeps state on a second upsert, and reads them typed', async () => {
    const t0 = clock.now();
    expect(await store.upsertAgent({ id: 'ann', team: 'red', skills: ['billing', 'es'], contact: 'client:ann' })).toEqual({
      created: true,
    });
    expect(await store.get('ann')).toMatchObject({
      id: 'ann',
      team: 'red',
      skills: ['billing', 'es'],
      contact: 'client:ann',
      state: 'offline',
      stateSince: t0,
      breakReason: null,
      idleSince: null,
      callsHandled: 0,
      callsToday: 0,
      offerId: null,
      callSid: null,
      holdSeconds: 0,
      connected: false,
    });
    await clock.advance(5000);
    await signIn('ann');
    expect(await store.upsertAgent({ id: 'ann', team: 'blue', skills: ['billing'], contact: '+15550001111' })).toEqual({ created: false });
    expect(await store.get('ann')).toMatchObject({
      state: 'available',
      stateSince: t0 + 5000,
      idleSince: t0 + 5000,
      team: 'blue',
      skills: ['billing'],
      contact: '+15550001111',
    });
    expect(await store.get('nobody')).toBeNull();
  });

  it('lists, counts by state and team, and counts staffing for skills', async () => {
    await addAgent('c', { team: 'red', skills: ['billing'] });
    await addAgent('a', { team: 'red', skills: ['billing', 'es'] });
    await addAgent('b', { team: 'blue', skills: ['es'] });
    await addAgent('d', { team: 'blue', skills: [] });
    await signIn('a');
    await signIn('b');
    await store.setState({ agentId: 'c', to: 'break', reason: 'lunch' });
    expect((await store.list()).map((r) => [r.id, r.state])).toEqual([
      ['a', 'available'],
      ['b', 'available'],
      ['c', 'break'],
      ['d', 'offline'],
    ]);
    const counts = await store.countByState();
    expect(counts.byState).toEqual({ offline: 1, available: 2, reserved: 0, on_call: 0, wrap_up: 0, break: 1 });
    expect(counts.byTeam.red).toMatchObject({ available: 1, break: 1, offline: 0 });
    expect(counts.byTeam.blue).toMatchObject({ available: 1, offline: 1 });
    const rows = await store.countByStateAndTeam();
    expect(rows).toHaveLength(4);
    expect(rows).toContainEqual({ state: 'offline', team: 'blue', count: 1 });
    expect(rows.reduce((s, r) => s + r.count, 0)).toBe(4);

    expect(await store.staffedFor([])).toEqual({ staffed: 3, available: 2 });
    expect(await store.staffedFor(['billing'])).toEqual({ staffed: 2, available: 1 });
    expect(await store.staffedFor(['billing', 'es'])).toEqual({ staffed: 1, available: 1 });
    expect(await store.staffedFor(['fr'])).toEqual({ staffed: 0, available: 0 });
    await reserve();
    expect(await store.staffedFor(['es'])).toEqual({ staffed: 2, available: 1 });
  });

  it('rejects skills and ids that cannot travel as comma lists', async () => {
    await expectError(store.upsertAgent({ id: 'x', team: 't', skills: ['a,b'], contact: 'c' }), 'invalid_params', /skills/);
    await expectError(reserve({ requiredSkills: ['bad skill'] }), 'invalid_params', /requiredSkills/);
    await expectError(reserve({ strategy: 'random' as never }), 'invalid_params', /strategy/);
  });
});

describe('setState', () => {
  it('follows the transition table and reports secondsInFrom exactly', async () => {
    await addAgent('ann', { team: 'red' });
    await clock.advance(60_000);
    const in1 = await store.setState({ agentId: 'ann', to: 'available', instance: 'i-1' });
    expect(in1).toMatchObject({ from: 'offline', to: 'available', changed: true, releasedOffer: null });
    expect(in1.events).toEqual([
      { type: 'agent.state', at: clock.now(), agentId: 'ann', team: 'red', from: 'offline', to: 'available', secondsInFrom: 60 },
    ]);
    expect(await availableIds()).toEqual(['ann']);
    expect((await store.get('ann'))?.instance).toBe('i-1');

    const again = await store.setState({ agentId: 'ann', to: 'available' });
    expect(again).toMatchObject({ changed: false, events: [] });

    await clock.advance(12_345);
    const brk = await store.setState({ agentId: 'ann', to: 'break', reason: 'lunch' });
    expect(brk.events[0]).toMatchObject({ from: 'available', to: 'break', secondsInFrom: 12.345, reason: 'lunch' });
    expect(await availableIds()).toEqual([]);
    expect((await store.get('ann'))?.breakReason).toBe('lunch');

    await clock.advance(1000);
    expect((await store.setState({ agentId: 'ann', to: 'break', reason: 'lunch' })).events).toEqual([]);
    const reason = await store.setState({ agentId: 'ann', to: 'break', reason: 'training' });
    expect(reason.events[0]).toMatchObject({ from: 'break', to: 'break', secondsInFrom: 1, reason: 'training' });
    expect((await store.get('ann'))?.breakReason).toBe('training');

    await clock.advance(2000);
    await signIn('ann');
    expect(await store.get('ann')).toMatchObject({ state: 'available', idleSince: clock.now(), breakReason: null });
    const out = await store.setState({ agentId: 'ann', to: 'offline' });
    expect(out.events[0]).toMatchObject({ from: 'available', to: 'offline', secondsInFrom: 0 });
    expect(await availableIds()).toEqual([]);
    expect((await store.setState({ agentId: 'ann', to: 'break' })).events[0]).toMatchObject({ from: 'offline', to: 'break' });
  });

  it('refuses changes while on a call or in wrap-up, and unknown agents', async () => {
    await staff(['ann']);
    const c = await onCall('ann');
    for (const to of ['available', 'break', 'offline'] as const) {
      await expectError(store.setState({ agentId: 'ann', to }), 'conflict', /BAD_STATE/);
    }
    await store.endCall({ agentId: 'ann', callSid: c.callSid, wrapUpSeconds: 30 });
    for (const to of ['available', 'break', 'offline'] as const) {
      await expectError(store.setState({ agentId: 'ann', to }), 'conflict', /BAD_STATE/);
    }
    await expectError(store.setState({ agentId: 'nobody', to: 'available' }), 'not_found', /NO_SUCH_AGENT/);
    await expectError(store.setState({ agentId: 'ann', to: 'on_call' as never }), 'invalid_params', /to/);
  });

  it('signing out while reserved releases the offer; available and break are refused', async () => {
    await staff(['ann']);
    const o = await reserve();
    await expectError(store.setState({ agentId: 'ann', to: 'available' }), 'conflict', /BAD_STATE/);
    await expectError(store.setState({ agentId: 'ann', to: 'break' }), 'conflict', /BAD_STATE/);
    const r = await store.setState({ agentId: 'ann', to: 'offline', reason: 'end of shift' });
    expect(r.releasedOffer).toEqual({ agentId: 'ann', offerId: o.offerId, callSid: o.callSid, queue: Q });
    expect(only(r.events, 'offer.result')).toEqual([
      { type: 'offer.result', at: clock.now(), agentId: 'ann', callSid: o.callSid, queue: Q, result: 'rejected' },
    ]);
    expect(only(r.events, 'agent.state')[0]).toMatchObject({ from: 'reserved', to: 'offline', reason: 'end of shift' });
    expect(await redis.zcard(keys.agents.offerDeadlines)).toBe(0);
    await expectError(store.acceptOffer({ agentId: 'ann', offerId: o.offerId }), 'stale_offer', /STALE_OFFER/);
  });
});

describe('reserve: strategies and skills', () => {
  it('longest idle: the agent free the longest gets the call', async () => {
    await staff(['c', 'a', 'b']);
    const got: (string | null)[] = [];
    for (let i = 0; i < 4; i++) got.push((await reserve()).agentId);
    expect(got).toEqual(['c', 'a', 'b', null]);
  });

  it('marks the agent reserved with the offer, out of available, with a deadline', async () => {
    await staff(['ann'], { team: 'red' });
    const deadline = clock.now() + OFFER_MS;
    const o = await reserve({ deadline, contactId: 'ct-1' });
    expect(o.r).toMatchObject({ agentId: 'ann', contact: 'client:ann', team: 'red' });
    expect(o.r?.events).toEqual([
      { type: 'agent.state', at: clock.now(), agentId: 'ann', team: 'red', from: 'available', to: 'reserved', secondsInFrom: 1 },
    ]);
    expect(await store.get('ann')).toMatchObject({
      state: 'reserved',
      offerId: o.offerId,
      offerCallSid: o.callSid,
      offerQueue: Q,
      offerContactId: 'ct-1',
      offerDeadline: deadline,
      lastOfferSeq: 1,
    });
    expect(await availableIds()).toEqual([]);
    expect(await redis.zscore(keys.agents.offerDeadlines, 'ann')).toBe(String(deadline));
  });

  it('round robin: each agent in turn, whoever has been idle longest', async () => {
    await staff(['a', 'b', 'c']);
    const got: string[] = [];
    for (let i = 0; i < 7; i++) {
      const o = await reserve({ strategy: 'round_robin' });
      got.push(o.agentId!);
      // Keep the agent's place in the idle line: only the round-robin stamp decides.
      await store.cancelOffer({ agentId: o.agentId!, offerId: o.offerId, reason: 'withdrawn' });
    }
    expect(got).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
    // Longest idle would have given 'a' every time.
    expect((await reserve()).agentId).toBe('a');
  });

  it('fewest calls today, then longest idle; the count starts again the next (UTC) day', async () => {
    await staff(['a', 'b', 'c']);
    // a handles two calls, b one, c none.
    for (const id of ['a', 'a', 'b']) {
      const o = await reserve({ excludeAgents: ['a', 'b', 'c'].filter((x) => x !== id) });
      await store.acceptOffer({ agentId: id, offerId: o.offerId });
      await store.endCall({ agentId: id, callSid: o.callSid, wrapUpSeconds: 0 });
    }
    expect((await store.list()).map((a) => [a.id, a.callsToday, a.callsHandled])).toEqual([
      ['a', 2, 2],
      ['b', 1, 1],
      ['c', 0, 0],
    ]);
    const first = await reserve({ strategy: 'fewest_calls' });
    expect(first.agentId).toBe('c');
    const second = await reserve({ strategy: 'fewest_calls' });
    expect(second.agentId).toBe('b');
    await store.cancelOffer({ agentId: 'b', offerId: second.offerId, reason: 'withdrawn' });
    await store.cancelOffer({ agentId: 'c', offerId: first.offerId, reason: 'withdrawn' });

    // Next day: all at zero again, so the longest idle (b, then c, since a took the last call) wins.
    await clock.advance(86_400_000);
    expect((await store.get('a'))?.callsToday).toBe(0);
    expect((await store.get('a'))?.callsHandled).toBe(2);
    const idle = (await store.list()).sort((x, y) => (x.idleSince ?? 0) - (y.idleSince ?? 0)).map((a) => a.id);
    expect((await reserve({ strategy: 'fewest_calls' })).agentId).toBe(idle[0]);
  });

  it('matches every required skill, honours excludeAgents, and returns null when nobody fits', async () => {
    await staff(['gen'], { skills: [] });
    await staff(['bill'], { skills: ['billing'] });
    await staff(['bill-es'], { skills: ['billing', 'es'] });
    await staff(['es'], { skills: ['es'] });
    expect((await reserve({ requiredSkills: ['billing', 'es'] })).agentId).toBe('bill-es');
    expect((await reserve({ requiredSkills: ['billing', 'es'] })).agentId).toBeNull();
    expect((await reserve({ requiredSkills: ['es'], excludeAgents: ['es'] })).agentId).toBeNull();
    expect((await reserve({ requiredSkills: ['es'] })).agentId).toBe('es');
    // A skill that is a prefix of another does not match it.
    expect((await reserve({ requiredSkills: ['bill'] })).agentId).toBeNull();
    expect((await reserve({ requiredSkills: ['billing'], strategy: 'round_robin' })).agentId).toBe('bill');
    expect((await reserve({ requiredSkills: [] })).agentId).toBe('gen');
    expect((await reserve()).agentId).toBeNull();
  });

  it('setOfferCall attaches the claimed caller to a reservation made without one', async () => {
    await staff(['ann']);
    const o = await reserve({ callSid: '' });
    await store.setOfferCall({ agentId: 'ann', offerId: o.offerId, callSid: 'CAlate', contactId: 'ct-9' });
    expect(await store.get('ann')).toMatchObject({ offerCallSid: 'CAlate', offerContactId: 'ct-9' });
    await expectError(store.setOfferCall({ agentId: 'ann', offerId: 'of_other', callSid: 'CAx' }), 'stale_offer', /STALE_OFFER/);
    const acc = await store.acceptOffer({ agentId: 'ann', offerId: o.offerId });
    expect(acc).toMatchObject({ callSid: 'CAlate', queue: Q });
    expect((await store.get('ann'))?.contactId).toBe('ct-9');
  });
});

describe('offers', () => {
  it('accept: on_call, talk starts, offer.result accepted; a retry is answered without events', async () => {
    await staff(['ann'], { team: 'red' });
    const o = await reserve();
    await clock.advance(3000);
    await expectError(store.acceptOffer({ agentId: 'ann', offerId: 'of_nope' }), 'stale_offer', /STALE_OFFER/);
    const acc = await store.acceptOffer({ agentId: 'ann', offerId: o.offerId });
    expect(acc.callSid).toBe(o.callSid);
    expect(acc.queue).toBe(Q);
    expect(acc.events).toEqual([
      { type: 'offer.result', at: clock.now(), agentId: 'ann', callSid: o.callSid, queue: Q, result: 'accepted' },
      { type: 'agent.state', at: clock.now(), agentId: 'ann', team: 'red', from: 'reserved', to: 'on_call', secondsInFrom: 3 },
    ]);
    expect(await store.get('ann')).toMatchObject({
      state: 'on_call',
      callSid: o.callSid,
      callQueue: Q,
      talkStartedAt: clock.now(),
      offerDeadline: null,
      offerResult: 'accepted',
    });
    expect(await redis.zcard(keys.agents.offerDeadlines)).toBe(0);
    const retry = await store.acceptOffer({ agentId: 'ann', offerId: o.offerId });
    expect(retry).toEqual({ callSid: o.callSid, queue: Q, events: [] });
    await expectError(store.acceptOffer({ agentId: 'nobody', offerId: o.offerId }), 'not_found', /NO_SUCH_AGENT/);
  });

  it('reject puts the agent at the back of the line; a retry does nothing', async () => {
    await staff(['a', 'b', 'c']);
    const o = await reserve();
    expect(o.agentId).toBe('a');
    const rej = await store.rejectOffer({ agentId: 'a', offerId: o.offerId });
    expect(rej.offer).toEqual({ agentId: 'a', offerId: o.offerId, callSid: o.callSid, queue: Q });
    expect(only(rej.events, 'offer.result')[0]?.result).toBe('rejected');
    expect(await store.get('a')).toMatchObject({ state: 'available', idleSince: clock.now() });
    expect(await availableIds()).toEqual(['b', 'c', 'a']);
    expect(await store.rejectOffer({ agentId: 'a', offerId: o.offerId })).toEqual({ offer: null, events: [] });
    await expectError(store.cancelOffer({ agentId: 'a', offerId: o.offerId, reason: 'withdrawn' }), 'stale_offer', /STALE_OFFER/);
    expect([(await reserve()).agentId, (await reserve()).agentId, (await reserve()).agentId]).toEqual(['b', 'c', 'a']);
  });

  it('cancel (caller hung up) keeps the agent in its place; silent skips offer.result', async () => {
    await staff(['a', 'b']);
    const o = await reserve();
    await clock.advance(2000);
    const c = await store.cancelOffer({ agentId: 'a', offerId: o.offerId, reason: 'withdrawn' });
    expect(only(c.events, 'offer.result')).toEqual([
      { type: 'offer.result', at: clock.now(), agentId: 'a', callSid: o.callSid, queue: Q, result: 'withdrawn' },
    ]);
    expect(only(c.events, 'agent.state')[0]).toMatchObject({ from: 'reserved', to: 'available', secondsInFrom: 2 });
    expect(await availableIds()).toEqual(['a', 'b']);
    expect(await store.cancelOffer({ agentId: 'a', offerId: o.offerId, reason: 'withdrawn' })).toEqual({ offer: null, events: [] });
    const again = await reserve();
    expect(again.agentId).toBe('a');
    const silent = await store.cancelOffer({ agentId: 'a', offerId: again.offerId, reason: 'withdrawn', silent: true });
    expect(silent.events.map((e) => e.type)).toEqual(['agent.state']);
  });

  it('an offer past its deadline moves the agent to break (missed_offer) at the deadline', async () => {
    await staff(['a', 'b'], { team: 'red' });
    const o = await reserve();
    const deadline = clock.now() + OFFER_MS;
    expect((await store.expireOffers({ limit: 10 })).expired).toEqual([]);
    await clock.advance(OFFER_MS + 4000); // the sweep runs late
    const r = await store.expireOffers({ limit: 10 });
    expect(r.expired).toEqual([{ agentId: 'a', offerId: o.offerId, callSid: o.callSid, queue: Q }]);
    expect(r.events).toEqual([
      { type: 'offer.result', at: deadline, agentId: 'a', callSid: o.callSid, queue: Q, result: 'timeout' },
      {
        type: 'agent.state',
        at: deadline,
        agentId: 'a',
        team: 'red',
        from: 'reserved',
        to: 'break',
        secondsInFrom: 15,
        reason: 'missed_offer',
      },
    ]);
    expect(await store.get('a')).toMatchObject({
      state: 'break',
      breakReason: 'missed_offer',
      stateSince: deadline,
      offerResult: 'timeout',
    });
    expect(await availableIds()).toEqual(['b']);
    expect(await store.staffedFor([])).toEqual({ staffed: 2, available: 1 });
    expect((await store.expireOffers({ limit: 10 })).expired).toEqual([]);
    await expectError(store.acceptOffer({ agentId: 'a', offerId: o.offerId }), 'stale_offer', /STALE_OFFER/);
    expect((await reserve()).agentId).toBe('b');
    await signIn('a');
    expect((await reserve()).agentId).toBe('a');
  });

  it('each expired offer is returned exactly once when every instance sweeps at once', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `a${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      await addAgent(id);
      await signIn(id);
    }
    for (let i = 0; i < ids.length; i++) await reserve({ deadline: clock.now() + 1000 + i });
    await clock.advance(5000);
    const stores = Array.from({ length: 6 }, () => {
      const r = newRedis();
      extra.push(r);
      return createAgentStore(r, keys, clock);
    });
    const results = await Promise.all(stores.flatMap((s) => [0, 1, 2].map(() => s.expireOffers({ limit: 7 }))));
    const more = await store.expireOffers({ limit: 1000 });
    const all = [...results.flatMap((r) => r.expired), ...more.expired].map((x) => x.agentId);
    expect(all.sort()).toEqual(ids);
    const timeouts = only([...results.flatMap((r) => r.events), ...more.events], 'offer.result');
    expect(timeouts).toHaveLength(ids.length);
  });

  it('bridgeFailed: back to available keeping its place, from on_call or reserved; a retry does nothing', async () => {
    await staff(['a', 'b']);
    const o = await reserve();
    await store.acceptOffer({ agentId: 'a', offerId: o.offerId });
    await clock.advance(4000);
    const bf = await store.bridgeFailed({ agentId: 'a', offerId: o.offerId });
    expect(bf.events).toEqual([
      { type: 'agent.state', at: clock.now(), agentId: 'a', team: 'default', from: 'on_call', to: 'available', secondsInFrom: 4 },
    ]);
    expect(await store.get('a')).toMatchObject({ state: 'available', callSid: null, talkStartedAt: null, offerResult: 'bridge_failed' });
    expect(await availableIds()).toEqual(['a', 'b']);
    expect(await store.bridgeFailed({ agentId: 'a', offerId: o.offerId })).toEqual({ events: [] });
    await expectError(store.bridgeFailed({ agentId: 'a', offerId: 'of_other' }), 'stale_offer', /STALE_OFFER/);

    const o2 = await reserve();
    const bf2 = await store.bridgeFailed({ agentId: 'a', offerId: o2.offerId });
    expect(only(bf2.events, 'offer.result')[0]?.result).toBe('withdrawn');
    expect(await availableIds()).toEqual(['a', 'b']);
  });
});

describe('calls: hold, end, wrap-up', () => {
  it('talk, hold and wrap-up arithmetic is exact in virtual time', async () => {
    await staff(['ann'], { team: 'red' });
    const c = await onCall('ann');
    await store.callConnected({ agentId: 'ann', callSid: c.callSid, contactId: 'ct-1' });
    await clock.advance(30_000);
    const h1 = await store.hold({ agentId: 'ann', callSid: c.callSid, on: true });
    expect(h1).toMatchObject({ onHold: true, holdSeconds: 0 });
    expect(h1.events).toEqual([{ type: 'hold', at: clock.now(), callSid: c.callSid, queue: Q, on: true }]);
    await clock.advance(10_000);
    expect((await store.hold({ agentId: 'ann', callSid: c.callSid, on: true })).events).toEqual([]);
    await clock.advance(5_000);
    const h2 = await store.hold({ agentId: 'ann', callSid: c.callSid, on: false });
    expect(h2).toMatchObject({ onHold: false, holdSeconds: 15 });
    expect((await store.hold({ agentId: 'ann', callSid: c.callSid, on: false })).events).toEqual([]);
    await clock.advance(20_250);
    await store.hold({ agentId: 'ann', callSid: c.callSid, on: true });
    await clock.advance(7_001);
    await expectError(store.hold({ agentId: 'ann', callSid: 'CAother', on: true }), 'not_your_call', /WRONG_CALL/);

    // The call ends while on hold: the open hold is closed.
    const end = await store.endCall({ agentId: 'ann', callSid: c.callSid, wrapUpSeconds: 60 });
    const endedAt = clock.now();
    expect(end.wrapDeadline).toBe(endedAt + 60_000);
    expect(end.events).toEqual([
      { type: 'agent.state', at: endedAt, agentId: 'ann', team: 'red', from: 'on_call', to: 'wrap_up', secondsInFrom: 72.251 },
    ]);
    expect(await store.get('ann')).toMatchObject({ state: 'wrap_up', callEndedAt: endedAt, holdSeconds: 22.001, holdStartedAt: null });
    expect(await store.endCall({ agentId: 'ann', callSid: c.callSid, wrapUpSeconds: 60 })).toEqual({
      wrapDeadline: endedAt + 60_000,
      events: [],
    });
    expect((await store.hold({ agentId: 'ann', callSid: c.callSid, on: true })).events).toEqual([]);
    await expectError(
      store.wrapUp({ agentId: 'ann', callSid: 'CAother', disposition: 'resolved', code: 'x' }),
      'not_your_call',
      /WRONG_CALL/,
    );

    await clock.advance(12_500);
    const w = await store.wrapUp({ agentId: 'ann', callSid: c.callSid, disposition: 'resolved', code: 'billing.refund' });
    expect(w.handled).toEqual({
      type: 'call.handled',
      at: clock.now(),
      callSid: c.callSid,
      contactId: 'ct-1',
      queue: Q,
      agentId: 'ann',
      team: 'red',
      talkSeconds: 50.25,
      holdSeconds: 22.001,
      wrapupSeconds: 12.5,
      disposition: 'resolved',
      code: 'billing.refund',
    });
    expect(only(w.events, 'agent.state')[0]).toMatchObject({ from: 'wrap_up', to: 'available', secondsInFrom: 12.5 });
    expect(await store.get('ann')).toMatchObject({
      state: 'available',
      idleSince: clock.now(),
      callsHandled: 1,
      callsToday: 1,
      callSid: null,
      wrapDeadline: null,
      holdSeconds: 0,
      lastCallSid: c.callSid,
      lastDisposition: 'resolved',
    });
    expect(await redis.zcard(keys.agents.wrapDeadlines)).toBe(0);
    expect(await availableIds()).toEqual(['ann']);

    // Retries after the fact change nothing.
    expect(await store.wrapUp({ agentId: 'ann', callSid: c.callSid, disposition: 'resolved', code: 'x' })).toEqual({
      handled: null,
      events: [],
    });
    expect(await store.endCall({ agentId: 'ann', callSid: c.callSid, wrapUpSeconds: 60 })).toEqual({ wrapDeadline: null, events: [] });
    expect((await store.hold({ agentId: 'ann', callSid: c.callSid, on: false })).events).toEqual([]);
  });

  it('talk starts at accept, or at callConnected when the bridge completes later', async () => {
    await staff(['a']);
    const c = await onCall('a');
    await clock.advance(8000);
    expect((await store.callConnected({ agentId: 'a', callSid: c.callSid })).first).toBe(true);
    await clock.advance(2000);
    expect((await store.callConnected({ agentId: 'a', callSid: c.callSid })).first).toBe(false);
    await clock.advance(40_000);
    await store.endCall({ agentId: 'a', callSid: c.callSid, wrapUpSeconds: 10 });
    const w = await store.wrapUp({ agentId: 'a', callSid: c.callSid, disposition: 'escalated', code: '' });
    expect(w.handled).toMatchObject({ talkSeconds: 42, holdSeconds: 0, wrapupSeconds: 0 });
    await expectError(store.callConnected({ agentId: 'a', callSid: c.callSid }), 'not_your_call', /WRONG_CALL/);
  });

  it('wrap-up is refused while still on the call, and for unknown dispositions', async () => {
    await staff(['a']);
    const c = await onCall('a');
    await expectError(store.wrapUp({ agentId: 'a', callSid: c.callSid, disposition: 'resolved', code: '' }), 'conflict', /BAD_STATE/);
    await expectError(
      store.wrapUp({ agentId: 'a', callSid: c.callSid, disposition: 'maybe' as never, code: '' }),
      'invalid_params',
      /disposition/,
    );
    await expectError(store.endCall({ agentId: 'a', callSid: 'CAother', wrapUpSeconds: 5 }), 'not_your_call', /WRONG_CALL/);
  });

  it('with no wrap-up time the agent is available at once with an automatic disposition', async () => {
    await staff(['a']);
    const c = await onCall('a');
    await clock.advance(90_000);
    const end = await store.endCall({ agentId: 'a', callSid: c.callSid, wrapUpSeconds: 0 });
    expect(end.wrapDeadline).toBeNull();
    expect(only(end.events, 'call.handled')[0]).toMatchObject({
      talkSeconds: 90,
      wrapupSeconds: 0,
      disposition: 'not_resolved',
      code: 'no_wrapup',
    });
    expect(only(end.events, 'agent.state')[0]).toMatchObject({ from: 'on_call', to: 'available', secondsInFrom: 90 });
    expect(await availableIds()).toEqual(['a']);
    expect(await store.endCall({ agentId: 'a', callSid: c.callSid, wrapUpSeconds: 0 })).toEqual({ wrapDeadline: null, events: [] });
  });

  it('wrap-ups past their deadline are finished automatically, accounted at the deadline', async () => {
    await staff(['a', 'b']);
    const ca = await onCall('a');
    const cb = await onCall('b');
    await clock.advance(100_000);
    await store.endCall({ agentId: 'a', callSid: ca.callSid, wrapUpSeconds: 30 });
    await store.endCall({ agentId: 'b', callSid: cb.callSid, wrapUpSeconds: 120 });
    await clock.advance(29_999);
    expect((await store.expireWrapUps({ limit: 10 })).done).toEqual([]);
    await clock.advance(10_001); // ten seconds after a's deadline
    const r = await store.expireWrapUps({ limit: 10 });
    expect(r.done).toEqual([{ agentId: 'a', callSid: ca.callSid, queue: Q, handleSeconds: 130 }]);
    expect(only(r.events, 'call.handled')[0]).toMatchObject({
      agentId: 'a',
      talkSeconds: 100,
      wrapupSeconds: 30,
      disposition: 'not_resolved',
      code: 'auto_wrapup',
    });
    expect(only(r.events, 'agent.state')[0]).toMatchObject({
      from: 'wrap_up',
      to: 'available',
      secondsInFrom: 30,
      at: clock.now() - 10_000,
    });
    expect(await store.get('a')).toMatchObject({ state: 'available', idleSince: clock.now() - 10_000 });
    expect((await store.get('b'))?.state).toBe('wrap_up');
    expect(await store.wrapUp({ agentId: 'a', callSid: ca.callSid, disposition: 'resolved', code: '' })).toEqual({
      handled: null,
      events: [],
    });

    // An explicit auto wrap-up after the deadline is also accounted at the deadline.
    await clock.advance(100_000);
    const auto = await store.wrapUp({ agentId: 'b', callSid: cb.callSid, disposition: 'not_resolved', code: 'auto_wrapup', auto: true });
    expect(auto.handled).toMatchObject({ wrapupSeconds: 120 });
    expect((await store.expireWrapUps({ limit: 10 })).done).toEqual([]);
  });
});

describe('connection and grace', () => {
  it('a reconnect within the grace cancels the sign-out; another instance cannot start one', async () => {
    await staff(['a']);
    expect(await store.connected({ agentId: 'a', instance: 'i-1' })).toEqual({ state: 'available', events: [] });
    expect(await store.get('a')).toMatchObject({ connected: true, instance: 'i-1' });
    expect((await store.disconnected({ agentId: 'a', instance: 'i-2', graceMs: 30_000 })).graceDeadline).toBeNull();
    const d = await store.disconnected({ agentId: 'a', instance: 'i-1', graceMs: 30_000 });
    expect(d.graceDeadline).toBe(clock.now() + 30_000);
    await clock.advance(10_000);
    expect((await store.disconnected({ agentId: 'a', instance: 'i-1', graceMs: 30_000 })).graceDeadline).toBe(d.graceDeadline);
    await store.connected({ agentId: 'a', instance: 'i-2' });
    await clock.advance(60_000);
    expect(await store.expireGrace({ limit: 10 })).toEqual({ signedOut: [], released: [], events: [] });
    expect(await store.get('a')).toMatchObject({ state: 'available', connected: true, instance: 'i-2', graceDeadline: null });
    await expectError(store.connected({ agentId: 'zz', instance: 'i-1' }), 'not_found', /NO_SUCH_AGENT/);
  });

  it('signs out agents whose grace passed, at the deadline, releasing a held offer', async () => {
    await staff(['free', 'brk', 'res', 'off']);
    await store.setState({ agentId: 'brk', to: 'break', reason: 'coffee' });
    await store.setState({ agentId: 'off', to: 'offline' });
    for (const id of ['free', 'brk', 'res', 'off']) await store.connected({ agentId: id, instance: 'i-1' });
    const o = await reserve({ excludeAgents: ['free'], deadline: clock.now() + 60_000 });
    expect(o.agentId).toBe('res');
    for (const id of ['free', 'brk', 'res', 'off']) {
      const d = await store.disconnected({ agentId: id, instance: 'i-1', graceMs: 20_000 });
      expect(d.graceDeadline).toBe(id === 'off' ? null : clock.now() + 20_000);
    }
    const graceAt = clock.now() + 20_000;
    await clock.advance(25_000);
    const r = await store.expireGrace({ limit: 10 });
    expect(r.signedOut.sort()).toEqual(['brk', 'free', 'res']);
    expect(r.released).toEqual([{ agentId: 'res', offerId: o.offerId, callSid: o.callSid, queue: Q }]);
    expect(only(r.events, 'offer.result')).toEqual([
      { type: 'offer.result', at: graceAt, agentId: 'res', callSid: o.callSid, queue: Q, result: 'timeout' },
    ]);
    for (const e of only(r.events, 'agent.state')) expect(e).toMatchObject({ to: 'offline', at: graceAt, reason: 'disconnected' });
    expect((await store.countByState()).byState.offline).toBe(4);
    expect(await availableIds()).toEqual([]);
    expect(await redis.zcard(keys.agents.offerDeadlines)).toBe(0);
    expect(await store.expireGrace({ limit: 10 })).toEqual({ signedOut: [], released: [], events: [] });
  });

  it('does not sign out mid-call; wrap-up is finished before signing out', async () => {
    await staff(['a']);
    await store.connected({ agentId: 'a', instance: 'i-1' });
    const c = await onCall('a');
    await store.disconnected({ agentId: 'a', instance: 'i-1', graceMs: 10_000 });
    await clock.advance(15_000);
    expect(await store.expireGrace({ limit: 10 })).toEqual({ signedOut: [], released: [], events: [] });
    expect(await store.get('a')).toMatchObject({ state: 'on_call', graceDeadline: clock.now() + 10_000 });
    await store.endCall({ agentId: 'a', callSid: c.callSid, wrapUpSeconds: 60 });
    await clock.advance(10_000);
    const r = await store.expireGrace({ limit: 10 });
    expect(r.signedOut).toEqual(['a']);
    expect(only(r.events, 'call.handled')[0]).toMatchObject({
      talkSeconds: 15,
      wrapupSeconds: 10,
      code: 'auto_wrapup',
      disposition: 'not_resolved',
    });
    expect(only(r.events, 'agent.state')[0]).toMatchObject({ from: 'wrap_up', to: 'offline', reason: 'disconnected' });
    expect(await store.get('a')).toMatchObject({ state: 'offline', callsHandled: 1, wrapDeadline: null });
    expect(await redis.zcard(keys.agents.wrapDeadlines)).toBe(0);
  });
});

describe('event stream', () => {
  it('every event returned is the one appended to the stream, in order', async () => {
    const returned: DomainEvent[] = [];
    const keep = <T extends { events: DomainEvent[] }>(r: T | null): T | null => {
      if (r) returned.push(...r.events);
      return r;
    };
    await addAgent('a', { team: 'red' });
    await addAgent('b', { team: 'red' });
    keep(await store.setState({ agentId: 'a', to: 'available' }));
    keep(await store.setState({ agentId: 'b', to: 'available' }));
    await clock.advance(1000);
    const r1 = keep(
      await store.reserve({
        offerId: 'of_1',
        queue: Q,
        callSid: 'CA1',
        requiredSkills: [],
        strategy: 'longest_idle',
        deadline: clock.now() + 5000,
      }),
    );
    expect(r1?.agentId).toBe('a');
    keep(await store.rejectOffer({ agentId: 'a', offerId: 'of_1' }));
    keep(
      await store.reserve({
        offerId: 'of_2',
        queue: Q,
        callSid: 'CA1',
        requiredSkills: [],
        strategy: 'longest_idle',
        deadline: clock.now() + 5000,
      }),
    );
    keep(await store.acceptOffer({ agentId: 'b', offerId: 'of_2' }));
    await clock.advance(2000);
    keep(await store.hold({ agentId: 'b', callSid: 'CA1', on: true }));
    await clock.advance(2000);
    keep(await store.hold({ agentId: 'b', callSid: 'CA1', on: false }));
    keep(await store.endCall({ agentId: 'b', callSid: 'CA1', wrapUpSeconds: 5 }));
    await clock.advance(6000);
    keep(await store.expireWrapUps({ limit: 5 }));
    keep(
      await store.reserve({
        offerId: 'of_3',
        queue: Q,
        callSid: 'CA2',
        requiredSkills: [],
        strategy: 'longest_idle',
        deadline: clock.now() + 5000,
      }),
    );
    await clock.advance(6000);
    keep(await store.expireOffers({ limit: 5 }));
    keep(await store.setState({ agentId: 'a', to: 'offline' }));

    const types = returned.map((e) =>
      e.type === 'agent.state' ? `${e.from}>${e.to}` : e.type === 'offer.result' ? `offer:${e.result}` : e.type,
    );
    expect(types).toEqual([
      'offline>available',
      'offline>available',
      'available>reserved',
      'offer:rejected',
      'reserved>available',
      'available>reserved',
      'offer:accepted',
      'reserved>on_call',
      'hold',
      'hold',
      'on_call>wrap_up',
      'call.handled',
      'wrap_up>available',
      'available>reserved',
      'offer:timeout',
      'reserved>break',
      'break>offline',
    ]);
    expect(await streamEvents()).toEqual(returned);
  });
});

describe('concurrency and scale', () => {
  function stores(n: number): AgentStore[] {
    return Array.from({ length: n }, () => {
      const r = newRedis();
      extra.push(r);
      return createAgentStore(r, keys, clock);
    });
  }

  async function addMany(n: number, skills: (i: number) => string[] = () => []): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, i) => `ag${String(i).padStart(4, '0')}`);
    for (let i = 0; i < n; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map((id, j) => store.upsertAgent({ id, team: 'default', skills: skills(i + j), contact: `client:${id}` })),
      );
    }
    // Sign in one millisecond apart, in id order: ag0000 is the longest idle.
    for (const id of ids) {
      await store.setState({ agentId: id, to: 'available' });
      await clock.advance(1);
    }
    return ids;
  }

  it('8 connections reserving at once: 1000 offers for 200 agents, no agent reserved twice', async () => {
    const ids = await addMany(200);
    const conns = stores(8);
    const strategies = ['longest_idle', 'round_robin', 'fewest_calls'] as const;
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        reserve({ strategy: strategies[i % 3]!, deadline: clock.now() + 60_000 }, conns[i % conns.length]!),
      ),
    );
    const won = results.filter((r) => r.agentId !== null).map((r) => r.agentId!);
    expect(won).toHaveLength(200);
    expect(new Set(won).size).toBe(200);
    expect([...won].sort()).toEqual(ids);
    expect(results.filter((r) => r.agentId === null)).toHaveLength(800);
    expect((await store.countByState()).byState.reserved).toBe(200);
    expect(await redis.zcard(keys.agents.available)).toBe(0);
    expect(await redis.zcard(keys.agents.offerDeadlines)).toBe(200);
    const offerIds = new Set((await store.list()).map((a) => a.offerId));
    expect(offerIds.size).toBe(200);
    // The offer each agent holds is the one its winner was told about.
    for (const r of results.filter((x) => x.agentId)) expect((await store.get(r.agentId!))?.offerId).toBe(r.offerId);
  });

  it('with releases racing reservations, an agent is never held by two offers at once', async () => {
    await addMany(200);
    const conns = stores(8);
    const holder = new Map<string, string>();
    const violations: string[] = [];
    let made = 0;
    let next = 0;
    const worker = async (s: AgentStore, w: number) => {
      while (next < 1000) {
        next++;
        const o = await reserve({ strategy: w % 2 ? 'round_robin' : 'longest_idle', deadline: clock.now() + 60_000 }, s);
        if (!o.agentId) continue;
        made++;
        if (holder.has(o.agentId)) violations.push(`${o.agentId}: ${holder.get(o.agentId)} and ${o.offerId}`);
        holder.set(o.agentId, o.offerId);
        await new Promise((r) => setImmediate(r));
        // Forget the holder before the release: until the script runs, nobody else can reserve the agent.
        holder.delete(o.agentId);
        if (made % 3 === 0) await s.rejectOffer({ agentId: o.agentId, offerId: o.offerId });
        else await s.cancelOffer({ agentId: o.agentId, offerId: o.offerId, reason: 'withdrawn' });
      }
    };
    await Promise.all(conns.flatMap((s, i) => [worker(s, i), worker(s, i + 1)]));
    expect(violations).toEqual([]);
    expect(made).toBe(1000);
    expect(await redis.zcard(keys.agents.available)).toBe(200);
    // Then everyone is taken, once each.
    const final = await Promise.all(Array.from({ length: 300 }, (_, i) => reserve({ deadline: clock.now() + 60_000 }, conns[i % 8]!)));
    const won = final.filter((r) => r.agentId).map((r) => r.agentId);
    expect(new Set(won).size).toBe(200);
    expect(won).toHaveLength(200);
  });

  it('with 1000 agents, reserve picks correctly under each strategy', async () => {
    // Every 100th agent speaks French; ag0999 also does billing.
    const ids = await addMany(1000, (i) => (i % 100 === 99 ? (i === 999 ? ['fr', 'billing'] : ['fr']) : ['en']));
    expect(await store.staffedFor(['fr'])).toEqual({ staffed: 10, available: 10 });
    expect((await reserve({ requiredSkills: ['fr', 'billing'] })).agentId).toBe('ag0999');
    expect((await reserve({ requiredSkills: ['fr'] })).agentId).toBe('ag0099');
    const rr = await reserve({ requiredSkills: ['fr'], strategy: 'round_robin' });
    expect(rr.agentId).toBe('ag0199');
    const fc = await reserve({ requiredSkills: ['fr'], strategy: 'fewest_calls' });
    expect(fc.agentId).toBe('ag0299');
    // Give ag0399 and ag0499 a call each: fewest_calls skips them.
    for (const id of ['ag0399', 'ag0499']) {
      const o = await reserve({ requiredSkills: ['fr'], excludeAgents: ids.filter((x) => x !== id) });
      expect(o.agentId).toBe(id);
      await store.acceptOffer({ agentId: id, offerId: o.offerId });
      await store.endCall({ agentId: id, callSid: o.callSid, wrapUpSeconds: 0 });
    }
    expect((await reserve({ requiredSkills: ['fr'], strategy: 'fewest_calls' })).agentId).toBe('ag0599');
    expect((await reserve({ requiredSkills: ['fr'], strategy: 'round_robin' })).agentId).toBe('ag0699');

    // Six agents are still reserved (ag0399 and ag0499 are free again): the rest are taken once each.
    const got = new Set<string>();
    for (;;) {
      const o = await reserve({ strategy: 'longest_idle' });
      if (!o.agentId) break;
      expect(got.has(o.agentId)).toBe(false);
      got.add(o.agentId);
    }
    expect(got.size).toBe(1000 - 6);
    expect((await store.countByState()).byState.reserved).toBe(1000);
  });
});

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
const hashTag = (key: string): string | undefined => /\{([^}]*)\}/.exec(key)?.[1];

describe('Redis Cluster readiness', () => {
  it('every command the store sends keeps its keys under the {agents} tag, in one slot', async () => {
    const defs = loadScripts().filter((d) => d.name.startsWith('agent'));
    const bySha = new Map(defs.map((d) => [createHash('sha1').update(d.lua).digest('hex'), d.name]));
    const byText = new Map(defs.map((d) => [d.lua, d.name]));
    const seen: { name: string; keys: string[] }[] = [];
    // Both clients (Redis and Cluster) route every command, pipelined or not, through sendCommand.
    const client = redis as unknown as { sendCommand: (cmd: Command, ...rest: unknown[]) => unknown };
    const original = client.sendCommand.bind(redis);
    client.sendCommand = (cmd: Command, ...rest: unknown[]) => {
      const first = String(cmd.args[0]);
      const name =
        cmd.name === 'evalsha' ? (bySha.get(first) ?? 'evalsha') : cmd.name === 'eval' ? (byText.get(first) ?? 'eval') : cmd.name;
      seen.push({ name, keys: cmd.getKeys().map(String) });
      return original(cmd, ...rest);
    };
    try {
      await staff(['a', 'b', 'c']);
      await store.get('a');
      await store.list();
      await store.countByState();
      await store.countByStateAndTeam();
      await store.staffedFor(['x']);
      await store.setState({ agentId: 'c', to: 'break' });
      await store.connected({ agentId: 'a', instance: 'i' });
      await store.disconnected({ agentId: 'a', instance: 'i', graceMs: 1000 });
      const o1 = await reserve({ callSid: '' });
      await store.setOfferCall({ agentId: o1.agentId!, offerId: o1.offerId, callSid: 'CA1' });
      await store.rejectOffer({ agentId: o1.agentId!, offerId: o1.offerId });
      const o2 = await reserve();
      await store.cancelOffer({ agentId: o2.agentId!, offerId: o2.offerId, reason: 'withdrawn' });
      const o3 = await reserve();
      await store.acceptOffer({ agentId: o3.agentId!, offerId: o3.offerId });
      await store.bridgeFailed({ agentId: o3.agentId!, offerId: o3.offerId });
      const o4 = await reserve();
      await store.acceptOffer({ agentId: o4.agentId!, offerId: o4.offerId });
      await store.callConnected({ agentId: o4.agentId!, callSid: o4.callSid });
      await store.hold({ agentId: o4.agentId!, callSid: o4.callSid, on: true });
      await store.endCall({ agentId: o4.agentId!, callSid: o4.callSid, wrapUpSeconds: 5 });
      await store.wrapUp({ agentId: o4.agentId!, callSid: o4.callSid, disposition: 'resolved', code: '' });
      await reserve({ deadline: clock.now() + 1 });
      await clock.advance(10_000);
      await store.expireOffers({ limit: 10 });
      await store.expireWrapUps({ limit: 10 });
      await store.expireGrace({ limit: 10 });
      await store.rebuildIndex();
      await store.listInState('available');
    } finally {
      client.sendCommand = original;
    }
    const scripts = new Set(seen.map((s) => s.name).filter((n) => n.startsWith('agent')));
    expect([...scripts].sort()).toEqual(defs.map((d) => d.name).sort());
    const withKeys = seen.filter((s) => s.keys.length > 0);
    expect(withKeys.length).toBeGreaterThan(30);
    // Plain reads (pipelined for list; the index's counts and sets) are checked too.
    for (const cmd of ['hgetall', 'smembers'])
      expect(
        seen.some((x) => x.name === cmd),
        cmd,
      ).toBe(true);
    const slot = keySlot(keys.agents.available);
    for (const s of withKeys) {
      expect(new Set(s.keys.map(hashTag)), `${s.name}: ${s.keys.join(' ')}`).toEqual(new Set(['agents']));
      expect(new Set(s.keys.map(keySlot)), `${s.name} spans slots`).toEqual(new Set([slot]));
    }
  });

  it('the key built inside scripts (prefix + agentId) is the catalogue key, in the same slot', () => {
    const k = keys.agents;
    expect(k.agentPrefix + 'ann').toBe(k.agent('ann'));
    expect(k.statePrefix + 'available').toBe(k.inState('available'));
    expect(k.skillPrefix + 'billing').toBe(k.withSkill('billing'));
    expect(keySlot(k.withSkill('billing'))).toBe(keySlot(k.available));
    expect(keySlot(k.agent('ann'))).toBe(keySlot(k.available));
    expect(keySlot('123456789')).toBe(0x31c3 % 16384); // CRC16/XMODEM check value
  });
});
