/**
 * Start a local redis-server for a no-configuration run (REDIS_URL unset): append-only persistence under
 * the data directory, on a free loopback port, stopped with the process.
 *
 * One Redis per data directory: a lock file (`switchboard.lock`: our pid, Redis's pid and port) is written
 * beside the append-only files. A second start on the same directory while the first server runs is
 * refused (two redis-servers appending to one AOF would corrupt it); a Redis left behind by a server
 * that was killed (SIGKILL: no chance to stop it) is stopped, cleanly, before a new one starts.
 *
 * Redis runs in its own process group, so a Ctrl-C in the terminal reaches only the server, which stops
 * Redis after draining its requests; whatever way the process exits (process.exit after a crash, a
 * second Ctrl-C, the drain deadline), an exit hook sends Redis SIGTERM (a clean shutdown that flushes the
 * AOF).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

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

interface Lock {
  serverPid: number;
  redisPid: number;
  port: number;
}

const LOCK_FILE = 'switchboard.lock';

/** True if process `pid` exists and, where /proc tells, its command line contains `name`. */
function running(pid: number, name: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name);
  } catch {
    return true; // no /proc (macOS): the pid exists, take it at its word
  }
}

function readLock(dir: string): Lock | undefined {
  try {
    const l = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as Partial<Lock>;
    return typeof l.serverPid === 'number' && typeof l.redisPid === 'number' && typeof l.port === 'number' ? (l as Lock) : undefined;
  } catch {
    return undefined;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (running(pid, 'redis-server')) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Refuse a directory another live server uses; stop a Redis a killed server left behind. */
async function claimDir(dir: string): Promise<void> {
  const lock = readLock(dir);
  if (!lock) return;
  if (lock.serverPid !== process.pid && running(lock.serverPid, 'node')) {
    throw new Error(
      `${dir} is in use by another Switchboard (pid ${lock.serverPid}) and its redis-server (pid ${lock.redisPid}, port ${lock.port}): ` +
        'stop that server, or set DATA_DIR to another directory, or set REDIS_URL to share its Redis',
    );
  }
  if (running(lock.redisPid, 'redis-server')) {
    process.kill(lock.redisPid, 'SIGTERM');
    if (!(await waitGone(lock.redisPid, 15_000))) {
      throw new Error(
        `the redis-server (pid ${lock.redisPid}) left running on ${dir} by a stopped Switchboard did not stop; stop it and start again`,
      );
    }
  }
  rmSync(join(dir, LOCK_FILE), { force: true });
}

/** Spawn redis-server with AOF in `dir`; resolves when it accepts connections. */
export async function startLocalRedis(dir: string, port?: number): Promise<LocalRedis> {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  await claimDir(abs);
  const lockPath = join(abs, LOCK_FILE);
  const p = port ?? (await freePort());
  const writeLock = (redisPid: number, flag: 'w' | 'wx'): void =>
    writeFileSync(lockPath, JSON.stringify({ serverPid: process.pid, redisPid, port: p } satisfies Lock), { flag });
  try {
    writeLock(0, 'wx'); // exclusive: of two servers starting at the same moment, one gets the directory
  } catch {
    throw new Error(`${abs} is being claimed by another Switchboard starting at the same time: set DATA_DIR to another directory`);
  }
  let proc: ChildProcess;
  try {
    proc = spawn(
      'redis-server',
      ['--port', String(p), '--bind', '127.0.0.1', '--dir', abs, '--appendonly', 'yes', '--save', '', '--protected-mode', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
  } catch (e) {
    rmSync(lockPath, { force: true });
    throw new Error(`cannot start redis-server (is it installed? run the set-up command): ${(e as Error).message}`);
  }
  if (proc.pid !== undefined) writeLock(proc.pid, 'w');
  // Whatever way this process exits from now on, Redis is told to stop (synchronously: `exit` hooks
  // cannot wait).
  const killOnExit = (): void => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    rmSync(lockPath, { force: true });
  };
  process.on('exit', killOnExit);
  const ready = new Promise<void>((ok, fail) => {
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
  try {
    await ready;
  } catch (e) {
    // Never leave a half-started Redis behind.
    killOnExit();
    process.off('exit', killOnExit);
    throw e;
  }
  proc.stdout?.resume();
  proc.stderr?.resume();
  return {
    url: `redis://127.0.0.1:${p}`,
    stop: () =>
      new Promise<void>((ok) => {
        const done = (): void => {
          process.off('exit', killOnExit);
          rmSync(lockPath, { force: true });
          ok();
        };
        if (proc.exitCode !== null || proc.signalCode !== null) return done();
        proc.once('exit', done);
        proc.kill('SIGTERM');
      }),
  };
}
