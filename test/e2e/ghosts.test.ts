/**
 * Ghosts: a caller who hangs up while the app cannot reach Redis stays in Redis as waiting, because both
 * their Enqueue action (QueueResult=hangup) and their final status callback were answered with errors and
 * Twilio does not resend them. The ghost is reconciled with Twilio, never at a live caller's expense:
 *  - offered to an agent, the bridge's dequeue answers 404 (no such queue member); the call, read over
 *    REST, has ended: the ghost is counted abandoned once (wait up to the call's end), the agent is free
 *    again (not on break) and takes the next real caller, who is answered;
 *  - a live caller whose dequeue answers 404 keeps their place and is answered on the next offer;
 *  - with no agent at all, the sweep finds the ghost waiting past maxWaitSeconds + margin, reads the call
 *    and closes it; a live caller waiting meanwhile is neither read nor touched.
 * The counts close exactly in Redis (offered = answered + abandoned + overflow + callback + in queue) and
 * on /metrics; the lost status callback is answered 503 and counted.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/sim/twilio/index.js';
import { connectRedis, type RedisClient } from '../../src/store/redis.js';
import { startRedis } from '../setup/global-redis.js';
import { callParams, makeApp, newCallSid, sample, type TestApp } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack, type TestAgent } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';
import { eventually } from '../helpers/redis.js';

let s: Stack | undefined;
let t: TestApp | undefined;
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await s?.close();
  s = undefined;
  await t?.close();
  t = undefined;
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A promise that resolves once `fn` returns true, checked every 20 ms of real time. */
function poll(fn: () => Promise<boolean>): Promise<void> {
  return new Promise((resolve, reject) => {
    const tick = () => {
      fn().then((ok) => (ok ? resolve() : setTimeout(tick, 20)), reject);
    };
    tick();
  });
}

/** A stack on its own redis-server, which the test can kill and restart (append-only, fsync always). */
async function stackOnOwnRedis(): Promise<{ st: Stack; outage: (during: () => Promise<void>) => Promise<void> }> {
  const r1 = await startRedis({ appendonly: true });
  let current = r1;
  cleanup.push(async () => {
    await current.stop();
    rmSync(r1.dir, { recursive: true, force: true });
  });
  const redis: RedisClient = connectRedis({ url: r1.url, commandTimeoutMs: 500 });
  s = await makeStack({ redis });
  const st = s;
  return {
    st,
    async outage(during) {
      current.proc.kill('SIGKILL');
      await new Promise((res) => current.proc.once('exit', res));
      expect((await st.app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ redis: 'down' });
      await during();
      current = await startRedis({ appendonly: true, port: r1.port, dir: r1.dir });
      await eventually(async () => (await st.app.inject({ method: 'GET', url: '/health' })).json<{ status: string }>().status === 'ok');
    },
  };
}

/** The ghost: a waiting caller hangs up during a Redis outage; afterwards Redis still has them waiting. */
async function makeGhost(
  st: Stack,
  outage: (during: () => Promise<void>) => Promise<void>,
): Promise<{ ghost: Call; endedAt: number; enqueuedAt: number }> {
  const ghost = st.emu.placeCall({ from: '+15557771001', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
  await st.emu.run(st.clock.sleep(30_000));
  const info = await st.app.sb.queues.callerInfo('support', ghost.sid);
  expect(info).toMatchObject({ state: 'waiting', counted: true });
  expect(info?.queueSid).toMatch(/^QU/);
  let endedAt = 0;
  await outage(async () => {
    const from = st.emu.log.webhooks.length;
    ghost.hangup('caller');
    endedAt = st.clock.now();
    await st.emu.run(st.clock.sleep(5_000));
    const lost = st.emu.log.webhooks.slice(from);
    // The hangup reached us twice and was lost both times: the Enqueue action (live-call route: fallback
    // TwiML, 200) and the final status callback (503, counted as unprocessed).
    const action = lost.find((w) => w.path.startsWith('/twilio/queue/result'));
    expect(action?.status).toBe(200);
    const status = lost.find((w) => w.path === '/twilio/status');
    expect(status?.status).toBe(503);
  });
  expect(ghost.status).toBe('completed');
  expect(await st.app.sb.queues.callerInfo('support', ghost.sid)).toMatchObject({ state: 'waiting' });
  expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, abandoned: 0, inQueue: 1 });
  const m = await st.metrics();
  expect(sample(m, 'switchboard_webhook_unprocessed_total', { route: '/twilio/status', reason: 'redis' })).toBeGreaterThanOrEqual(1);
  return { ghost, endedAt, enqueuedAt: info!.enqueuedAt };
}

