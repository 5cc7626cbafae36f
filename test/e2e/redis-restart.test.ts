/**
 * Redis is killed (SIGKILL) while callers wait, an agent holds an offer and another is on break, then
 * restarted with append-only persistence on the same port and data directory. While it is away every
 * live-call webhook still answers TwiML within 2 s (no 5xx): new callers get the fallback, waiting callers
 * keep hearing hold music and stay in Twilio's queue, and /health says degraded. Afterwards the server has
 * reconnected by itself (no restart of the app), the waiting callers, the agents' states and the offer
 * are all still there, offers reach the agents' WebSockets again (pub/sub resubscribed), and the callers
 * are answered in their original order with exact counts.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookLogEntry } from '../../src/sim/twilio/index.js';
import { connectRedis, type RedisClient } from '../../src/store/redis.js';
import { startRedis } from '../setup/global-redis.js';
import { sample } from '../helpers/app.js';
import { makeStack, NUMBER, type Stack, type TestAgent } from '../helpers/stack.js';
import { supportCaller } from '../helpers/callers.js';
import { eventually } from '../helpers/redis.js';

let s: Stack | undefined;
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await s?.close();
  s = undefined;
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const LIVE_ROUTES = /^\/twilio\/(voice|ivr\/|queue\/(wait|keys|result|connect|enter)|call\/after|survey|callback\/leg)/;

describe('Redis restart', () => {
  it('keeps waiting callers, agent states and offers; webhooks answer while it is away; the queue carries on in order', async () => {
    const r1 = await startRedis({ appendonly: true });
    let current = r1;
    cleanup.push(async () => {
      await current.stop();
      rmSync(r1.dir, { recursive: true, force: true });
    });
    const redis: RedisClient = connectRedis({ url: r1.url, commandTimeoutMs: 500 });
    s = await makeStack({ redis });
    const st = s;
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    st.emu.registerEndpoint('client:bob', { answer: true, answerDelayMs: 1000 });

    const alice = await st.agent('alice-demo-token');
    const bob = await st.agent('bob-demo-token');
    bob.send({ type: 'set_state', state: 'break', reason: 'lunch', ref: 'b0' });
    await st.until(bob.next('ack', (m) => m.ref === 'b0'));

    // Four callers, a few seconds apart: they reach the queue in this order.
    const calls = [];
    for (let i = 0; i < 4; i++) {
      calls.push(st.emu.placeCall({ from: `+1555777000${i}`, to: NUMBER, behaviour: supportCaller({ patienceMs: 60 * 60_000 }) }));
      await st.emu.run(st.clock.sleep(4_000));
    }
    await st.emu.run(st.clock.sleep(30_000));
    const positions = await Promise.all(calls.map((c) => st.app.sb.queues.position('support', c.sid)));
    expect(positions.map((p) => p?.position)).toEqual([1, 2, 3, 4]);

    // Alice is offered the first caller and has not answered yet when Redis dies.
    alice.send({ type: 'set_state', state: 'available', ref: 'a0' });
    const offer = await st.until(alice.next('offer'));
    expect(offer.callSid).toBe(calls[0]!.sid);
    const before = {
      tally: await st.app.sb.queues.tally('support'),
      snapshot: await st.app.sb.queues.snapshot('support'),
      alice: (await st.app.sb.agents.get('alice'))?.state,
      bob: (await st.app.sb.agents.get('bob'))?.state,
    };
    expect(before).toMatchObject({
      alice: 'reserved',
      bob: 'break',
      snapshot: { waiting: 4, offered: 1 },
      tally: { offered: 4, inQueue: 4 },
    });

    // ---- Redis dies.
    r1.proc.kill('SIGKILL');
    await new Promise((res) => r1.proc.once('exit', res));
    const outageFrom = st.emu.log.webhooks.length;
    const health = await st.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toMatchObject({ status: 'degraded', redis: 'down' });

    // A new caller rings during the outage, and the waiting callers' waitUrls come round.
    const lateCaller = st.emu.placeCall({
      from: '+15557770009',
      to: NUMBER,
      behaviour: { ...supportCaller({ patienceMs: 60 * 60_000 }), record: { durationMs: 5_000 } },
    });
    await st.emu.run(st.clock.sleep(10_000));
    const during: WebhookLogEntry[] = st.emu.log.webhooks.slice(outageFrom);
    const live = during.filter((w) => LIVE_ROUTES.test(w.path));
    expect(live.some((w) => w.path.startsWith('/twilio/voice'))).toBe(true);
    expect(live.some((w) => w.path.startsWith('/twilio/queue/wait'))).toBe(true);
    for (const w of live) {
      expect({ path: w.path, status: w.status }).toEqual({ path: w.path, status: 200 });
      expect(w.latencyMs ?? Infinity).toBeLessThan(2000);
    }
    // The new caller heard the apology; the waiting callers are still in Twilio's queue.
    expect(lateCaller.heard.some((h) => /technical difficulties/.test(h))).toBe(true);
    const twilioQueue = [...st.emu.queues.values()].find((q) => q.friendlyName === 'support');
    expect(twilioQueue?.members.map((m) => m.call.sid)).toEqual(calls.map((c) => c.sid));

    // ---- Redis comes back: same port, same data directory, append-only file.
    const r2 = await startRedis({ appendonly: true, port: r1.port, dir: r1.dir });
    current = r2;
    await eventually(async () => (await st.app.inject({ method: 'GET', url: '/health' })).json<{ status: string }>().status === 'ok');

    // Nothing was lost.
    expect(await st.app.sb.queues.tally('support')).toEqual(before.tally);
    const after = await st.app.sb.queues.snapshot('support');
    expect(after).toMatchObject({ waiting: 4, offered: 1 });
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('reserved');
    expect((await st.app.sb.agents.get('bob'))?.state).toBe('break');
    const positionsAfter = await Promise.all(calls.map((c) => st.app.sb.queues.position('support', c.sid)));
    expect(positionsAfter.map((p) => p?.position)).toEqual([1, 2, 3, 4]);

    // The offer made before the outage is accepted after it; the agent hears back over the WebSocket
    // (Redis pub/sub, resubscribed by itself).
    const answeredOrder: string[] = [];
    const handle = async (a: TestAgent, o: Record<string, unknown>) => {
      const from = a.messages.length;
      a.send({ type: 'accept', offerId: o.offerId });
      const connected = await st.until(
        a.next('call', (m) => m.status === 'connected' && m.callSid === o.callSid, from),
        { maxMs: 120_000 },
      );
      answeredOrder.push(connected.callSid as string);
      a.send({ type: 'hangup', callSid: o.callSid });
      await st.until(a.next('wrap_up', (m) => m.callSid === o.callSid, from));
      a.send({ type: 'wrap_up', callSid: o.callSid, disposition: 'resolved', ref: `w-${String(o.callSid)}` });
      await st.until(a.next('ack', (m) => m.ref === `w-${String(o.callSid)}`, from));
    };
    await handle(alice, offer);
    // Alice alone takes the rest (Bob stays on his break), so offers go out one at a time: in the
    // callers' original order.
    const seen = new Set<unknown>([offer.offerId]);
    while (answeredOrder.length < 4) {
      const next = await st.until(alice.next('offer', (m) => !seen.has(m.offerId)));
      seen.add(next.offerId);
      await handle(alice, next);
    }
    expect(answeredOrder).toEqual(calls.map((c) => c.sid));

    const tally = await st.app.sb.queues.tally('support');
    expect(tally).toMatchObject({ offered: 4, answered: 4, abandoned: 0, overflow: 0, callback: 0, inQueue: 0 });
    const m = await st.metrics();
    expect(sample(m, 'switchboard_calls_offered_total', { queue: 'support' })).toBe(4);
    expect(sample(m, 'switchboard_calls_answered_total', { queue: 'support' })).toBe(4);
    expect(sample(m, 'switchboard_calls_abandoned_total', { queue: 'support' })).toBe(0);
    expect(sample(m, 'switchboard_webhook_duration_seconds_count', { route: '/twilio/queue/wait', status: '5xx' }) ?? 0).toBe(0);
    expect((await st.app.sb.agents.get('bob'))?.state).toBe('break');
    bob.send({ type: 'set_state', state: 'available', ref: 'b1' });
    await st.until(bob.next('ack', (m) => m.ref === 'b1'));
    expect((await st.app.sb.agents.get('bob'))?.state).toBe('available');
    alice.close();
    bob.close();
  }, 120_000);
});

describe('fallback URL for a waiting caller', () => {
  it('keeps a caller whose waitUrl failed in the queue with hold music; other documents get the apology', async () => {
    const { makeApp, callParams, newCallSid, saysOf, PUBLIC_BASE } = await import('../helpers/app.js');
    const t = await makeApp();
    cleanup.push(() => t.close());
    const wait = await t.twilio(
      '/twilio/fallback',
      callParams(newCallSid(), { ErrorCode: '11200', ErrorUrl: `${PUBLIC_BASE}/twilio/queue/wait?queue=support` }),
    );
    expect(wait.status).toBe(200);
    expect(wait.body).toMatch(/<Response><Play loop="1">[^<]+<\/Play><\/Response>/);
    const voice = await t.twilio(
      '/twilio/fallback',
      callParams(newCallSid(), { ErrorCode: '11200', ErrorUrl: `${PUBLIC_BASE}/twilio/voice` }),
    );
    expect(saysOf(voice.body)[0]).toContain('technical difficulties');
    expect(voice.body).toContain('<Record');
  });
});
