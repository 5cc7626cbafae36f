/**
 * The benchmark's load generator, in its own process (forked by bench/run.ts): autocannon's programmatic
 * API over requests prepared and signed beforehand by the orchestrator, so the timed run only copies them
 * onto the socket. One job per IPC message; the answer is the summary of that run.
 */
import autocannon from 'autocannon';
import type { Prepared } from './lib.js';

export interface LoadJob {
  id: number;
  /** http://127.0.0.1:PORT */
  base: string;
  /** POST these in order (cycling); empty = GET getPath. */
  requests: Prepared[];
  getPath?: string;
  connections: number;
  durationS: number;
  /** Stop after exactly this many requests (it takes precedence over durationS). */
  amount?: number;
  /** Send each prepared request at most once: stop when the list is used up (or at durationS). */
  once: boolean;
  /** Fixed rate (requests per second over all connections) instead of as fast as possible. */
  overallRate?: number;
}

export interface LoadSummary {
  id: number;
  requests: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function run(job: LoadJob): Promise<LoadSummary> {
  let next = 0;
  const ctl: { stop?: () => void } = {};
  const list = job.requests;
  const requests: autocannon.Request[] =
    list.length === 0
      ? [{ method: 'GET', path: job.getPath ?? '/' }]
      : [
          {
            method: 'POST',
            setupRequest: (req) => {
              if (job.once && next === list.length - 1) ctl.stop?.();
              const r = list[next++ % list.length]!;
              return {
                ...req,
                method: 'POST',
                path: r.path,
                body: r.body,
                headers: {
                  'content-type': 'application/x-www-form-urlencoded',
                  'x-twilio-signature': r.sig,
                  'i-twilio-idempotency-token': r.idem,
                },
              };
            },
          },
        ];
  const instance = autocannon({
    url: job.base,
    connections: job.connections,
    duration: job.durationS,
    ...(job.amount !== undefined ? { amount: job.amount } : {}),
    ...(job.overallRate !== undefined ? { overallRate: job.overallRate } : {}),
    requests,
    timeout: 10,
  });
  ctl.stop = () => (instance as unknown as { stop(): void }).stop();
  const result = await instance;
  const total = result.requests.total;
  return {
    id: job.id,
    requests: total,
    seconds: result.duration,
    rps: total / result.duration,
    p50ms: result.latency.p50,
    p90ms: result.latency.p90,
    p99ms: result.latency.p99,
    maxms: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (s) => process.send!(s),
    (e: unknown) => process.send!({ id: job.id, error: String(e) }),
  );
});
process.send!({ ready: true });
