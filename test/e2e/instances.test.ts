/**
 * Two server instances share one Redis: a caller enters through instance A, the agent is connected to
 * instance B, and the offer decided on A reaches the agent on B (fan-out through Redis). The supervisor
 * API (either instance) shows the queue and the agent; it refuses agent tokens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import type { GatherContext } from '../../src/sim/twilio/index.js';
import { ACCOUNT_SID, AUTH_TOKEN, loadExample, PUBLIC_BASE, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { makeStack, NUMBER, TestAgent, type Stack } from '../helpers/stack.js';

let s: Stack | undefined;
let closeB: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeB?.();
  await s?.close();
  s = undefined;
});

describe('several instances', () => {
  it('an offer decided on one instance reaches an agent connected to another', async () => {
    s = await makeStack();
    const st = s;
    const b = await buildApp(
      {
        center: await loadExample(),
        publicBaseUrl: PUBLIC_BASE,
        twilioAuthToken: AUTH_TOKEN,
        twilioAccountSid: ACCOUNT_SID,
        twilioApiBaseUrl: st.emu.restBaseUrl,
        callerHashKey: 'test-caller-hash-key-0123456789',
        redisPrefix: st.prefix,
        supervisorToken: SUPERVISOR_TOKEN,
        instanceId: 'b',
      },
      { redis: st.redis.duplicate(), clock: st.clock, sweepEveryMs: 1000 },
    );
    await b.listen({ port: 0, host: '127.0.0.1' });
    closeB = async () => {
      await b.close();
    };
    const portB = (b.server.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${portB}/agent/ws?token=alice-demo-token`);
    const alice = new TestAgent(ws);
    const welcome = await st.until(alice.next('welcome'));
    expect(welcome.instance).toBe('b');
    alice.send({ type: 'set_state', state: 'available' });
    await st.until(alice.next('ack'));

    // The emulator's webhooks go to instance A only.
    const call = st.emu.placeCall({
      from: '+15552220001',
      to: NUMBER,
      behaviour: {
        patienceMs: 600_000,
        gather: (ctx: GatherContext) => {
          const h = ctx.heard.join(' ');
          if (h.includes('For English')) return { digits: '1' };
          if (h.includes('technical support, press 2')) return { digits: '2' };
          return null;
        },
      },
    });
    const offer = await st.until(alice.next('offer'));
    expect(offer.callSid).toBe(call.sid);

    const queuesA = await st.app.inject({ method: 'GET', url: '/api/queues', headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` } });
    const support = (queuesA.json() as { queues: { name: string; waiting: number; offered: number }[] }).queues.find(
      (q) => q.name === 'support',
    );
    expect(support).toMatchObject({ waiting: 1, offered: 1 });
    const agentsB = await b.inject({ method: 'GET', url: '/api/agents', headers: { authorization: `Bearer ${SUPERVISOR_TOKEN}` } });
    expect((agentsB.json() as { agents: { id: string; state: string }[] }).agents.find((a) => a.id === 'alice')?.state).toBe('reserved');
    const forbidden = await b.inject({ method: 'GET', url: '/api/agents', headers: { authorization: 'Bearer alice-demo-token' } });
    expect(forbidden.statusCode).toBe(403);
    alice.close();
  });
});

describe('capacity API', () => {
  it('answers Erlang C and A for supervisors and names a bad field', async () => {
    s = await makeStack();
    const auth = { authorization: `Bearer ${SUPERVISOR_TOKEN}` };
    const c = await s.app.inject({
      method: 'GET',
      url: '/api/capacity?arrivalsPerHour=200&ahtSeconds=180&targetSeconds=20',
      headers: auth,
    });
    // Same inputs as the CLI test: A = 10 Erlangs; 13 agents give 79.6 %, 14 give 88.8 % (see test/unit/capacity.test.ts).
    expect(c.json()).toMatchObject({ model: 'erlang_c', agents: 14, trafficErlangs: 10 });
    const a = await s.app.inject({
      method: 'GET',
      url: '/api/capacity?arrivalsPerHour=200&ahtSeconds=180&agents=12&patienceSeconds=120',
      headers: auth,
    });
    const body = a.json() as { model: string; abandonProbability: number };
    expect(body.model).toBe('erlang_a');
    expect(body.abandonProbability).toBeGreaterThan(0);
    expect(body.abandonProbability).toBeLessThan(1);
    const bad = await s.app.inject({ method: 'GET', url: '/api/capacity?arrivalsPerHour=-1&ahtSeconds=180', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'arrivalsPerHour' });
  });
});
