/**
 * Small helpers for the benchmark's orchestrator (bench/run.ts): process CPU and memory from /proc, Redis
 * INFO parsing, signed request preparation, child processes that are stopped on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import twilio from 'twilio';
import { createServer } from 'node:net';

/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK; 100 on Linux x86-64 and arm64). */
const CLK_TCK = 100;

export interface ProcSample {
  /** user + system CPU time of the process, in µs (10 ms resolution). */
  cpuUs: number;
  rssBytes: number;
  at: number;
}

/** The process's own CPU time (utime + stime, not its children) and resident set size. */
export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuUs: ((utime + stime) * 1e6) / CLK_TCK, rssBytes: rssKb * 1024, at: performance.now() };
}

/** `INFO <section>` as a map of field → number (non-numeric fields dropped). */
export async function info(redis: Redis, section: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await redis.info(section)).split('\r\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const v = Number(line.slice(i + 1));
    if (Number.isFinite(v)) out.set(line.slice(0, i), v);
  }
  return out;
}

/** `INFO commandstats` as command → calls (the bench's own INFO calls are left out). */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await redis.info('commandstats')).split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m && m[1] !== 'info') out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export function diffCalls(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) {
    const x = v - (before.get(k) ?? 0);
    if (x > 0) d.set(k, x);
  }
  return d;
}

/** A request as the load generator sends it: path (with query), form body, Twilio signature. */
export interface Prepared {
  path: string;
  body: string;
  sig: string;
  /** I-Twilio-Idempotency-Token: Twilio sends one with every webhook request (the same on its retries). */
  idem: string;
}

/** Sign a webhook the way Twilio does: over the public URL + path + query and the POST parameters. */
export function prepare(token: string, publicBase: string, path: string, params: Record<string, string>): Prepared {
  return {
    path,
    body: new URLSearchParams(params).toString(),
    sig: twilio.getExpectedTwilioSignature(token, publicBase + path, params),
    idem: hex(32),
  };
}

const hexDigits = '0123456789abcdef';
export const hex = (n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += hexDigits[Math.floor(Math.random() * 16)];
  return s;
};
export const sid = (prefix: string): string => prefix + hex(32);

/** Start a child process whose output goes to a log file; it is killed when this process exits. */
export function child(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  logFd: number | 'inherit' | 'ignore' = 'inherit',
): ChildProcess {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', logFd, logFd] });
  const kill = () => {
    if (p.exitCode === null) p.kill('SIGKILL');
  };
  process.once('exit', kill);
  return p;
}

/** Resolve when GET url answers (any status), or fail after timeoutMs. */
export async function waitHttp(url: string, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`${url}: the process exited with ${proc.exitCode} before answering`);
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > end) throw new Error(`${url}: no answer after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** The bench's Twilio account, auth token and number (the server under test is configured with them). */
export const BENCH_TOKEN = 'bench-auth-token-0123456789abcdef';
export const BENCH_ACCOUNT = 'AC' + 'b'.repeat(32);
export const BENCH_NUMBER = '+18005550100';

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A random US number for a caller. */
export const randomFrom = (): string => '+1555' + String(Math.floor(1e6 + Math.random() * 8e6));

/** The parameters Twilio sends with a voice webhook (twilio's request-parameters list). */
export function callParams(callSid: string, extra: Record<string, string> = {}, from = randomFrom()): Record<string, string> {
  return {
    AccountSid: BENCH_ACCOUNT,
    ApiVersion: '2010-04-01',
    CallSid: callSid,
    CallStatus: 'in-progress',
    Called: BENCH_NUMBER,
    CalledCity: '',
    CalledCountry: 'US',
    CalledState: '',
    CalledZip: '',
    Caller: from,
    CallerCity: 'SAN FRANCISCO',
    CallerCountry: 'US',
    CallerState: 'CA',
    CallerZip: '94105',
    Direction: 'inbound',
    From: from,
    FromCity: 'SAN FRANCISCO',
    FromCountry: 'US',
    FromState: 'CA',
    FromZip: '94105',
    To: BENCH_NUMBER,
    ToCity: '',
    ToCountry: 'US',
    ToState: '',
    ToZip: '',
    ...extra,
  };
}

/**
 * POST prepared requests to the server outside any timed run (set-up), `parallel` at a time; the answers'
 * bodies in order. `strict`: a non-200 answer throws.
 */
export async function postAll(base: string, list: Prepared[], parallel: number, strict = true): Promise<string[]> {
  const out: string[] = new Array(list.length);
  let i = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (i < list.length) {
        const k = i++;
        const r = list[k]!;
        const res = await fetch(base + r.path, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': r.sig,
            'i-twilio-idempotency-token': r.idem,
          },
          body: r.body,
        });
        out[k] = await res.text();
        if (strict && res.status !== 200) throw new Error(`set-up ${r.path}: ${res.status} ${out[k]}`);
      }
    }),
  );
  return out;
}
