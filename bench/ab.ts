/**
 * Two builds of the server side by side, for before/after CPU comparisons on a machine shared with other
 * work (docs/performance.md, "CPU per webhook, round 3"). `npm run bench` measures one build at a time,
 * so on a busy machine two runs a minute apart see different loads; here both builds run at once, each
 * with its own redis-server, and get the same requests at the same fixed rate in the same seconds, so
 * whatever else the machine does falls on both alike. Server CPU per request is each process's own
 * utime + stime (/proc/<pid>/stat) over the phase ÷ requests answered; Redis reads per request are read
 * events on each side's Redis (INFO total_reads_processed) over the phase ÷ requests: the socket writes
 * the server made to Redis, however many commands each carried.
 *
 *   npx tsx bench/ab.ts DIR_A DIR_B [rounds]
 *
 * DIR_A and DIR_B are checkouts with `npm run build` done (each server runs as `node DIR/dist/main.js`).
 * Per round (after one warm-up round): incoming calls (fresh CallSids), then a status callback `completed` for each of those calls
 * (the call ends in the IVR). Env: AB_RATE (requests per second to each server, default 400), AB_SECONDS
 * (per phase, default 10), AB_CONNECTIONS (per server, default 20).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import YAML from 'yaml';
import { BENCH_ACCOUNT, BENCH_TOKEN, callParams, child, freePort, prepare, procSample, sid, waitHttp, type Prepared } from './lib.js';

const TOKEN = BENCH_TOKEN;
const ACCOUNT = BENCH_ACCOUNT;
const RATE = Number(process.env.AB_RATE ?? 400);
const SECONDS = Number(process.env.AB_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.AB_CONNECTIONS ?? 20);

interface Side {
  name: string;
  base: string;
  pid: number;
  redis: Redis;
}

/** Read events on Redis's sockets so far (a pipeline or a lone command is one). */
async function reads(redis: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
}

async function startSide(name: string, dir: string, work: string, config: string): Promise<Side> {
  const redisPort = await freePort();
  mkdirSync(join(work, name));
  child(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', join(work, name), '--appendonly', 'yes', '--save', ''],
    {},
    'ignore',
  );
  const redis = new Redis(`redis://127.0.0.1:${redisPort}`);
  redis.on('error', () => {});
  await redis.ping();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = child(
    process.execPath,
    [join(dir, 'dist/main.js')],
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PUBLIC_BASE_URL: base,
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_API_BASE_URL: 'http://127.0.0.1:9',
      CALLER_HASH_KEY: 'bench-caller-hash-key-0123456789abcdef',
      SUPERVISOR_TOKEN: 'bench-supervisor-token-0123456789',
      SWITCHBOARD_CONFIG: config,
      NODE_ENV: 'production',
    },
    'ignore',
  );
  await waitHttp(`${base}/health`, 30_000, server);
  return { name, base, pid: server.pid!, redis };
}

/** Send `list` at RATE per second; resolves with the answers counted. */
async function drive(base: string, list: Prepared[]): Promise<{ requests: number; non2xx: number }> {
  let next = 0;
  const r = await autocannon({
    url: base,
    connections: CONNECTIONS,
    overallRate: RATE,
    amount: list.length,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const p = list[next++ % list.length]!;
          return {
            ...req,
            method: 'POST',
            path: p.path,
            body: p.body,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'x-twilio-signature': p.sig,
              'i-twilio-idempotency-token': p.idem,
            },
          };
        },
      },
    ],
  });
  return { requests: r.requests.total, non2xx: r.non2xx };
}

