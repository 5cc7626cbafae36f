/**
 * npm run bench: the server measured out of process, the way it runs in production.
 *
 * Four processes on loopback: redis-server (append-only, as the server starts it), the server built with
 * `npm run build` and started as `node dist/main.js` at the default log level, a bare fastify baseline
 * (bench/baseline.mjs: form parse + fixed TwiML on every path) and the load generator (bench/load.ts,
 * autocannon). This process only prepares and signs the requests before each timed run, reads
 * /proc/<pid>/stat and Redis INFO around it, and writes the results (bench/results/latest.json).
 *
 * Per scenario: the baseline gets the same requests (paths, bodies, headers) right before the server, so
 * the ratio compares two runs a few seconds apart on the same machine. The method of each figure is in
 * docs/performance.md.
 *
 * Env: BENCH_SECONDS (8), BENCH_CONNECTIONS (50), BENCH_SERVER=tsx (run src/main.ts under tsx instead of
 * the build, for development), BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=prof` for a profile of the
 * server), BENCH_SKIP_BUILD=1, BENCH_SCALE=0 (skip the scale run), BENCH_ONLY=name,name.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import YAML from 'yaml';
import {
  BENCH_ACCOUNT,
  BENCH_NUMBER,
  BENCH_TOKEN,
  callParams,
  child,
  commandCalls,
  diffCalls,
  freePort,
  hex,
  info,
  postAll,
  prepare,
  procSample,
  sid,
  waitHttp,
  type Prepared,
} from './lib.js';
import type { LoadJob, LoadSummary } from './load.js';
import { runScale, type ScaleResult } from './scale.js';

const TOKEN = BENCH_TOKEN;
const ACCOUNT = BENCH_ACCOUNT;
const NUMBER = BENCH_NUMBER;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined;
/** Sequential requests per scenario for the round-trip count. */
const SEQ = 200;

const sign = (path: string, params: Record<string, string>): Prepared => prepare(TOKEN, publicBase, path, params);
let publicBase = '';

/** The example call center with the support hours always open, a long queue, and 1,000 agents for the scale run. */
function benchConfig(dir: string, agents: number): string {
  const center = YAML.parse(readFileSync('config/switchboard.example.yaml', 'utf8')) as Record<string, any>;
  center.flows.main.nodes.hours.hours = 'always';
  // The scale run's 10,000 callers wait in two queues: Twilio's queue holds 5,000 calls at most.
  for (const q of ['support', 'billing']) {
    center.queues[q].maxLength = 5000;
    center.queues[q].maxWaitSeconds = 3600;
  }
  for (let k = 0; k < agents; k++) {
    center.agents[`b${k}`] = {
      name: `Bench ${k}`,
      team: 'tier1',
      skills: ['support', 'billing'],
      contact: `client:b${k}`,
      token: `bench-agent-token-${k}`,
    };
  }
  const path = join(dir, 'center.json');
  writeFileSync(path, JSON.stringify(center));
  return path;
}

interface Row {
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  errors: number;
  baselineRps?: number;
  baselineP50ms?: number;
  baselineP99ms?: number;
  ratio?: number;
  serverCpuUsPerRequest?: number;
  redisCommandsPerRequest?: number;
  redisCommands?: Record<string, number>;
  redisRoundTripsPerRequest?: number;
  rssMiB?: number;
}

