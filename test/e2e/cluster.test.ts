/**
 * Runs only in the `cluster` vitest project (vitest.config.ts), against the local three-master Redis
 * Cluster of test/setup/global-cluster.ts. The store suites and the queue end-to-end flows run there
 * unchanged; this file shows that the harness really is a cluster (the keys of one call land on more
 * than one master) and runs a full call across two app instances: webhooks reach instance A, the agent
 * is connected to instance B, so the offer and every call message cross Redis pub/sub on the cluster.
 */
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/app.js';
import { VirtualClock } from '../../src/clock.js';
import { SwitchboardError } from '../../src/errors.js';
import { createQueueStore } from '../../src/queue/store.js';
import { createKeys } from '../../src/store/keys.js';
import { connectRedis } from '../../src/store/redis.js';
import type { GatherContext } from '../../src/sim/twilio/index.js';
import { ACCOUNT_SID, AUTH_TOKEN, loadExample, PUBLIC_BASE, SUPERVISOR_TOKEN } from '../helpers/app.js';
import { clusterNodes, uniquePrefix } from '../helpers/redis.js';
import { makeStack, NUMBER, TestAgent, type Stack } from '../helpers/stack.js';
import { startRedisCluster } from '../setup/global-cluster.js';

let s: Stack | undefined;
let closeB: (() => Promise<void>) | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await closeB?.();
  closeB = undefined;
  await s?.close();
  s = undefined;
});

const caller = {
  patienceMs: 600_000,
  gather: (ctx: GatherContext) => {
    const h = ctx.heard.join(' ');
    if (h.includes('For English')) return { digits: '1' };
    if (h.includes('technical support, press 2')) return { digits: '2' };
    if (h.includes('how satisfied')) return { digits: '4' };
    if (h.includes('recommend')) return { digits: '8#' };
    return null;
  },
};