/** Both sides at once; CPU µs per request of each. */
async function phase(sides: Side[], lists: Prepared[][]): Promise<{ cpu: number[]; reads: number[]; non2xx: number[] }> {
  const r0 = await Promise.all(sides.map((s) => reads(s.redis)));
  const s0 = sides.map((s) => procSample(s.pid));
  const res = await Promise.all(sides.map((s, i) => drive(s.base, lists[i]!)));
  const s1 = sides.map((s) => procSample(s.pid));
  const r1 = await Promise.all(sides.map((s) => reads(s.redis)));
  return {
    cpu: sides.map((_, i) => (s1[i]!.cpuUs - s0[i]!.cpuUs) / res[i]!.requests),
    reads: sides.map((_, i) => (r1[i]! - r0[i]!) / res[i]!.requests),
    non2xx: res.map((r) => r.non2xx),
  };
}

async function main(): Promise<void> {
  const [dirA, dirB, roundsArg] = process.argv.slice(2);
  if (!dirA || !dirB) throw new Error('usage: ab.ts DIR_A DIR_B [rounds]');
  const rounds = Number(roundsArg ?? 3);
  const work = mkdtempSync(join(tmpdir(), 'sb-ab-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const center = YAML.parse(readFileSync('config/switchboard.example.yaml', 'utf8')) as {
    flows: { main: { nodes: { hours: { hours: string } } } };
  };
  center.flows.main.nodes.hours.hours = 'always';
  const config = join(work, 'center.json');
  writeFileSync(config, JSON.stringify(center));
  const sides = [await startSide('A', resolve(dirA), work, config), await startSide('B', resolve(dirB), work, config)];
  console.log(
    `A ${dirA}\nB ${dirB}\n${RATE} req/s to each, ${SECONDS} s per phase, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const n = RATE * SECONDS;
  const all: Record<string, number[][]> = { incoming: [[], []], status: [[], []] };
  // Round 0 warms both up (JIT, connection pools) and is not counted.
  for (let r = 0; r <= rounds; r++) {
    const calls = Array.from({ length: n }, () => ({ sid: sid('CA'), from: '+1555' + String(Math.floor(1e6 + Math.random() * 8e6)) }));
    const incoming = sides.map((s) =>
      calls.map((c) => prepare(TOKEN, s.base, '/twilio/voice', callParams(c.sid, { CallStatus: 'ringing' }, c.from))),
    );
    const status = sides.map((s) =>
      calls.map((c) =>
        prepare(
          TOKEN,
          s.base,
          '/twilio/status',
          callParams(c.sid, { CallStatus: 'completed', CallDuration: '12', SequenceNumber: '3' }, c.from),
        ),
      ),
    );
    const load = loadavg()[0]!.toFixed(1);
    const a = await phase(sides, incoming);
    const b = await phase(sides, status);
    if (r === 0) continue;
    all.incoming![0]!.push(a.cpu[0]!);
    all.incoming![1]!.push(a.cpu[1]!);
    all.status![0]!.push(b.cpu[0]!);
    all.status![1]!.push(b.cpu[1]!);
    const f = (x: number) => x.toFixed(0).padStart(5);
    console.log(
      `round ${r} (load ${load}): incoming A ${f(a.cpu[0]!)} B ${f(a.cpu[1]!)} µs/req (B/A ${(a.cpu[1]! / a.cpu[0]!).toFixed(2)}); ` +
        `status A ${f(b.cpu[0]!)} B ${f(b.cpu[1]!)} µs/req (B/A ${(b.cpu[1]! / b.cpu[0]!).toFixed(2)}); ` +
        `Redis reads/req incoming ${a.reads.map((x) => x.toFixed(2)).join(' / ')}, status ${b.reads.map((x) => x.toFixed(2)).join(' / ')}` +
        (a.non2xx.some(Boolean) || b.non2xx.some(Boolean) ? `  non2xx ${[...a.non2xx, ...b.non2xx].join('/')}` : ''),
    );
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  for (const k of ['incoming', 'status']) {
    const [a, b] = all[k]!;
    console.log(`median ${k}: A ${median(a!).toFixed(0)} B ${median(b!).toFixed(0)} µs/req (B/A ${(median(b!) / median(a!)).toFixed(2)})`);
  }
  process.exit(0);
}

await main();
