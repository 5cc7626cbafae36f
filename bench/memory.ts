/**
 * Redis memory per waiting caller, key by key: `npx tsx bench/memory.ts` (not part of the tests).
 *
 * A fresh redis-server (no persistence, so no AOF buffer in the figures) and the server (`src/main.ts`
 * under tsx, or `node dist/main.js` with MEM_SERVER=dist) in its production environment; N callers
 * (MEM_CALLERS, 1,000) brought into the support queue the way Twilio does: signed webhooks for the
 * incoming call, the language menu and the main menu (which answers <Enqueue>), then the first waitUrl
 * request Twilio makes once the caller is in its queue (QueueSid, position). After each stage:
 *
 *   - `INFO memory` used_memory delta ÷ N (everything: keys, Redis's own dictionaries and expiry table);
 *   - every key that appeared or grew, grouped by its name with the CallSid and caller hash replaced by
 *     <sid> and <hash>: keys per caller, `MEMORY USAGE ... SAMPLES 0` (exact for every element) per
 *     caller, `OBJECT ENCODING` (listpack → skiplist / hashtable past 128 entries or 64-byte values);
 *   - the fields of one caller's hashes (what each byte is).
 *
 * Env: MEM_CALLERS (1000), MEM_SERVER=dist, MEM_JSON=path (write the figures as JSON too).
 */
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import YAML from 'yaml';
import {
  BENCH_ACCOUNT,
  BENCH_TOKEN,
  callParams,
  child,
  freePort,
  hex,
  info,
  postAll,
  prepare,
  sid,
  waitHttp,
  type Prepared,
} from './lib.js';

const TOKEN = BENCH_TOKEN;
const ACCOUNT = BENCH_ACCOUNT;
const N = Number(process.env.MEM_CALLERS ?? 1000);

