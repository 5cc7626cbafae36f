/**
 * Vitest global setup for the `cluster` project: a local three-master Redis Cluster (three redis-server
 * processes with cluster-enabled yes on free ports, slots split in thirds with CLUSTER ADDSLOTSRANGE, the
 * nodes introduced with CLUSTER MEET), ready once every node reports cluster_state:ok. The node list is
 * provided to the tests as `redisClusterNodes`; test/helpers/redis.ts then opens an ioredis Cluster
 * instead of a single connection, so the same test bodies run against both. REDIS_CLUSTER_NODES (a
 * comma-separated host:port list) uses an existing cluster instead.
 */
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { freePort, startRedis } from './global-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of every master, when the tests run against a cluster. */
    redisClusterNodes: string[];
  }
}

export interface RunningCluster {
  nodes: string[];
  stop: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start `masters` redis-server processes in cluster mode and join them into one cluster covering all slots. */
export async function startRedisCluster(masters = 3, opts: { password?: string } = {}): Promise<RunningCluster> {
  const auth = opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : [];
  const servers: Awaited<ReturnType<typeof startRedis>>[] = [];
  const busPorts: number[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const busPort = await freePort();
      busPorts.push(busPort);
      servers.push(
        await startRedis({
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPort),
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '5000',
            ...auth,
          ],
        }),
      );
    }
    const admins = servers.map(
      (s) => new Redis(s.port, '127.0.0.1', { maxRetriesPerRequest: 1, ...(opts.password ? { password: opts.password } : {}) }),
    );
    try {
      const per = Math.ceil(16384 / masters);
      await Promise.all(
        admins.map((a, i) => a.call('CLUSTER', 'ADDSLOTSRANGE', String(i * per), String(Math.min(16383, (i + 1) * per - 1)))),
      );
      // The bus port is not port + 10000 here, so MEET names it.
      for (let i = 1; i < masters; i++)
        await admins[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(servers[i]!.port), String(busPorts[i]));
      const deadline = Date.now() + 30_000;
      for (;;) {
        const infos = await Promise.all(admins.map((a) => a.call('CLUSTER', 'INFO') as Promise<string>));
        const ok = infos.every((t) => /cluster_state:ok/.test(t) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(t));
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`redis cluster not ok after 30 s:\n${infos.join('\n')}`);
        await sleep(100);
      }
    } finally {
      for (const a of admins) a.disconnect();
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
  return {
    nodes: servers.map((s) => `127.0.0.1:${s.port}`),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
      for (const s of servers) rmSync(s.dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.REDIS_CLUSTER_NODES?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (given?.length) {
    project.provide('redisClusterNodes', given);
    return async () => {};
  }
  const c = await startRedisCluster();
  project.provide('redisClusterNodes', c.nodes);
  return c.stop;
}