/** The queue.left events of the support queue, from its Redis stream. */
async function leftEvents(st: Stack): Promise<Record<string, unknown>[]> {
  const rows = await st.redis.xrange(st.app.sb.keys.queue('support').events, '-', '+');
  return rows
    .map(([, f]) => f)
    .filter((f) => f[f.indexOf('type') + 1] === 'queue.left')
    .map((f) => JSON.parse(f[f.indexOf('data') + 1]!) as Record<string, unknown>);
}

function conservation(t: {
  offered: number;
  answered: number;
  abandoned: number;
  overflow: number;
  callback: number;
  inQueue: number;
}): void {
  expect(t.offered).toBe(t.answered + t.abandoned + t.overflow + t.callback + t.inQueue);
}

async function takeCall(st: Stack, a: TestAgent, offer: Record<string, unknown>): Promise<void> {
  const from = a.messages.length;
  a.send({ type: 'accept', offerId: offer.offerId });
  await st.until(
    a.next('call', (m) => m.status === 'connected' && m.callSid === offer.callSid, from),
    { maxMs: 120_000 },
  );
  a.send({ type: 'hangup', callSid: offer.callSid });
  await st.until(a.next('wrap_up', (m) => m.callSid === offer.callSid, from));
  a.send({ type: 'wrap_up', callSid: offer.callSid, disposition: 'resolved', ref: `w-${String(offer.callSid)}` });
  await st.until(a.next('ack', (m) => m.ref === `w-${String(offer.callSid)}`, from));
}

