/**
 * The agent index end to end: agents signed in over the real WebSocket, a caller placed through the Twilio
 * emulator, offer, accept, call, wrap-up, a break, a lost socket signed out by the sweep at the end of its
 * grace; then a restart with the agent list of the file changed (skills, team) and an upgrade from a
 * deployment without the index. After each step the index equals a read of every agent hash, and /metrics
 * (switchboard_agents, switchboard_agents_staffed) and the staffing figures equal what that read gives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_STATES } from '../../src/events.js';
import type { Keys } from '../../src/store/keys.js';
import type { RedisClient } from '../../src/store/redis.js';
import { indexAndScan, staffedByScan } from '../helpers/agent-index.js';
import { loadExampleWith, makeApp, sample, type TestApp } from '../helpers/app.js';
import { supportCaller } from '../helpers/callers.js';
import { newRedis } from '../helpers/redis.js';
import { makeStack, NUMBER, type Stack } from '../helpers/stack.js';

let s: Stack | undefined;
const apps: TestApp[] = [];
const clients: RedisClient[] = [];
afterEach(async () => {
  await s?.close();
  s = undefined;
  for (const a of apps.splice(0)) await a.close();
  for (const r of clients.splice(0)) r.disconnect();
});

const TEAMS = ['default', 'tier1', 'billing'];

/** Index = scan; /metrics and staffedFor agree with the scan. */
async function expectIndexRight(
  step: string,
  redis: RedisClient,
  keys: Keys,
  metrics: () => Promise<string>,
  staffedFor: (skills: readonly string[]) => Promise<{ staffed: number; available: number }>,
): Promise<void> {
  const { index, scan } = await indexAndScan(redis, keys);
  expect(index, step).toEqual(scan);
  const m = await metrics();
  for (const team of TEAMS)
    for (const state of AGENT_STATES)
      expect(sample(m, 'switchboard_agents', { state, team }), `${step}: agents ${state} ${team}`).toBe(
        scan.counts[`${state}|${team}`] ?? 0,
      );
  for (const [queue, skills] of [
    ['support', ['support']],
    ['billing', ['billing']],
  ] as const) {
    const want = await staffedByScan(redis, keys, skills);
    expect(await staffedFor(skills), `${step}: staffed for ${queue}`).toEqual(want);
    expect(sample(m, 'switchboard_agents_staffed', { queue }), `${step}: agents_staffed ${queue}`).toBe(want.staffed);
  }
}