describe('Redis Cluster', () => {
  it('a call from IVR to wrap-up across two instances on a three-master cluster; its keys span several masters', async () => {
    expect(clusterNodes()).toHaveLength(3);
    s = await makeStack();
    const st = s;
    expect(st.redis).toBeInstanceOf(Cluster);
    const cluster = st.redis as Cluster;
    const info = String(await cluster.call('CLUSTER', 'INFO'));
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_known_nodes:3\b/);
    expect(cluster.nodes('master')).toHaveLength(3);

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
      { redis: cluster.duplicate(), clock: st.clock, sweepEveryMs: 1000 },
    );
    await b.listen({ port: 0, host: '127.0.0.1' });
    closeB = async () => {
      await b.close();
      b.sb.redis.disconnect();
    };
    st.emu.registerEndpoint('client:alice', { answer: true, answerDelayMs: 1000 });
    const portB = (b.server.address() as { port: number }).port;
    const alice = new TestAgent(new WebSocket(`ws://127.0.0.1:${portB}/agent/ws?token=alice-demo-token`));
    expect((await st.until(alice.next('welcome'))).instance).toBe('b');

    // Webhooks go to instance A only; the agent hears everything through pub/sub from A. The caller
    // waits in the queue first (so Twilio has told us its QueueSid before the bridge).
    const call = st.emu.placeCall({ from: '+15552220009', to: NUMBER, behaviour: caller });
    await st.emu.run(st.clock.sleep(40_000));
    expect((await st.app.sb.queues.snapshot('support')).waiting).toBe(1);
    alice.send({ type: 'set_state', state: 'available', ref: 's1' });
    await st.until(alice.next('ack', (m) => m.ref === 's1'));
    const offer = await st.until(alice.next('offer'));
    expect(offer.callSid).toBe(call.sid);
    alice.send({ type: 'accept', offerId: offer.offerId });
    await st.until(alice.next('call', (m) => m.status === 'connected'));
    await st.emu.run(st.clock.sleep(30_000));
    alice.send({ type: 'hangup', callSid: call.sid });
    const wrap = await st.until(alice.next('wrap_up'));
    expect(wrap.callSid).toBe(call.sid);
    alice.send({ type: 'wrap_up', callSid: call.sid, disposition: 'resolved', ref: 'w1' });
    await st.until(alice.next('ack', (m) => m.ref === 'w1'));
    const summary = await st.emu.run(call.ended);
    expect(summary.heard.some((h) => /how satisfied/.test(h))).toBe(true);
    expect((await st.app.sb.agents.get('alice'))?.state).toBe('available');
    expect(await st.app.sb.queues.tally('support')).toMatchObject({ offered: 1, answered: 1, inQueue: 0 });
    expect(st.emu.errors).toEqual([]);

    // Where the call's keys live: the queue's, the agents', the call's and the cross-call tags hash to
    // different slots, served by different masters.
    const holders: string[] = [];
    for (const node of cluster.nodes('master')) {
      const [, found] = await node.scan('0', 'MATCH', `${st.prefix}*`, 'COUNT', 10_000);
      if (found.length > 0) holders.push(`${node.options.host}:${node.options.port}`);
    }
    expect(holders.length).toBeGreaterThanOrEqual(2);
    alice.close();
  });

  it('the production connection (connectRedis) reaches a password-protected cluster from REDIS_CLUSTER_NODES URLs', async () => {
    const c = await startRedisCluster(3, { password: 'cluster-secret-0123' });
    cleanups.push(() => c.stop());
    const [host, port] = c.nodes[0]!.split(':');
    const plain = new Redis(Number(port), host!, { maxRetriesPerRequest: 1 });
    plain.on('error', () => {});
    cleanups.push(() => plain.disconnect());
    await expect(plain.get('x')).rejects.toThrow(/NOAUTH/);
    const client = connectRedis({ clusterNodes: c.nodes.map((n) => `redis://:cluster-secret-0123@${n}`), commandTimeoutMs: 2000 });
    cleanups.push(() => client.disconnect());
    const store = createQueueStore(client, createKeys(uniquePrefix('auth')), new VirtualClock());
    const input = {
      queue: 'support',
      callSid: 'CA' + 'c'.repeat(32),
      contactId: 'k1',
      callerHash: 'h1',
      priority: 0,
      maxLength: 10,
      whenNoAgents: 'wait' as const,
      serviceLevelSeconds: 20,
    };
    expect((await store.enqueue(input)).result).toBe('queued');
    const claimed = await store.claimNext({ queue: 'support', offerId: 'of_auth0001', agentId: 'a', deadline: 1 });
    expect(claimed?.callSid).toBe(input.callSid);
    // A script's error reply is an answer: the cluster connection stays up and keeps serving.
    await expect(store.markBridging({ queue: 'support', callSid: input.callSid, offerId: 'of_other0001' })).rejects.toBeInstanceOf(
      SwitchboardError,
    );
    expect(await store.markBridging({ queue: 'support', callSid: input.callSid, offerId: 'of_auth0001' })).toBe('bridging');
    expect((client as Cluster).status).toBe('ready');
  });

  it('a cluster client waits for its first connection, then fails fast while the cluster is unreachable (no late writes)', async () => {
    const c = await startRedisCluster(3);
    let stopped = false;
    cleanups.push(() => (stopped ? undefined : c.stop()));
    const client = connectRedis({ clusterNodes: c.nodes, commandTimeoutMs: 1000 });
    client.on('error', () => {});
    cleanups.push(() => client.disconnect());
    // Sent before the cluster client is ready: queued, then run.
    expect(await client.set('sb-ff:{t}:a', '1')).toBe('OK');
    const sub = client.duplicate();
    cleanups.push(() => sub.disconnect());
    await sub.subscribe('sb-ff:bus');

    await c.stop();
    stopped = true;
    const t0 = Date.now();
    const outcome = await Promise.race([
      client.set('sb-ff:{t}:b', '1').then(
        () => 'written',
        (e: Error) => `failed: ${e.message}`,
      ),
      new Promise<string>((r) => setTimeout(() => r('still queued after 10 s'), 10_000)),
    ]);
    expect(outcome).toMatch(/^failed: /);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
