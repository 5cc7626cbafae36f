/**
 * Call records and the supervisor audit end to end: callers from the Twilio emulator, agents over the real
 * WebSocket, named supervisors over HTTP. Each call's record lists exactly what happened to it (an
 * abandon after 75 s, an answered call with hold, wrap-up, disposition and survey, a cold transfer to
 * another agent), checked against the domain events, Redis and /metrics; the CSV export parses back to
 * the JSON records; the routes refuse unknown and agent tokens; the audit names who acted.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import type { DomainEvent, EventOf } from '../../src/events.js';
import { callerHash } from '../../src/privacy.js';
import { csvToRecords, type CallRecord } from '../../src/records/index.js';
import { ACCOUNT_SID, AUTH_TOKEN, loadExampleWith, PUBLIC_BASE, sample, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { supportCaller } from '../helpers/callers.js';
import { makeStack, NUMBER, TestAgent, type Stack } from '../helpers/stack.js';

let s: Stack | undefined;
let b: FastifyInstance | undefined;
afterEach(async () => {
  await b?.close();
  await s?.close();
  s = undefined;
  b = undefined;
});

const HASH_KEY = 'test-caller-hash-key-0123456789';
const SAM = 'sam-supervisor-token-0123456789';
const ADA = 'ada-admin-token-0123456789abcdef';
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const supervisors = {
  sam: { name: 'Sam Lee', tokenSha256: sha(SAM), role: 'supervisor' },
  ada: { name: 'Ada Admin', tokenSha256: sha(ADA), role: 'admin' },
};
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function stackWithSupervisors(): Promise<Stack> {
  return makeStack({ center: await loadExampleWith({ supervisors }) });
}

async function ready(stack: Stack, token: string, contact: string): Promise<TestAgent> {
  stack.emu.registerEndpoint(contact, { answer: true, answerDelayMs: 1000 });
  const a = await stack.agent(token);
  a.send({ type: 'set_state', state: 'available' });
  await stack.until(a.next('state', (m) => m.state === 'available'));
  return a;
}

async function records(stack: Stack, query = '', token = SAM): Promise<{ records: CallRecord[]; nextCursor: string | null }> {
  await stack.app.sb.recordFolds.idle();
  const r = await stack.app.inject({ method: 'GET', url: `/api/call-records${query}`, headers: bearer(token) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}

describe('call records', () => {
  it(
    "a call's record lists exactly what happened to it: abandoned after 75 s, answered with wrap-up and survey, transferred",
    { timeout: 120_000 },
    async () => {
      s = await stackWithSupervisors();
      const stack = s;
      const handled: EventOf<'call.handled'>[] = [];
      const left: EventOf<'queue.left'>[] = [];
      stack.app.sb.bus.onDomain((e: DomainEvent) => {
        if (e.type === 'call.handled') handled.push(e);
        if (e.type === 'queue.left') left.push(e);
      });

      // Nobody staffed: a caller gives up after 75 s in line.
      const gaveUp = stack.emu.placeCall({ from: '+15551000001', to: NUMBER, behaviour: supportCaller({ patienceMs: 75_000 }) });
      await stack.emu.run(gaveUp.ended);

      // Answered by Alice: talk, 10 s on hold, talk, hang-up; 12 s of wrap-up; the caller answers the survey.
      const alice = await ready(stack, 'alice-demo-token', 'client:alice');
      const happy = stack.emu.placeCall({ from: '+15551000002', to: NUMBER, behaviour: supportCaller({ csat: '4', nps: '9#' }) });
      const o1 = await stack.until(alice.next('offer', (m) => m.callSid === happy.sid));
      alice.send({ type: 'accept', offerId: o1.offerId });
      await stack.until(alice.next('call', (m) => m.status === 'connected' && m.callSid === happy.sid));
      await stack.emu.run(stack.clock.sleep(20_000));
      alice.send({ type: 'hold', callSid: happy.sid, on: true, ref: 'h1' });
      await stack.reply(alice.next('ack', (m) => m.ref === 'h1'));
      await stack.emu.run(stack.clock.sleep(10_000));
      alice.send({ type: 'hold', callSid: happy.sid, on: false, ref: 'h2' });
      await stack.reply(alice.next('ack', (m) => m.ref === 'h2'));
      await stack.emu.run(stack.clock.sleep(15_000));
      alice.send({ type: 'hangup', callSid: happy.sid });
      await stack.until(alice.next('wrap_up', (m) => m.callSid === happy.sid));
      await stack.emu.run(stack.clock.sleep(12_000));
      alice.send({ type: 'wrap_up', callSid: happy.sid, disposition: 'resolved', code: 'reset-password' });
      await stack.reply(alice.next('ack', (m) => m.for === 'wrap_up'));
      await stack.emu.run(happy.ended);

      // Alice transfers the next caller to Bob (cold); Bob takes it and escalates.
      alice.send({ type: 'set_state', state: 'available' });
      await stack.until(alice.next('state', (m) => m.state === 'available'));
      const moved = stack.emu.placeCall({ from: '+15551000003', to: NUMBER, behaviour: supportCaller() });
      const o2 = await stack.until(alice.next('offer', (m) => m.callSid === moved.sid));
      alice.send({ type: 'accept', offerId: o2.offerId });
      await stack.until(alice.next('call', (m) => m.status === 'connected' && m.callSid === moved.sid));
      const bob = await ready(stack, 'bob-demo-token', 'client:bob');
      alice.send({ type: 'transfer', callSid: moved.sid, to: { kind: 'agent', agentId: 'bob' } });
      await stack.until(alice.next('wrap_up', (m) => m.callSid === moved.sid));
      alice.send({ type: 'wrap_up', callSid: moved.sid, disposition: 'not_resolved', code: 'to-bob' });
      const o3 = await stack.until(bob.next('offer', (m) => m.callSid === moved.sid));
      bob.send({ type: 'accept', offerId: o3.offerId });
      await stack.until(alice.next('transfer', (m) => m.status === 'completed'));
      await stack.emu.run(stack.clock.sleep(30_000));
      bob.send({ type: 'hangup', callSid: moved.sid });
      await stack.until(bob.next('wrap_up', (m) => m.callSid === moved.sid));
      bob.send({ type: 'wrap_up', callSid: moved.sid, disposition: 'escalated', code: 'tier-2' });
      await stack.reply(bob.next('ack', (m) => m.for === 'wrap_up'));
      await stack.emu.run(moved.ended);

      const { records: list, nextCursor } = await records(stack);
      expect(nextCursor).toBeNull();
      // Newest first by last update: Bob's wrap-up of the transferred call was the last fact.
      expect(list.map((r) => r.callSid)).toEqual([moved.sid, happy.sid, gaveUp.sid]);
      const rec = (sid: string) => list.find((r) => r.callSid === sid)!;
      const sums = (sid: string) => {
        const mine = handled.filter((e) => e.callSid === sid);
        return {
          talk: mine.reduce((t, e) => t + e.talkSeconds, 0),
          hold: mine.reduce((t, e) => t + e.holdSeconds, 0),
          wrap: mine.reduce((t, e) => t + e.wrapupSeconds, 0),
        };
      };
      const common = {
        numberCalled: NUMBER,
        flow: 'main',
        language: 'en',
        queue: 'support',
        endStatus: 'completed',
        repeatContact: false,
        recordingSid: null,
      };

      expect(rec(gaveUp.sid)).toMatchObject({
        ...common,
        callerKey: callerHash(HASH_KEY, '+15551000001'),
        outcome: 'abandoned',
        waitSeconds: 75,
        agent: null,
        agents: [],
        talkSeconds: null,
        disposition: null,
        transfers: [],
        csat: null,
        nps: null,
        revision: 1,
      });
      expect(rec(gaveUp.sid).ivrPath).toContain('main-menu');

      const h = sums(happy.sid);
      // 10 s on hold and 12 s of wrap-up on the virtual clock (more only if a loaded machine let the clock
      // step on while an acknowledgement was on the wire); the record carries exactly what the events said.
      expect(h.hold).toBeGreaterThanOrEqual(10);
      expect(h.hold).toBeLessThan(20);
      expect(h.wrap).toBeGreaterThanOrEqual(12);
      expect(h.wrap).toBeLessThan(20);
      expect(rec(happy.sid)).toMatchObject({
        ...common,
        callerKey: callerHash(HASH_KEY, '+15551000002'),
        outcome: 'answered',
        agent: 'alice',
        agents: ['alice'],
        talkSeconds: h.talk,
        holdSeconds: h.hold,
        wrapUpSeconds: h.wrap,
        disposition: 'resolved',
        dispositionCode: 'reset-password',
        csat: 4,
        nps: 9,
        transfers: [],
      });
      expect(h.talk).toBeGreaterThanOrEqual(35);
      for (const sid of [happy.sid, moved.sid]) {
        expect(left.filter((e) => e.callSid === sid)).toHaveLength(1);
        expect(rec(sid).waitSeconds).toBe(left.find((e) => e.callSid === sid)!.waitSeconds);
      }

      const m = sums(moved.sid);
      expect(rec(moved.sid)).toMatchObject({
        ...common,
        outcome: 'answered',
        agent: 'alice',
        agents: ['alice', 'bob'],
        transfers: [{ kind: 'agent', mode: 'cold', result: 'completed', target: 'bob', from: 'alice' }],
        talkSeconds: m.talk,
        holdSeconds: m.hold,
        wrapUpSeconds: m.wrap,
        disposition: 'escalated',
        dispositionCode: 'tier-2',
        csat: null,
      });
      for (const r of list) {
        expect(Date.parse(r.endedAt!)).toBeGreaterThan(Date.parse(r.startedAt!));
        expect(r.durationSeconds).toBeGreaterThan(0);
      }

      // Redis: one stream entry per call (revisions replace the entry), and no phone number stored.
      const entries = await stack.redis.xrange(stack.app.sb.keys.records.stream, '-', '+');
      expect(entries).toHaveLength(3);
      expect(JSON.stringify(entries)).not.toMatch(/15551000/);
      // /metrics agrees with the records.
      const metrics = await stack.metrics();
      expect(sample(metrics, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(
        list.filter((r) => r.outcome === 'answered').length,
      );
      expect(sample(metrics, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(
        list.filter((r) => r.outcome === 'abandoned').length,
      );
      expect(sample(metrics, 'switchboard_transfers_total', { queue: 'support', kind: 'agent', mode: 'cold', result: 'completed' })).toBe(
        1,
      );

      // Filters and paging.
      const sids = async (q: string) => (await records(stack, q)).records.map((r) => r.callSid);
      expect(await sids('?outcome=abandoned')).toEqual([gaveUp.sid]);
      expect(await sids('?agent=bob')).toEqual([moved.sid]);
      expect(await sids('?minWait=60')).toEqual([gaveUp.sid]);
      expect(await sids(`?callerKey=${callerHash(HASH_KEY, '+15551000002')}`)).toEqual([happy.sid]);
      expect(await sids('?queue=billing')).toEqual([]);
      expect(await sids(`?from=${new Date(stack.clock.now() + 60_000).toISOString()}`)).toEqual([]);
      const paged: string[] = [];
      let cursor = '';
      do {
        const p = await records(stack, `?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        paged.push(...p.records.map((r) => r.callSid));
        cursor = p.nextCursor ?? '';
      } while (cursor);
      expect(paged).toEqual(list.map((r) => r.callSid));

      // CSV export round-trips to the JSON records.
      const csv = await stack.app.inject({ method: 'GET', url: '/api/call-records', headers: { ...bearer(SAM), accept: 'text/csv' } });
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      expect(csvToRecords(csv.body)).toEqual(list);

      // Refusals: no token, an unknown token, an agent's token; bad filters name the field.
      expect((await stack.app.inject({ method: 'GET', url: '/api/call-records' })).statusCode).toBe(401);
      expect(
        (await stack.app.inject({ method: 'GET', url: '/api/call-records', headers: bearer('not-a-known-token-at-all') })).statusCode,
      ).toBe(401);
      expect((await stack.app.inject({ method: 'GET', url: '/api/call-records', headers: bearer('alice-demo-token') })).statusCode).toBe(
        403,
      );
      for (const [q, field] of [
        ['?outcome=lost', 'outcome'],
        ['?from=yesterday', 'from'],
        ['?limit=501', 'limit'],
        ['?cursor=abc', 'cursor'],
        ['?color=red', 'color'],
      ]) {
        const r = await stack.app.inject({ method: 'GET', url: `/api/call-records${q}`, headers: bearer(SAM) });
        expect(r.statusCode, q).toBe(400);
        expect(r.json(), q).toMatchObject({ field });
      }

      // The export is audited, naming Sam; only admins read the audit.
      expect((await stack.app.inject({ method: 'GET', url: '/api/audit', headers: bearer(SAM) })).statusCode).toBe(403);
      expect((await stack.app.inject({ method: 'GET', url: '/api/audit', headers: bearer('alice-demo-token') })).statusCode).toBe(403);
      const audit = await stack.app.inject({ method: 'GET', url: '/api/audit', headers: bearer(ADA) });
      expect(audit.statusCode).toBe(200);
      expect(audit.json().entries).toEqual([
        expect.objectContaining({ supervisor: 'sam', name: 'Sam Lee', role: 'supervisor', action: 'records.export', result: 'ok' }),
      ]);
      alice.close();
      bob.close();
      expect(stack.emu.errors).toEqual([]);
    },
  );

  it('two instances: the caller on one, the agent on the other; one record, each event folded once', { timeout: 90_000 }, async () => {
    s = await stackWithSupervisors();
    const st = s;
    const center = st.app.sb.config.center;
    b = await buildApp(
      {
        center,
        publicBaseUrl: PUBLIC_BASE,
        twilioAuthToken: AUTH_TOKEN,
        twilioAccountSid: ACCOUNT_SID,
        twilioApiBaseUrl: st.emu.restBaseUrl,
        callerHashKey: HASH_KEY,
        redisPrefix: st.prefix,
        supervisorToken: SUPERVISOR_TOKEN,
        instanceId: 'b',
      },
      { redis: st.redis.duplicate(), clock: st.clock, sweepEveryMs: 1000 },
    );
    await b.listen({ port: 0, host: '127.0.0.1' });
    const events: { on: string; e: DomainEvent }[] = [];
    st.app.sb.bus.onDomain((e) => events.push({ on: 'a', e }));
    b.sb.bus.onDomain((e) => events.push({ on: 'b', e }));
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = new TestAgent(
      new WebSocket(`ws://127.0.0.1:${(b.server.address() as { port: number }).port}/agent/ws?token=alice-demo-token`),
    );
    await st.until(alice.next('welcome'));
    alice.send({ type: 'set_state', state: 'available' });
    await st.until(alice.next('state', (m) => m.state === 'available'));
    // The emulator's webhooks go to instance A; Alice's socket is on B.
    const call = st.emu.placeCall({ from: '+15551000009', to: NUMBER, behaviour: supportCaller({ csat: '3', nps: '7#' }) });
    const offer = await st.until(alice.next('offer'));
    alice.send({ type: 'accept', offerId: offer.offerId });
    await st.until(alice.next('call', (m) => m.status === 'connected'));
    await st.emu.run(st.clock.sleep(40_000));
    alice.send({ type: 'hangup', callSid: call.sid });
    await st.until(alice.next('wrap_up'));
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved', code: 'two-sites' });
    await st.reply(alice.next('ack', (m) => m.for === 'wrap_up'));
    await st.emu.run(call.ended);
    await b.sb.recordFolds.idle();
    const fromA = (await records(st)).records;
    const fromB = (await b.inject({ method: 'GET', url: '/api/call-records', headers: bearer(SAM) })).json().records as CallRecord[];
    expect(fromB).toEqual(fromA);
    expect(fromA).toHaveLength(1);
    // Facts were published on both instances, each once.
    const mine = events.filter((x) => 'callSid' in x.e && x.e.callSid === call.sid);
    const on = (type: string) => mine.filter((x) => x.e.type === type).map((x) => x.on);
    expect(on('call.ended')).toEqual(['a']);
    expect(on('call.handled')).toHaveLength(1);
    expect(new Set(mine.map((x) => x.on))).toEqual(new Set(['a', 'b']));
    const handled = mine.find((x) => x.e.type === 'call.handled')!.e as EventOf<'call.handled'>;
    expect(fromA[0]).toMatchObject({
      callSid: call.sid,
      outcome: 'answered',
      agent: 'alice',
      agents: ['alice'],
      talkSeconds: handled.talkSeconds,
      holdSeconds: handled.holdSeconds,
      wrapUpSeconds: handled.wrapupSeconds,
      disposition: 'resolved',
      dispositionCode: 'two-sites',
      csat: 3,
      nps: 7,
    });
    expect(handled.talkSeconds).toBeGreaterThanOrEqual(40);
    alice.close();
  });

  it(
    'the audit names the supervisor who listened, coached and stopped through the API, never the number dialed',
    { timeout: 90_000 },
    async () => {
      s = await stackWithSupervisors();
      const stack = s;
      const alice = await ready(stack, 'alice-demo-token', 'client:alice');
      const call = stack.emu.placeCall({ from: '+15551230009', to: NUMBER, behaviour: supportCaller() });
      const offer = await stack.until(alice.next('offer'));
      alice.send({ type: 'accept', offerId: offer.offerId });
      await stack.until(alice.next('call', (m) => m.status === 'connected'));
      stack.emu.registerEndpoint('+15557654321', { answer: true, answerDelayMs: 1000 });
      const url = `/api/calls/${call.sid}/monitor`;
      const act = async (token: string, mode: string) => {
        const r = await stack.app.inject({ method: 'POST', url, headers: bearer(token), payload: { mode, to: '+15557654321' } });
        await stack.emu.run(stack.clock.sleep(3_000));
        return r.statusCode;
      };
      expect(await act('alice-demo-token', 'listen')).toBe(403);
      expect(await act('not-a-known-token-at-all', 'listen')).toBe(401);
      expect(await act(SAM, 'listen')).toBe(200);
      expect(await act(SAM, 'coach')).toBe(200);
      expect(await act(SUPERVISOR_TOKEN, 'barge')).toBe(200);
      expect(await act(SAM, 'stop')).toBe(200);
      const r = await stack.app.inject({ method: 'GET', url: '/api/audit', headers: bearer(SUPERVISOR_TOKEN) });
      expect(r.statusCode).toBe(200);
      const entries = r.json().entries as { supervisor: string; action: string; callSid: string; queue: string; result: string }[];
      expect(entries.map((e) => [e.supervisor, e.action, e.callSid, e.queue, e.result])).toEqual([
        ['sam', 'monitor.stop', call.sid, 'support', 'ok'],
        ['admin', 'monitor.barge', call.sid, 'support', 'ok'],
        ['sam', 'monitor.coach', call.sid, 'support', 'ok'],
        ['sam', 'monitor.listen', call.sid, 'support', 'ok'],
      ]);
      // The stream in Redis holds who and what, never the number the supervisor was dialed at.
      const raw = await stack.redis.xrange(stack.app.sb.keys.audit, '-', '+');
      expect(raw).toHaveLength(4);
      expect(JSON.stringify(raw)).not.toMatch(/7654321/);
      expect(
        (await stack.app.inject({ method: 'GET', url: '/api/audit?supervisor=sam&limit=2', headers: bearer(ADA) })).json().entries,
      ).toHaveLength(2);
      alice.send({ type: 'hangup', callSid: call.sid });
      await stack.until(alice.next('wrap_up'));
      await stack.emu.run(call.ended);
      alice.close();
    },
  );
});
