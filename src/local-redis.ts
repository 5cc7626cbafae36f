/**
 * Start a local redis-server for a no-configuration run (REDIS_URL unset): append-only persistence under
 * the data directory, on a free loopback port, stopped with the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export interface LocalRedis {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** Spawn redis-server with AOF in `dir`; resolves when it accepts connections. */
export async function startLocalRedis(dir: string, port?: number): Promise<LocalRedis> {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const p = port ?? (await freePort());
  let proc: ChildProcess;
  try {
    proc = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--dir', abs, '--appendonly', 'yes', '--save', '', '--protected-mode', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    throw new Error(`cannot start redis-server (is it installed? run the set-up command): ${(e as Error).message}`);
  }
  await new Promise<void>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not become ready: ${out.slice(-500)}`)), 15_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        ok();
      }
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      fail(new Error(`cannot start redis-server (is it installed? run the set-up command): ${e.message}`));
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`));
    });
  });
  proc.stdout?.resume();
  proc.stderr?.resume();
  return {
    url: `redis://127.0.0.1:${p}`,
    stop: () =>
      new Promise<void>((ok) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return ok();
        proc.once('exit', () => ok());
        proc.kill('SIGTERM');
      }),
  };
}