describe('ghost callers (hangup lost during a Redis outage)', () => {
  it('a ghost offered to an agent: dequeue 404, the call has ended, counted abandoned once; the agent takes the next caller', async () => {
    const { st, outage } = await stackOnOwnRedis();
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await st.agent('alice-demo-token');
    const { ghost, endedAt, enqueuedAt } = await makeGhost(st, outage);

    // A real caller arrives after the ghost; the ghost is first in line.
    const real = st.emu.placeCall({ from: '+15557771002', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(30_000));
    expect((await st.app.sb.queues.position('support', real.sid))?.position).toBe(2);

    alice.send({ type: 'set_state', state: 'available', ref: 'a0' });
    const first = await st.until(alice.next('offer'));
    expect(first.callSid).toBe(ghost.sid);
    const from = alice.messages.length;
    const restFrom = st.emu.log.rest.length;
    alice.send({ type: 'accept', offerId: first.offerId });
    const failed = await st.until(alice.next('call', (m) => m.callSid === ghost.sid && m.status === 'failed', from));
    expect(failed.queue).toBe('support');

    // What Twilio was asked: the dequeue of the ghost (404, not a member), then the ghost's call (completed).
    const rest = st.emu.log.rest.slice(restFrom);
    const dequeue = rest.find((r) => r.method === 'POST' && r.path.includes(`/Members/${ghost.sid}.json`));
    expect(dequeue?.status).toBe(404);
    const fetched = rest.filter((r) => r.method === 'GET' && r.path.endsWith(`/Calls/${ghost.sid}.json`));
    expect(fetched).toHaveLength(1);
    expect(fetched[0]).toMatchObject({ status: 200, response: { sid: ghost.sid, status: 'completed' } });
    // The agent's leg of the failed bridge is hung up.
    const leg = [...st.emu.calls.values()].find((c) => c.to === 'client:alice');
    expect(leg).toBeDefined();

    // The agent is free again and gets the real caller, who is answered.
    const second = await st.until(alice.next('offer', (m) => m.offerId !== first.offerId, from));
    expect(second.callSid).toBe(real.sid);
    await takeCall(st, alice, second);
    await st.emu.run(st.clock.sleep(70_000)); // wrap-up ends; the real caller's call is over
    expect(leg?.live).toBe(false);
    expect(alice.messages.filter((m) => m.type === 'state' && m.state === 'break')).toEqual([]);
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('available');

    // Counted once: abandoned with the wait up to the hangup, whatever else arrives.
    const left = (await leftEvents(st)).filter((e) => e.callSid === ghost.sid);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ outcome: 'abandoned' });
    // Twilio's end_time has one-second resolution.
    expect(Math.abs((left[0]!.waitSeconds as number) - (endedAt - enqueuedAt) / 1000)).toBeLessThanOrEqual(1);
    expect(await st.app.sb.queues.callerInfo('support', ghost.sid)).toBeNull();
    const tally = await st.app.sb.queues.tally('support');
    expect(tally).toMatchObject({ offered: 2, answered: 1, abandoned: 1, overflow: 0, callback: 0, inQueue: 0 });
    conservation(tally);
    const m = await st.metrics();
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(2);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_queue_ghosts_closed_total', { queue: 'support', via: 'bridge' })).toBe(1);
    expect(sample(m, 'switchboard_queue_waiting', { queue: 'support' })).toBe(0);
    alice.close();
  }, 120_000);

  it('a live caller whose dequeue answers 404 keeps their place and is answered on the next offer', async () => {
    s = await makeStack();
    const st = s;
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const alice = await st.agent('alice-demo-token');
    const caller = st.emu.placeCall({ from: '+15557771003', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(30_000));
    st.emu.faults.failNextRest({ status: 404, match: { method: 'POST', path: '/Members/' } });

    alice.send({ type: 'set_state', state: 'available', ref: 'a0' });
    const first = await st.until(alice.next('offer'));
    const from = alice.messages.length;
    const restFrom = st.emu.log.rest.length;
    alice.send({ type: 'accept', offerId: first.offerId });
    await st.until(alice.next('call', (m) => m.callSid === caller.sid && m.status === 'failed', from));
    const fetched = st.emu.log.rest.slice(restFrom).filter((r) => r.method === 'GET' && r.path.endsWith(`/Calls/${caller.sid}.json`));
    expect(fetched).toHaveLength(1);
    expect(fetched[0]).toMatchObject({ status: 200, response: { status: 'in-progress' } });
    expect(await st.app.sb.queues.callerInfo('support', caller.sid)).toMatchObject({ counted: true });

    const again = await st.until(alice.next('offer', (m) => m.offerId !== first.offerId, from));
    expect(again.callSid).toBe(caller.sid);
    await takeCall(st, alice, again);
    const tally = await st.app.sb.queues.tally('support');
    expect(tally).toMatchObject({ offered: 1, answered: 1, abandoned: 0, inQueue: 0 });
    conservation(tally);
    const m = await st.metrics();
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(0);
    expect(sample(m, 'switchboard_queue_ghosts_closed_total', { queue: 'support', via: 'bridge' }) ?? 0).toBe(0);
    alice.close();
  }, 120_000);

  it('with no agent, the sweep closes a ghost waiting past maxWaitSeconds + margin and leaves a live caller alone', async () => {
    const { st, outage } = await stackOnOwnRedis();
    const { ghost, endedAt, enqueuedAt } = await makeGhost(st, outage);
    const maxWait = st.app.sb.config.center.queues.support!.maxWaitSeconds;

    // A live caller comes later: still well inside the max wait when the ghost is due.
    await st.emu.run(st.clock.sleep(600_000));
    const live = st.emu.placeCall({ from: '+15557771004', to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) });
    await st.emu.run(st.clock.sleep(30_000));
    expect(await st.app.sb.queues.callerInfo('support', live.sid)).toMatchObject({ state: 'waiting' });

    // Nothing is asked before maxWait + margin; after it (at the next scan) the ghost's call is read and
    // the ghost closed. (The sweep runs in real time between virtual steps: wait for it, then check when.)
    const restFrom = st.emu.log.rest.length;
    const due = enqueuedAt + (maxWait + 120) * 1000;
    const calls = () => st.emu.log.rest.slice(restFrom).filter((r) => r.method === 'GET' && r.path.includes('/Calls/'));
    await st.until(
      poll(async () => (await st.app.sb.queues.callerInfo('support', ghost.sid)) === null),
      { maxMs: 900_000 },
    );
    expect(calls().map((r) => r.path)).toEqual([expect.stringContaining(`/Calls/${ghost.sid}.json`)]);
    expect(calls()[0]!.at).toBeGreaterThanOrEqual(due);
    const left = (await leftEvents(st)).filter((e) => e.callSid === ghost.sid);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ outcome: 'abandoned' });
    expect(Math.abs((left[0]!.waitSeconds as number) - (endedAt - enqueuedAt) / 1000)).toBeLessThanOrEqual(1);

    // The live caller is untouched and still waiting; the sweep does not ask about it again and again.
    expect(live.live).toBe(true);
    expect(await st.app.sb.queues.callerInfo('support', live.sid)).toMatchObject({ state: 'waiting' });
    await st.emu.run(st.clock.sleep(60_000));
    expect(calls()).toHaveLength(1);

    const tally = await st.app.sb.queues.tally('support');
    expect(tally).toMatchObject({ offered: 2, answered: 0, abandoned: 1, overflow: 0, callback: 0, inQueue: 1 });
    conservation(tally);
    const m = await st.metrics();
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(2);
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(1);
    expect(sample(m, 'switchboard_queue_ghosts_closed_total', { queue: 'support', via: 'sweep' })).toBe(1);
    expect(sample(m, 'switchboard_queue_waiting', { queue: 'support' })).toBe(1);
  }, 120_000);
});