async function main(): Promise<void> {
  const startLoad = loadavg();
  const startedAt = new Date().toISOString();
  const commit = execSync('git rev-parse --short HEAD').toString().trim();
  const useTsx = process.env.BENCH_SERVER === 'tsx';
  if (!useTsx && process.env.BENCH_SKIP_BUILD !== '1') {
    console.log('building: npm run build');
    execSync('npm run build', { stdio: 'inherit' });
  }
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  process.once('exit', (code) => code === 0 && rmSync(dir, { recursive: true, force: true })); // kept for a look when it failed
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  // Redis as the server starts its local one (append-only, everysec), on loopback.
  const redisPort = await freePort();
  mkdirSync(join(dir, 'redis'));
  const redisProc = child(
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      join(dir, 'redis'),
      '--appendonly',
      'yes',
      '--save',
      '',
      '--protected-mode',
      'no',
    ],
    {},
    'ignore',
  );
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redis = new Redis(redisUrl);
  redis.on('error', () => {}); // refused until redis-server listens; ioredis retries
  await redis.ping();
  const port = await freePort();
  publicBase = `http://127.0.0.1:${port}`;
  const configPath = benchConfig(dir, 1000);
  const serverLog = join(dir, 'server.log');
  const logFd = openSync(serverLog, 'w');
  const serverEnv = {
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    PUBLIC_BASE_URL: publicBase,
    TWILIO_ACCOUNT_SID: ACCOUNT,
    TWILIO_AUTH_TOKEN: TOKEN,
    // REST calls (the scale run's bridges) go to the Twilio emulator it starts; elsewhere nothing dials.
    TWILIO_API_BASE_URL: process.env.BENCH_TWILIO_API ?? 'http://127.0.0.1:9',
    CALLER_HASH_KEY: 'bench-caller-hash-key-0123456789abcdef',
    SUPERVISOR_TOKEN: 'bench-supervisor-token-0123456789',
    SWITCHBOARD_CONFIG: configPath,
    NODE_ENV: 'production',
  };
  const scaleApi = await freePort();
  serverEnv.TWILIO_API_BASE_URL = `http://127.0.0.1:${scaleApi}`;
  const server = useTsx
    ? child(process.execPath, ['--import', 'tsx', 'src/main.ts'], serverEnv, logFd)
    : child(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/main.js'], serverEnv, logFd);
  await waitHttp(`${publicBase}/health`, 30_000, server);

  const baseline = spawn(process.execPath, ['bench/baseline.mjs'], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => baseline.kill('SIGKILL'));
  const basePort = await new Promise<number>((res) =>
    baseline.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) res(Number(m[1]));
    }),
  );
  const baseUrl = `http://127.0.0.1:${basePort}`;

  const loader: ChildProcess = fork('bench/load.ts', [], { execArgv: ['--import', 'tsx'] });
  process.once('exit', () => loader.kill('SIGKILL'));
  await new Promise<void>((res) => loader.once('message', () => res()));
  let jobId = 0;
  const load = (job: Omit<LoadJob, 'id'>): Promise<LoadSummary> =>
    new Promise((res, rej) => {
      const id = ++jobId;
      const on = (m: LoadSummary & { error?: string }) => {
        if (m.id !== id) return;
        loader.off('message', on);
        if (m.error) rej(new Error(m.error));
        else res(m);
      };
      loader.on('message', on);
      loader.send({ ...job, id });
    });

  /** Drive requests through the server outside the timed runs (set-up), a few at a time. */
  const drive = (list: Prepared[], parallel = 16, strict = true): Promise<string[]> => postAll(publicBase, list, parallel, strict);

  // Server reads per second while idle (sweeper, subscribers): subtracted from the round-trip counts.
  const idleReads = async (ms: number): Promise<number> => {
    const a = (await info(redis, 'stats')).get('total_reads_processed') ?? 0;
    await new Promise((r) => setTimeout(r, ms));
    const b = (await info(redis, 'stats')).get('total_reads_processed') ?? 0;
    return (b - a - 1) / ms;
  };
  const idleC0 = await commandCalls(redis);
  const idleT0 = performance.now();
  const idleReadsPerMs = await idleReads(3000);
  const idleCmds = diffCalls(idleC0, await commandCalls(redis));
  const idleCmdsPerMs = [...idleCmds.values()].reduce((a, x) => a + x, 0) / (performance.now() - idleT0);
  const idleCpu0 = procSample(server.pid!);
  await new Promise((r) => setTimeout(r, 2000));
  const idleCpu1 = procSample(server.pid!);
  const idleCpuUsPerS = ((idleCpu1.cpuUs - idleCpu0.cpuUs) / (idleCpu1.at - idleCpu0.at)) * 1000;

  const rows: Record<string, Row> = {};

  /**
   * One scenario: the baseline then the server get `main` (as fast as they answer, CONNECTIONS
   * connections, SECONDS or `main.length` requests); then `seq` one at a time for the round trips.
   */
  const scenario = async (
    name: string,
    main: Prepared[],
    seq: Prepared[],
    opts: { connections?: number; getPath?: string; cycle?: boolean } = {},
  ) => {
    if (ONLY && !ONLY.has(name)) return;
    const connections = opts.connections ?? CONNECTIONS;
    const job = {
      requests: main,
      connections,
      durationS: SECONDS,
      once: !opts.cycle && !opts.getPath,
      ...(opts.getPath ? { getPath: opts.getPath } : {}),
    };
    const b = await load({ ...job, base: baseUrl });
    const c0 = await commandCalls(redis);
    const s0 = procSample(server.pid!);
    const t0 = performance.now();
    const r = await load({ ...job, base: publicBase });
    const s1 = procSample(server.pid!);
    const c1 = await commandCalls(redis);
    const cmds = diffCalls(c0, c1);
    // Commands the server sends while idle (sweeps, gauges) over the same time are not the requests'.
    const totalCmds = Math.max(0, [...cmds.values()].reduce((a, x) => a + x, 0) - idleCmdsPerMs * (performance.now() - t0));
    let roundTrips: number | undefined;
    if (seq.length > 0 || opts.getPath) {
      const q0 = performance.now();
      const r0 = (await info(redis, 'stats')).get('total_reads_processed') ?? 0;
      const q = await load({
        requests: seq,
        connections: 1,
        durationS: 60,
        amount: opts.getPath ? SEQ : seq.length,
        once: false,
        ...(opts.getPath ? { getPath: opts.getPath } : {}),
        base: publicBase,
      });
      const r1 = (await info(redis, 'stats')).get('total_reads_processed') ?? 0;
      const idle = idleReadsPerMs * (performance.now() - q0);
      roundTrips = Math.max(0, r1 - r0 - 1 - idle) / q.requests;
    }
    rows[name] = {
      requests: r.requests,
      rps: r.rps,
      p50ms: r.p50ms,
      p99ms: r.p99ms,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      baselineRps: b.rps,
      baselineP50ms: b.p50ms,
      baselineP99ms: b.p99ms,
      ratio: r.rps / b.rps,
      serverCpuUsPerRequest: (s1.cpuUs - s0.cpuUs) / r.requests,
      redisCommandsPerRequest: totalCmds / r.requests,
      redisCommands: Object.fromEntries(
        [...cmds].sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, Math.round((v / r.requests) * 100) / 100]),
      ),
      ...(roundTrips !== undefined ? { redisRoundTripsPerRequest: roundTrips } : {}),
      rssMiB: Math.round(s1.rssBytes / 2 ** 20),
    };
    const x = rows[name]!;
    console.log(
      `${name.padEnd(18)} ${x.rps.toFixed(0).padStart(6)} req/s  p50 ${x.p50ms.toFixed(1).padStart(5)}  p99 ${x.p99ms.toFixed(1).padStart(5)} ms  ` +
        `baseline ${b.rps.toFixed(0).padStart(6)}  ratio ${x.ratio!.toFixed(2)}  cpu ${x.serverCpuUsPerRequest!.toFixed(0).padStart(4)} µs/req  ` +
        `redis ${x.redisCommandsPerRequest!.toFixed(1)} cmds, ${roundTrips?.toFixed(1) ?? '-'} round trips  non2xx ${x.non2xx}  rss ${x.rssMiB} MiB`,
    );
  };

  // Enough prepared requests for SECONDS at a rate well above what the machine serves.
  const N = Math.max(2000, Math.round(SECONDS * 6000));
  const fresh = Array.from({ length: N + SEQ }, () => sid('CA'));
  const incoming = fresh.map((c) => sign('/twilio/voice', callParams(c, { CallStatus: 'ringing' })));
  await scenario('incoming call', incoming.slice(0, N), incoming.slice(N));
  // The calls the incoming-call runs created (the baseline's are not): answer the language menu, then hang up.
  const made = rows['incoming call'] ? [...fresh.slice(0, rows['incoming call'].requests), ...fresh.slice(N)] : [];
  if (made.length === 0 && (!ONLY || ONLY.has('gather') || ONLY.has('status callback'))) {
    await drive(incoming.slice(0, 4000));
    made.push(...fresh.slice(0, 4000));
  }
  const madeMain = made.slice(0, Math.max(0, made.length - SEQ));
  const madeSeq = made.slice(-SEQ);
  const gather = (c: string) => sign('/twilio/ivr/gather?node=language', callParams(c, { Digits: '1', FinishedOnKey: '' }));
  await scenario('menu answer', madeMain.map(gather), madeSeq.map(gather));
  let seqNo = 0;
  const status = (c: string) =>
    sign(
      '/twilio/status',
      callParams(c, { CallStatus: 'completed', CallDuration: '12', SequenceNumber: String(++seqNo), Timestamp: new Date().toUTCString() }),
    );
  await scenario('status callback', madeMain.map(status), madeSeq.map(status));

  // Callers waiting in the support queue, brought there by the webhooks (incoming call, language, main menu).
  const W = Number(process.env.BENCH_WAITING ?? 4800);
  // Only the scenarios that use them get them (a scale run alone starts with an empty queue).
  const needWaiting = !ONLY || ONLY.has('waitUrl') || ONLY.has('Enqueue action');
  const mem0 = (await info(redis, 'memory')).get('used_memory') ?? 0;
  const waitingSids = needWaiting ? Array.from({ length: W }, () => sid('CA')) : [];
  await drive(waitingSids.map((c) => sign('/twilio/voice', callParams(c, { CallStatus: 'ringing' }))));
  await drive(waitingSids.map(gather));
  const queued = await drive(
    waitingSids.map((c) => sign('/twilio/ivr/gather?node=main-menu', callParams(c, { Digits: '2', FinishedOnKey: '' }))),
  );
  const notQueued = queued.filter((x) => !x.includes('<Enqueue')).length;
  if (notQueued > W / 20)
    throw new Error(
      `set-up: ${notQueued} of ${W} callers were not queued (server log: ${serverLog}): ${queued.find((x) => !x.includes('<Enqueue'))}`,
    );
  const mem1 = (await info(redis, 'memory')).get('used_memory') ?? 0;
  /** Callers the scenarios put in the support queue: they hang up (Enqueue action) before the scale run. */
  const queuedByScenarios = [...waitingSids];
  const queueSid = 'QU' + hex(32);
  const wait = (c: string, k: number) =>
    sign(
      '/twilio/queue/wait?queue=support',
      callParams(c, {
        QueuePosition: String((k % W) + 1),
        QueueSid: queueSid,
        QueueTime: '30',
        AvgQueueTime: '45',
        CurrentQueueSize: String(W),
      }),
    );
  const waits = waitingSids.map(wait);
  await scenario('waitUrl', waits, waits.slice(0, SEQ), { cycle: true });
  const leave = (c: string) =>
    sign('/twilio/queue/result?queue=support', callParams(c, { QueueResult: 'hangup', QueueSid: queueSid, QueueTime: '95' }));
  await scenario('Enqueue action', waitingSids.slice(SEQ).map(leave), waitingSids.slice(0, SEQ).map(leave));
  let legSeq = 0;
  const leg = () =>
    sign(
      `/twilio/agent/status?offer=of_${hex(16)}`,
      callParams(sid('CA'), { CallStatus: 'ringing', SequenceNumber: String(++legSeq), Direction: 'outbound-api' }),
    );
  await scenario('agent-leg status', Array.from({ length: N }, leg), Array.from({ length: SEQ }, leg));
  await scenario('/metrics scrape', [], [], { connections: 4, getPath: '/metrics' });

  // Fixed rate, a realistic mix: each call goes incoming → language → main menu (queued) → 3 waitUrls →
  // Enqueue action (hangup) → status completed, plus an agent-leg status, steps ~450 ms apart.
  let fixed: Row | undefined;
  const RATE = 1000;
  const FIXED_S = Number(process.env.BENCH_FIXED_SECONDS ?? 20);
  if (!ONLY || ONLY.has('fixed')) {
    const steps = (c: string, k: number): Prepared[] => [
      sign('/twilio/voice', callParams(c, { CallStatus: 'ringing' })),
      gather(c),
      sign('/twilio/ivr/gather?node=main-menu', callParams(c, { Digits: '2', FinishedOnKey: '' })),
      wait(c, k),
      wait(c, k),
      wait(c, k),
      leave(c),
      status(c),
      leg(),
    ];
    const calls = Math.ceil((RATE * FIXED_S) / 9) + 60;
    const sids = Array.from({ length: calls }, () => sid('CA'));
    queuedByScenarios.push(...sids);
    const seqs = sids.map((c, k) => steps(c, k));
    const mix: Prepared[] = [];
    const GAP = 50; // rounds between two steps of a call (9 requests a round)
    for (let round = 0; mix.length < RATE * FIXED_S; round++) {
      for (let s = 0; s < 9; s++) {
        const c = round - s * GAP;
        if (c >= 0 && c < calls) mix.push(seqs[c]![s]!);
      }
    }
    const s0 = procSample(server.pid!);
    const r = await load({ base: publicBase, requests: mix, connections: 20, durationS: FIXED_S, once: true, overallRate: RATE });
    const s1 = procSample(server.pid!);
    fixed = {
      requests: r.requests,
      rps: r.rps,
      p50ms: r.p50ms,
      p99ms: r.p99ms,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      serverCpuUsPerRequest: (s1.cpuUs - s0.cpuUs) / r.requests,
      rssMiB: Math.round(s1.rssBytes / 2 ** 20),
    };
    console.log(
      `fixed ${RATE} req/s mix: ${r.rps.toFixed(0)} req/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, max ${r.maxms} ms, non2xx ${r.non2xx}, cpu ${fixed.serverCpuUsPerRequest!.toFixed(0)} µs/req`,
    );
  }

  const logBytes = statSync(serverLog).size;
  let scale: ScaleResult | { error: string } | undefined;
  if (process.env.BENCH_SCALE !== '0' && (!ONLY || ONLY.has('scale'))) {
    // Callers still waiting from the scenarios above have no call in the scale run's emulator: they would be
    // offered to its agents and fail to bridge. They hang up first (a caller already gone gets an empty answer).
    // (Not strict: some of the fixed-rate mix's calls never got further than their first webhook.)
    await drive(queuedByScenarios.map(leave), 16, false);
    try {
      scale = await runScale({
        redis,
        publicBase,
        token: TOKEN,
        account: ACCOUNT,
        number: NUMBER,
        restPort: scaleApi,
        serverPid: server.pid!,
        agents: Number(process.env.BENCH_SCALE_AGENTS ?? 1000),
        callers: Number(process.env.BENCH_SCALE_CALLERS ?? 10_000),
        agentToken: (k) => `bench-agent-token-${k}`,
        agentContact: (k) => `client:b${k}`,
      });
    } catch (e) {
      scale = { error: String(e) };
      console.error('scale run failed:', e);
    }
  }

  const m = cpus();
  const result = {
    startedAt,
    commit,
    command: `npm run bench${process.env.BENCH_SERVER ? ` (BENCH_SERVER=${process.env.BENCH_SERVER})` : ''}`,
    machine: {
      cpus: m.length,
      model: m[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart: startLoad.map((x) => Math.round(x * 100) / 100),
    },
    server: useTsx ? 'tsx src/main.ts' : 'node dist/main.js (npm run build)',
    settings: { seconds: SECONDS, connections: CONNECTIONS, sequentialRequestsForRoundTrips: SEQ },
    serverIdle: {
      cpuUsPerSecond: Math.round(idleCpuUsPerS),
      redisReadsPerSecond: Math.round(idleReadsPerMs * 1000),
      redisCommandsPerSecond: Math.round(idleCmdsPerMs * 1000),
      redisCommands: Object.fromEntries(idleCmds),
    },
    webhooks: rows,
    fixedRateMix: fixed ? { rate: RATE, seconds: FIXED_S, ...fixed } : undefined,
    redisBytesPerWaitingCaller: needWaiting ? Math.round((mem1 - mem0) / (W - notQueued)) : undefined,
    setupNotQueued: notQueued,
    serverLogBytes: logBytes,
    scale,
  };
  if (needWaiting)
    console.log(
      `redis memory per waiting caller (all keys, INFO used_memory delta over ${W} callers queued by the webhooks): ${result.redisBytesPerWaitingCaller} bytes`,
    );
  console.log(`server log: ${logBytes} bytes over the run`);
  mkdirSync('bench/results', { recursive: true });
  const out = process.env.BENCH_OUT ?? 'bench/results/latest.json';
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`written: ${out}`);

  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  baseline.kill('SIGTERM');
  loader.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await redis.quit();
  redisProc.kill('SIGTERM');
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
