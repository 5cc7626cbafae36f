/**
 * Real server processes for failure tests: `node --import tsx src/main.ts` with its configuration in the
 * environment (exactly as deployed), a call-center file written for the test, and a small round-robin
 * HTTP front that spreads Twilio's webhooks over the instances the way a load balancer would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort } from '../setup/global-redis.js';
import { REPO_ROOT } from './promql.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CenterFileOptions {
  /** Agent ids; each gets token `<id>-token-0123456789`, contact client:<id>, skills support and billing. */
  agents: string[];
  offerTimeoutSeconds?: number;
  wrapUpSeconds?: number;
}

export const agentToken = (id: string): string => `${id}-token-0123456789`;

const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * The example call-center file as shipped, except that each agent's plain demo `token` is stored as
 * `tokenSha256` (agents sign in with the same tokens), as a public deployment must (src/config/deployment.ts).
 * Returns its path.
 */
export function writeExampleCenterFile(dir: string): string {
  const raw = parseYaml(readFileSync(join(REPO_ROOT, 'config/switchboard.example.yaml'), 'utf8')) as {
    agents: Record<string, { token?: string; tokenSha256?: string }>;
  };
  for (const a of Object.values(raw.agents)) {
    if (a.token) a.tokenSha256 = sha256Hex(a.token);
    delete a.token;
  }
  const path = join(dir, 'example-center.yaml');
  writeFileSync(path, stringifyYaml(raw));
  return path;
}

/**
 * The example call-center file with the support hours open around the clock (the processes run on the
 * real clock), no survey, short offer and wrap-up times and the given agents (tokens stored as
 * tokenSha256, as in production). Returns its path.
 */
export function writeCenterFile(dir: string, o: CenterFileOptions): string {
  const raw = parseYaml(readFileSync(join(REPO_ROOT, 'config/switchboard.example.yaml'), 'utf8')) as Record<string, unknown> & {
    hours: Record<string, unknown>;
    queues: Record<string, Record<string, unknown>>;
    survey?: Record<string, unknown>;
  };
  raw.hours.support = raw.hours.always;
  if (raw.survey) raw.survey.enabled = false;
  for (const q of Object.values(raw.queues)) {
    q.offerTimeoutSeconds = o.offerTimeoutSeconds ?? 3;
    q.wrapUpSeconds = o.wrapUpSeconds ?? 5;
    q.survey = false;
  }
  raw.agents = Object.fromEntries(
    o.agents.map((id) => [
      id,
      { name: id, team: 'tier1', skills: ['support', 'billing'], contact: `client:${id}`, tokenSha256: sha256Hex(agentToken(id)) },
    ]),
  );
  const path = join(dir, 'center.yaml');
  writeFileSync(path, stringifyYaml(raw));
  return path;
}

export interface Instance {
  id: string;
  port: number;
  base: string;
  proc: ChildProcess;
  /** The process's recent output (logs at LOG_LEVEL warn). */
  output(): string;
  /** SIGKILL: no shutdown hooks, sockets dropped by the kernel. */
  kill(): Promise<void>;
  /** SIGTERM (graceful drain), then SIGKILL after 10 s. */
  stop(): Promise<void>;
  readonly exited: boolean;
}

/**
 * Start `src/main.ts` (or, with `opts.main`, another entry such as the built `dist/main.js`, run with
 * plain `node` from `opts.cwd`) in a child process and wait until /ready answers 200.
 */
export async function startInstance(
  id: string,
  env: Record<string, string>,
  opts: { main?: string; cwd?: string } = {},
): Promise<Instance> {
  const port = await freePort();
  const argv = opts.main ? [opts.main] : ['--import', 'tsx', 'src/main.ts'];
  const proc = spawn(process.execPath, argv, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: id },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`instance ${id} exited at start:\n${out}`);
    try {
      const r = await fetch(`${base}/ready`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`instance ${id} not ready after 60 s:\n${out}`);
    }
    await sleep(100);
  }
  return {
    id,
    port,
    base,
    proc,
    output: () => out,
    get exited() {
      return exited;
    },
    async kill() {
      if (!exited) proc.kill('SIGKILL');
      await exit;
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(t);
    },
  };
}

export interface RoundRobin {
  url: string;
  /**
   * retried: requests sent again to the next backend; of them `inFlight` were lost with a backend that
   * died while handling them (the rest found the backend refusing connections); failed: answered 502.
   */
  stats: { requests: number; byBackend: Record<string, number>; retried: number; inFlight: number; failed: number };
  close(): Promise<void>;
}

/**
 * A round-robin front like a load balancer's: each request goes to the next backend; when the backend
 * cannot be reached or drops the connection before answering, the request is sent to the next one
 * (nginx `proxy_next_upstream error timeout non_idempotent`: Switchboard's webhooks are idempotent),
 * and a backend that refused a connection is skipped for 2 s. Only when every backend failed does the
 * caller (the Twilio emulator) get a 502.
 */
export async function startRoundRobin(
  backends: { id: string; port: number }[],
  /**
   * Called once a request has been written to a backend, all but its last byte (a test can kill that
   * backend right then, with the request in flight), with its form body.
   */
  onForwarded?: (backendId: string, path: string, body: Buffer) => void,
): Promise<RoundRobin> {
  const stats: RoundRobin['stats'] = { requests: 0, byBackend: {}, retried: 0, inFlight: 0, failed: 0 };
  const downUntil = new Map<string, number>();
  let next = 0;

  const forward = (b: { id: string; port: number }, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: b.port, method, path, headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      if (!onForwarded || body.length === 0) {
        req.end(body, () => onForwarded?.(b.id, path, body));
        return;
      }
      // All but the last byte first: the backend holds the request and cannot have answered it yet when the
      // hook runs (a test killing the backend then always has a webhook in flight on it, however loaded the
      // machine); then the rest.
      req.write(body.subarray(0, -1), () => {
        onForwarded(b.id, path, body);
        req.end(body.subarray(-1));
      });
    });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        stats.requests++;
        const body = Buffer.concat(chunks);
        const start = next++;
        for (let i = 0; i < backends.length; i++) {
          const b = backends[(start + i) % backends.length]!;
          if ((downUntil.get(b.id) ?? 0) > Date.now()) continue;
          try {
            const r = await forward(b, req.method ?? 'POST', req.url ?? '/', req.headers, body);
            stats.byBackend[b.id] = (stats.byBackend[b.id] ?? 0) + 1;
            res.writeHead(r.status, r.headers);
            res.end(r.body);
            return;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') downUntil.set(b.id, Date.now() + 2000);
            else stats.inFlight++;
            stats.retried++;
          }
        }
        stats.failed++;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('no backend answered');
      })();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