describe('status callbacks while Redis is down', () => {
  it('answer 503 with empty TwiML and are counted; live-call routes still answer 200', async () => {
    const r = await startRedis();
    cleanup.push(async () => {
      await r.stop();
      rmSync(r.dir, { recursive: true, force: true });
    });
    const redis = connectRedis({ url: r.url, commandTimeoutMs: 500 });
    cleanup.push(async () => {
      redis.disconnect();
    });
    t = await makeApp({ redis });
    const call = 'CA' + '0'.repeat(32);
    const routes: [string, Record<string, string>][] = [
      ['/twilio/status', { CallStatus: 'completed' }],
      ['/twilio/agent/status?offer=of_x', { CallStatus: 'completed' }],
      ['/twilio/callback/status?queue=support&offer=of_x', { CallStatus: 'no-answer' }],
      ['/twilio/transfer/status?call=' + call, { CallStatus: 'completed' }],
      ['/twilio/monitor/status?call=' + call, { CallStatus: 'completed' }],
      [
        '/twilio/conference/status',
        { ConferenceSid: 'CF' + '1'.repeat(32), FriendlyName: `sb-${call}`, StatusCallbackEvent: 'participant-join' },
      ],
    ];
    // With Redis up each is a 200 (no status callback is refused for its own sake).
    for (const [path, extra] of routes) expect((await t.twilio(path, callParams(newCallSid(), extra))).status, path).toBe(200);

    r.proc.kill('SIGKILL');
    await new Promise((res) => r.proc.once('exit', res));
    for (const [path, extra] of routes) {
      const res = await t.twilio(path, callParams(newCallSid(), extra));
      expect({ path, status: res.status }).toEqual({ path, status: 503 });
      expect(res.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    }
    const live = await t.twilio('/twilio/voice', callParams(newCallSid()));
    expect(live.status).toBe(200);
    const m = await t.metrics();
    for (const [path] of routes) {
      expect(sample(m, 'switchboard_webhook_unprocessed_total', { route: path.split('?')[0]!, reason: 'redis' }), path).toBe(1);
    }
    expect(sample(m, 'switchboard_webhook_fallbacks_total', { route: '/twilio/voice', reason: 'redis' })).toBe(1);
  });
});
