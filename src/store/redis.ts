/**
 * Redis connections and the Lua script loader. Scripts live in src/store/lua as
 * `commandName-<numKeys>.lua` (BullMQ's convention) with a header listing KEYS, ARGV and the reply;
 * each runs with EVALSHA and falls back to EVAL after a Redis restart (the script cache is empty then),
 * as ioredis `defineCommand` does. Not through `defineCommand`: ioredis copies every defined command onto
 * each pipeline it creates, and with auto-pipelining it creates one per batch of commands (~40 µs with
 * our ~40 scripts, several times per webhook).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { SCRIPT_ERRORS, sbError } from '../errors.js';

export type RedisClient = Redis | Cluster;

const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lua');

export interface ScriptDef {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/** Every script in src/store/lua, parsed from its file name. */
export function loadScripts(dir = LUA_DIR): ScriptDef[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.lua'))
    .map((f) => {
      const m = /^([A-Za-z]+)-(\d+)\.lua$/.exec(f);
      if (!m) throw new Error(`lua file name must be commandName-<numKeys>.lua: ${f}`);
      return { name: m[1]!, numberOfKeys: Number(m[2]), lua: expandIncludes(readFileSync(join(dir, f), 'utf8'), dir, f) };
    });
}

/**
 * Replace `-- @include "name"` lines with src/store/lua/include/name.lua, so helpers shared by several
 * scripts (event emission, state moves) are written once. Expanded at load time: Redis still gets one
 * self-contained script per command.
 */
export function expandIncludes(lua: string, dir: string, file: string): string {
  return lua.replace(/^-- @include "([a-z0-9-]+)"\n/gm, (_m, name: string) => {
    try {
      return readFileSync(join(dir, 'include', `${name}.lua`), 'utf8');
    } catch {
      throw new Error(`${file}: include "${name}" not found in ${join(dir, 'include')}`);
    }
  });
}

/** A typed handle on a defined script command. */
export type ScriptRunner = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/** Runners for every script on a client: EVALSHA, and EVAL when Redis does not have the script (NOSCRIPT). */
export function defineScripts(client: RedisClient, defs: ScriptDef[] = loadScripts()): Record<string, ScriptRunner> {
  const runners: Record<string, ScriptRunner> = {};
  for (const d of defs) {
    const sha = createHash('sha1').update(d.lua).digest('hex');
    runners[d.name] = async (keys, args) => {
      if (keys.length !== d.numberOfKeys) throw new Error(`${d.name} takes ${d.numberOfKeys} keys, got ${keys.length}`);
      try {
        try {
          return await client.evalsha(sha, d.numberOfKeys, ...keys, ...args);
        } catch (e) {
          if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
          // EVAL also puts the script in Redis's cache: the next call's EVALSHA finds it.
          return await client.eval(d.lua, d.numberOfKeys, ...keys, ...args);
        }
      } catch (e) {
        throw translateScriptError(e);
      }
    };
  }
  return runners;
}

/** Map `{err='CODE ...'}` replies from scripts to typed errors; pass other errors through. */
export function translateScriptError(e: unknown): unknown {
  if (e instanceof Error) {
    const code = /^(?:ERR )?([A-Z_]+)(?:\s|$)/.exec(e.message)?.[1];
    const known = code ? SCRIPT_ERRORS[code] : undefined;
    if (known) return sbError(known.code, undefined, `${known.message} (${code})`);
  }
  return e;
}

export interface RedisConnectOptions {
  url?: string | undefined;
  clusterNodes?: string[] | undefined;
  /** Fail commands fast while disconnected, so webhooks can answer fallback TwiML within their budget. */
  commandTimeoutMs?: number;
  onError?: (err: Error) => void;
}

/** Open a client (single node or cluster) that reconnects by itself and never queues commands for long. */
export function connectRedis(opts: RedisConnectOptions): RedisClient {
  const base: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    commandTimeout: opts.commandTimeoutMs ?? 1000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    // Reconnect (and resend) only when a failover left us on a replica. Any other error reply is an
    // answer: a script's `SB_CONFLICT`, a NOSCRIPT after a restart (ioredis falls back to EVAL) must not
    // drop the connection every in-flight command of every caller shares.
    reconnectOnError: (err) => (/^READONLY/.test(err.message) ? 2 : false),
    lazyConnect: false,
    // Commands issued in the same tick (by concurrent webhooks, or one handler's Promise.all) go out in one
    // socket write: a write per command was the largest single cost of a webhook under load.
    enableAutoPipelining: true,
  };
  let client: RedisClient;
  if (opts.clusterNodes && opts.clusterNodes.length) {
    const seeds = clusterSeeds(opts.clusterNodes);
    client = failFastOnceReady(
      new Cluster(seeds.nodes, {
        redisOptions: { ...base, ...seeds.auth },
        clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
        enableOfflineQueue: true,
        // With TLS the certificate names the host, not the IP address the cluster announces.
        ...(seeds.auth.tls
          ? { dnsLookup: (address: string, done: (err: Error | null, address: string) => void) => done(null, address) }
          : {}),
      }),
    );
  } else {
    client = new Redis(opts.url ?? 'redis://127.0.0.1:6379', base);
  }
  client.on('error', (err: Error) => opts.onError?.(err));
  return client;
}

/**
 * REDIS_CLUSTER_NODES entries (`host:port`, or `redis://` / `rediss://` URLs with optional credentials) as
 * ioredis Cluster seeds. Every node of a cluster shares one password and TLS setting, so they come from
 * the first entry that carries them and apply to every node ioredis discovers.
 */
export function clusterSeeds(entries: readonly string[]): {
  nodes: { host: string; port: number }[];
  auth: { username?: string; password?: string; tls?: Record<string, never> };
} {
  const auth: { username?: string; password?: string; tls?: Record<string, never> } = {};
  const nodes = entries.map((n) => {
    const u = new URL(n.includes('://') ? n : `redis://${n}`);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`REDIS_CLUSTER_NODES: ${u.protocol} is not redis: or rediss:`);
    if (u.protocol === 'rediss:') auth.tls = {};
    if (u.password && auth.password === undefined) {
      auth.password = decodeURIComponent(u.password);
      if (u.username) auth.username = decodeURIComponent(u.username);
    }
    return { host: u.hostname, port: Number(u.port || 6379) };
  });
  return { nodes, auth };
}

/**
 * A cluster client queues commands while it is not connected, with no limit in time: a webhook would get
 * its fallback TwiML after its budget, but its writes would run whenever the cluster came back (an
 * enqueue for a caller long gone). Commands wait for the first connection (start-up), then fail fast while
 * the cluster is unreachable, as a single-node client does (maxRetriesPerRequest 1). Duplicates (the
 * pub/sub subscriber) behave the same.
 */
function failFastOnceReady(c: Cluster): Cluster {
  c.once('ready', () => {
    c.options.enableOfflineQueue = false;
  });
  const duplicate = c.duplicate.bind(c);
  c.duplicate = (nodes = [], options = {}) => failFastOnceReady(duplicate(nodes, { ...options, enableOfflineQueue: true }));
  return c;
}

/**
 * Resolve once the client is connected and ready, or reject after `ms`. Start-up waits for this before its
 * first commands, so on a slow machine or a Redis that comes up after the server, the connect does not eat
 * the 1 s command timeout of those commands (a start-up failed so on a loaded machine).
 */
export function whenReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not ready after ${ms / 1000} s (status ${client.status})`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