describe('agent index end to end', () => {
  it('follows sign-in, break, offer, accept, call, wrap-up, sign-out and a lost socket signed out by the sweep', async () => {
    s = await makeStack();
    const stack = s;
    const check = (step: string) =>
      expectIndexRight(
        step,
        stack.redis,
        stack.app.sb.keys,
        () => stack.metrics(),
        (sk) => stack.app.sb.agents.staffedFor(sk),
      );
    stack.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    await check('start');
    const alice = await stack.agent('alice-demo-token');
    const bob = await stack.agent('bob-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    await stack.until(alice.next('state', (m) => m.state === 'available'));
    await check('alice available');
    bob.send({ type: 'set_state', state: 'break', reason: 'lunch' });
    await stack.until(bob.next('state', (m) => m.state === 'break'));
    await check('bob on break');

    const call = stack.emu.placeCall({ from: '+15551230021', to: NUMBER, behaviour: supportCaller({ csat: '5', nps: '9#' }) });
    const offer = await stack.until(alice.next('offer'));
    await check('alice reserved');
    alice.send({ type: 'accept', offerId: offer.offerId });
    await stack.until(alice.next('call', (m) => m.status === 'connected'));
    await check('alice on the call');
    await stack.emu.run(stack.clock.sleep(20_000));
    alice.send({ type: 'hangup', callSid: call.sid });
    await stack.until(alice.next('wrap_up'));
    await check('alice in wrap-up');
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved', code: '' });
    await stack.reply(alice.next('ack', (m) => m.for === 'wrap_up'));
    await stack.emu.run(call.ended);
    expect((await stack.app.sb.agents.get('alice'))?.state).toBe('available');
    await check('alice available again');

    // Bob's socket drops while on break: the sweep signs him out when the grace (30 s) runs out.
    bob.close();
    await stack.until(
      (async () => {
        while ((await stack.app.sb.agents.get('bob'))?.state !== 'offline') await new Promise((r) => setTimeout(r, 20));
      })(),
      { maxMs: 120_000 },
    );
    await check('bob signed out by the grace sweep');
    alice.send({ type: 'set_state', state: 'offline' });
    await stack.until(alice.next('state', (m) => m.state === 'offline'));
    await check('alice signed out');
    expect(stack.emu.errors).toEqual([]);
    alice.close();
  });

  it('follows a skill and team change of the agent list on restart, and is rebuilt for a deployment without it', async () => {
    s = await makeStack();
    const stack = s;
    const prefix = stack.prefix;
    const alice = await stack.agent('alice-demo-token');
    const carol = await stack.agent('carol-demo-token');
    alice.send({ type: 'set_state', state: 'available' });
    await stack.until(alice.next('state', (m) => m.state === 'available'));
    carol.send({ type: 'set_state', state: 'break', reason: 'training' });
    await stack.until(carol.next('state', (m) => m.state === 'break'));
    expect(await stack.app.sb.agents.staffedFor(['billing'])).toEqual({ staffed: 1, available: 0 });
    await s.close();
    s = undefined;

    // The file now gives alice billing too, in the billing team, and carol support only.
    const center = await loadExampleWith({
      agents: {
        alice: { name: 'Alice', team: 'billing', skills: ['support', 'billing'], contact: 'client:alice', token: 'alice-demo-token' },
        bob: { name: 'Bob', team: 'tier1', skills: ['support', 'billing'], contact: 'client:bob', token: 'bob-demo-token' },
        carol: { name: 'Carol', team: 'tier1', skills: ['support'], contact: 'client:carol', token: 'carol-demo-token' },
      },
    });
    const redis = newRedis();
    clients.push(redis);
    const start = async () => {
      const a = await makeApp({ center, redis, config: { redisPrefix: prefix } });
      apps.push(a);
      return a;
    };
    const app = await start();
    const check = (step: string, a: TestApp) =>
      expectIndexRight(
        step,
        redis,
        a.app.sb.keys,
        () => a.metrics(),
        (sk) => a.app.sb.agents.staffedFor(sk),
      );
    await check('after the restart with the new agent list', app);
    // Alice (available, kept over the restart) now counts for billing; carol (break) no longer does.
    expect(await app.app.sb.agents.staffedFor(['billing'])).toEqual({ staffed: 1, available: 1 });
    expect(await app.app.sb.agents.staffedFor(['support'])).toEqual({ staffed: 2, available: 1 });
    expect(sample(await app.metrics(), 'switchboard_agents', { state: 'available', team: 'billing' })).toBe(1);
    expect(sample(await app.metrics(), 'switchboard_agents', { state: 'break', team: 'tier1' })).toBe(1);
    await app.close();
    apps.splice(0);

    // A deployment from before the index: none of its keys. The start-up rebuild makes it right.
    const k = app.app.sb.keys.agents;
    const skills = await redis.smembers(k.skills);
    expect(skills.sort()).toEqual(['billing', 'support']);
    expect(
      await redis.del(k.signedIn, k.stateCounts, k.skills, ...AGENT_STATES.map(k.inState), ...skills.map(k.withSkill)),
    ).toBeGreaterThan(0);
    const upgraded = await start();
    await check('after the upgrade', upgraded);
    expect(await upgraded.app.sb.agents.staffedFor(['billing'])).toEqual({ staffed: 1, available: 1 });
  });
});
