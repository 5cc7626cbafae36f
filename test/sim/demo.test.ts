/**
 * `npm run demo` end to end: the demo as a child process (local redis-server, Twilio emulator, app,
 * simulated agents over the WebSocket, Poisson callers, all in real time) stops by itself after
 * --duration, exits 0, and its progress lines show calls offered and answered by an agent.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort } from '../setup/global-redis.js';

interface Progress {
  offered: number;
  waiting: number;
  answered: number;
  abandoned: number;
}

function parseProgress(line: string): Progress | undefined {
  const num = (k: string) => Number(new RegExp(`\\b${k}=(\\d+(?:\\.\\d+)?)`).exec(line)?.[1] ?? NaN);
  if (!line.startsWith('[t=')) return undefined;
  return { offered: num('offered'), waiting: num('waiting'), answered: num('answered'), abandoned: num('abandoned') };
}

describe('demo (npm run demo)', () => {
  it('runs 25 s of traffic, prints progress every 2 s, answers calls and exits 0', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'error',
      // Faster prompts so the first callers get through the IVR well inside 25 s.
      DEMO_WPM: '400',
    };
    delete env.REDIS_URL; // the no-configuration path: the demo starts its own redis-server
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/sim/demo.ts', '--duration', '25'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));

    const lines = stdout.split('\n').filter((l) => l.startsWith('[t='));
    const ctx = `stdout:\n${stdout}\nstderr:\n${stderr.slice(-3000)}`;
    expect(code, ctx).toBe(0);
    expect(lines.length, ctx).toBeGreaterThanOrEqual(10);
    const last = parseProgress(lines[lines.length - 1]!)!;
    expect(last.offered, ctx).toBeGreaterThan(0);
    expect(last.answered, ctx).toBeGreaterThan(0);
    expect(stdout).toContain('talking on');
  }, 90_000);
});