interface KeyGroup {
  pattern: string;
  type: string;
  encodings: string[];
  /** Keys of this pattern that appeared in the stage (per caller). */
  keysPerCaller: number;
  /** MEMORY USAGE after − before, summed over the group's keys, ÷ N. */
  bytesPerCaller: number;
  /** Entries (fields, members, stream entries) per caller. */
  entriesPerCaller: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-mem-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const redisPort = await freePort();
  child(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'no', '--save', '', '--protected-mode', 'no'],
    {},
    'ignore',
  );
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redis = new Redis(redisUrl);
  redis.on('error', () => {});
  await redis.ping();

  const port = await freePort();
  const publicBase = `http://127.0.0.1:${port}`;
  const center = YAML.parse(readFileSync('config/switchboard.example.yaml', 'utf8')) as Record<string, any>;
  center.flows.main.nodes.hours.hours = 'always';
  center.queues.support.maxLength = 5000;
  center.queues.support.maxWaitSeconds = 3600;
  const configPath = join(dir, 'center.json');
  writeFileSync(configPath, JSON.stringify(center));
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    PUBLIC_BASE_URL: publicBase,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
    CALLER_HASH_KEY: 'bench-caller-hash-key-0123456789abcdef',
    SUPERVISOR_TOKEN: 'bench-supervisor-token-0123456789',
    SWITCHBOARD_CONFIG: configPath,
    NODE_ENV: 'production',
  };
  const logFd = openSync(join(dir, 'server.log'), 'w');
  const server =
    process.env.MEM_SERVER === 'dist'
      ? child(process.execPath, ['dist/main.js'], env, logFd)
      : child(process.execPath, ['--import', 'tsx', 'src/main.ts'], env, logFd);
  await waitHttp(`${publicBase}/health`, 60_000, server);

  const drive = (list: Prepared[], parallel = 8): Promise<string[]> => postAll(publicBase, list, parallel);
  const sign = (path: string, params: Record<string, string>): Prepared => prepare(TOKEN, publicBase, path, params);

  /** Every key with its type, encoding, MEMORY USAGE (exact) and entry count. */
  const snapshotKeys = async (): Promise<Map<string, { type: string; enc: string; bytes: number; entries: number }>> => {
    const out = new Map<string, { type: string; enc: string; bytes: number; entries: number }>();
    let cursor = '0';
    const names: string[] = [];
    do {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      names.push(...batch);
    } while (cursor !== '0');
    for (let i = 0; i < names.length; i += 500) {
      const part = names.slice(i, i + 500);
      const p = redis.pipeline();
      for (const k of part) p.type(k).object('ENCODING', k).memory('USAGE', k, 'SAMPLES', '0');
      const res = (await p.exec()) ?? [];
      const lenP = redis.pipeline();
      part.forEach((k, j) => {
        const type = String(res[j * 3]?.[1]);
        if (type === 'hash') lenP.hlen(k);
        else if (type === 'zset') lenP.zcard(k);
        else if (type === 'set') lenP.scard(k);
        else if (type === 'list') lenP.llen(k);
        else if (type === 'stream') lenP.xlen(k);
        else lenP.exists(k);
      });
      const lens = (await lenP.exec()) ?? [];
      part.forEach((k, j) => {
        out.set(k, {
          type: String(res[j * 3]?.[1]),
          enc: String(res[j * 3 + 1]?.[1]),
          bytes: Number(res[j * 3 + 2]?.[1] ?? 0),
          entries: Number(lens[j]?.[1] ?? 0),
        });
      });
    }
    return out;
  };

  const callers = Array.from({ length: N }, (_, k) => ({
    callSid: sid('CA'),
    from: '+1555' + String(1_000_000 + k).padStart(7, '0'),
  }));
  const sids = new Set(callers.map((c) => c.callSid));
  const hashes = new Set<string>();
  const normalize = (key: string): string => {
    let s = key.replace(/CA[0-9a-f]{32}/g, (m) => (sids.has(m) ? '<sid>' : m));
    s = s.replace(/[0-9a-f]{32}/g, (m) => (hashes.has(m) ? '<hash>' : m));
    return s.replace(/day:\d{4}-\d{2}-\d{2}/, 'day:<date>');
  };

  const settle = () => new Promise((r) => setTimeout(r, 1500));
  const usedMemory = async () => (await info(redis, 'memory')).get('used_memory') ?? 0;
  /** MEMORY STATS' overheads outside the keys' values: the key space's and expiry table's hash tables, clients. */
  const overheads = async (): Promise<Record<string, number>> => {
    const flat = (await redis.call('MEMORY', 'STATS')) as unknown[];
    const out: Record<string, number> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = String(flat[i]);
      const v = flat[i + 1];
      if (typeof v === 'number') out[name] = v;
      else if (Array.isArray(v) && /^db\.\d+$/.test(name)) {
        for (let j = 0; j + 1 < v.length; j += 2) out[`${name}.${String(v[j])}`] = Number(v[j + 1]);
      }
    }
    return out;
  };
  const stages: { stage: string; usedMemoryPerCaller: number; keysPerCaller: number; groups: KeyGroup[] }[] = [];
  let before = await snapshotKeys();
  let mem0 = await usedMemory();
  let keys0 = before.size;
  let stats0 = await overheads();

  const measure = async (stage: string): Promise<void> => {
    await settle();
    const mem1 = await usedMemory();
    const stats1 = await overheads();
    const after = await snapshotKeys();
    // The caller hashes appear in the keys of the callers' recent calls: learn them from the IVR hashes.
    if (hashes.size === 0) {
      for (const c of callers.slice(0, N)) {
        const h = await redis.hget(`sb:{c:${c.callSid}}:ivr`, 'c');
        if (h) hashes.add(h);
      }
    }
    const groups = new Map<string, KeyGroup & { encSet: Set<string> }>();
    for (const [k, a] of after) {
      const b = before.get(k);
      const dBytes = a.bytes - (b?.bytes ?? 0);
      const dEntries = a.entries - (b?.entries ?? 0);
      if (b && dBytes === 0 && dEntries === 0) continue;
      const pattern = normalize(k);
      let g = groups.get(pattern);
      if (!g) {
        g = { pattern, type: a.type, encodings: [], encSet: new Set(), keysPerCaller: 0, bytesPerCaller: 0, entriesPerCaller: 0 };
        groups.set(pattern, g);
      }
      g.encSet.add(a.enc);
      if (!b) g.keysPerCaller += 1 / N;
      g.bytesPerCaller += dBytes / N;
      g.entriesPerCaller += dEntries / N;
    }
    const list = [...groups.values()]
      .map(({ encSet, ...g }) => ({ ...g, encodings: [...encSet] }))
      .sort((x, y) => y.bytesPerCaller - x.bytesPerCaller);
    const row = { stage, usedMemoryPerCaller: (mem1 - mem0) / N, keysPerCaller: (after.size - keys0) / N, groups: list };
    stages.push(row);
    console.log(`\n== ${stage}: ${N} callers`);
    console.log(
      `used_memory delta per caller: ${row.usedMemoryPerCaller.toFixed(0)} bytes; keys per caller: ${row.keysPerCaller.toFixed(2)}`,
    );
    console.log('key (per caller)'.padEnd(44) + 'type    encoding            keys  entries   bytes');
    let sum = 0;
    for (const g of list) {
      sum += g.bytesPerCaller;
      console.log(
        g.pattern.padEnd(44) +
          g.type.padEnd(8) +
          g.encodings.join(',').padEnd(20) +
          g.keysPerCaller.toFixed(2).padStart(4) +
          g.entriesPerCaller.toFixed(2).padStart(9) +
          g.bytesPerCaller.toFixed(0).padStart(8),
      );
    }
    console.log(`${'sum of MEMORY USAGE deltas'.padEnd(82)}${sum.toFixed(0).padStart(8)}`);
    const statDelta = (name: string): number => ((stats1[name] ?? 0) - (stats0[name] ?? 0)) / N;
    console.log(
      `outside MEMORY USAGE, per caller (MEMORY STATS deltas): key space table ${statDelta('db.0.overhead.hashtable.main').toFixed(0)}, ` +
        `expiry table ${statDelta('db.0.overhead.hashtable.expires').toFixed(0)}, clients ${(statDelta('clients.normal') + statDelta('clients.slaves')).toFixed(0)}, ` +
        `dataset ${statDelta('dataset.bytes').toFixed(0)}`,
    );
    stats0 = stats1;
    before = after;
    mem0 = mem1;
    keys0 = after.size;
  };

  const stageStart = { mem: mem0, keys: keys0 };
  const menu = (c: (typeof callers)[number], node: string, digits: string) =>
    sign(`/twilio/ivr/gather?node=${node}`, callParams(c.callSid, { Digits: digits, FinishedOnKey: '' }, c.from));
  await drive(callers.map((c) => sign('/twilio/voice', callParams(c.callSid, { CallStatus: 'ringing' }, c.from))));
  await drive(callers.map((c) => menu(c, 'language', '1')));
  const answers = await drive(callers.map((c) => menu(c, 'main-menu', '2')));
  const notQueued = answers.filter((x) => !x.includes('<Enqueue')).length;
  if (notQueued > 0) throw new Error(`${notQueued} callers were not queued: ${answers.find((x) => !x.includes('<Enqueue'))}`);
  await measure('incoming call, language menu, main menu (<Enqueue>)');

  const queueSid = 'QU' + hex(32);
  await drive(
    callers.map((c, k) =>
      sign(
        '/twilio/queue/wait?queue=support',
        callParams(
          c.callSid,
          {
            QueuePosition: String(k + 1),
            QueueSid: queueSid,
            QueueTime: '0',
            AvgQueueTime: '0',
            CurrentQueueSize: String(N),
          },
          c.from,
        ),
      ),
    ),
  );
  await measure("Twilio's first waitUrl request");

  const total = { usedMemoryPerCaller: ((await usedMemory()) - stageStart.mem) / N };
  console.log(`\nwaiting caller in all (both stages): used_memory delta ${total.usedMemoryPerCaller.toFixed(0)} bytes per caller`);

  // One caller's hashes, field by field.
  const one = callers[0]!.callSid;
  for (const [k] of before) {
    if (!k.includes(one)) continue;
    const type = await redis.type(k);
    const body = type === 'hash' ? await redis.hgetall(k) : type === 'zset' ? await redis.zrange(k, 0, -1, 'WITHSCORES') : type;
    console.log(`\n${normalize(k)} (${type}, MEMORY USAGE ${await redis.memory('USAGE', k, 'SAMPLES', '0')}):`, body);
  }
  if (process.env.MEM_JSON) writeFileSync(process.env.MEM_JSON, JSON.stringify({ callers: N, stages, total }, null, 2));
  redis.disconnect();
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
