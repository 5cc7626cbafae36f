/**
 * The `twilio` package's client as the REST calls of twilio-rest.ts use it: every operation with bounded
 * retries on the injected clock. Errors that retrying cannot fix (the call has ended: 21220, unknown
 * resource: 20404, other 4xx) fail at once.
 *
 * Time limits, so one bridge or callback cannot hang for minutes (the package's own default is 30 s per
 * request):
 * - every request has its own timeout (`requestTimeoutMs`, default 4 s), on the real clock: a request is
 *   real network I/O, and one Twilio never answers is abandoned (the socket closed) when it expires;
 * - each operation has a total budget (`budgetMs`, default 12 s) over its attempts and the waits between
 *   them; no attempt starts that the budget could not let finish, and the last one is cut to what is left;
 * - a 429 (never carried out by Twilio, so always safe to retry) waits what its `Retry-After` header says
 *   (seconds or an HTTP date) when it says it, if the budget allows;
 * - otherwise the wait doubles from `backoffMs` with jitter (each wait drawn from its upper half), so
 *   instances that failed together do not retry together.
 * The budget counts real time spent in requests plus the waits on the injected clock, so it holds in
 * production (where both are the same) and in virtual-time tests alike.
 */
import { performance } from 'node:perf_hooks';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioResponse from 'twilio/lib/http/response.js';
import type { Clock } from '../clock.js';
import type { ServiceEvent } from '../events.js';

export interface TwilioRestOptions {
  accountSid: string;
  authToken: string;
  /** Send requests here instead of api.twilio.com (tests and the demo's emulator). */
  apiBaseUrl?: string | undefined;
  clock: Clock;
  onEvent?: (e: ServiceEvent) => void;
  /** Attempts per operation (default 4) and the first backoff (default 250 ms, doubling, jittered). */
  attempts?: number;
  backoffMs?: number;
  /** One request's time limit, real time (default 4000 ms). */
  requestTimeoutMs?: number;
  /** One operation's time limit over all its attempts and waits (default 12000 ms). */
  budgetMs?: number;
  /** Source of the jitter, in [0, 1) (default Math.random). */
  random?: () => number;
}

/** The least time worth starting an attempt with: less than this left in the budget, the operation gives up. */
const MIN_ATTEMPT_MS = 250;

/** A REST error saying the resource (a queue member, a call) does not exist (any more). */
export function isNotFound(e: unknown): boolean {
  return e instanceof RestError && e.permanent && (e.status === 404 || e.code === 20404);
}

export class RestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: number | undefined,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

/** A status/code pair Twilio returns that retrying will not fix. */
export function isPermanent(status: number, code: number | undefined): boolean {
  if (code === 21220 || code === 20404) return true;
  return status >= 400 && status < 500 && status !== 429;
}

function toRestError(e: unknown): RestError {
  if (e instanceof RestError) return e;
  const err = e as { status?: number; code?: number; message?: string };
  const status = typeof err.status === 'number' ? err.status : 0;
  const code = typeof err.code === 'number' ? err.code : undefined;
  return new RestError(err.message ?? String(e), status, code, status !== 0 && isPermanent(status, code));
}

/** A `Retry-After` header's wait in ms (delay-seconds or an HTTP date, RFC 9110 section 10.2.3); undefined if absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** What one attempt tells the HTTP client (its time limit) and learns from it (a 429's Retry-After). */
interface AttemptContext {
  timeoutMs: number;
  retryAfterMs?: number;
}

/**
 * One attempt's HTTP client: the shared twilio `RequestClient` (one connection pool), with the request's
 * timeout taken from the attempt and a 429's Retry-After handed back to it (the package's errors do not
 * carry headers). Each attempt gets a twilio client of its own over one of these (~7 µs), so concurrent
 * attempts never see each other's context. (An AsyncLocalStorage did this before; once used, it keeps a
 * promise hook on for every promise of the process, webhooks included.)
 */
class AttemptHttpClient {
  constructor(
    private readonly shared: RequestClient,
    private readonly ctx: AttemptContext,
  ) {}

  async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioResponse.default<TData>> {
    const res = await this.shared.request<TData>({ ...opts, timeout: this.ctx.timeoutMs });
    if (res.statusCode === 429) {
      const headers = res.headers as Record<string, string | string[] | undefined> | undefined;
      const wait = retryAfterMs(headers?.['retry-after']);
      if (wait !== undefined) this.ctx.retryAfterMs = wait;
    }
    return res;
  }
}

/** The twilio client an attempt makes its requests with. */
export type TwilioClient = twilio.Twilio;

/**
 * `run`: one operation (named `op` in the `twilio.rest` events) with retries within its budget; each
 * attempt calls `fn` with a twilio client whose requests carry that attempt's time limit.
 */
export interface RetryingClient {
  run<T>(op: string, fn: (client: TwilioClient) => Promise<T>, settled?: () => Promise<T | null>): Promise<T>;
}

/** Build the client with per-attempt time limits and the retry loop. */
export function createRetryingClient(o: TwilioRestOptions): RetryingClient {
  const shared = new twilio.RequestClient({ autoRetry: false });
  const baseUrl = o.apiBaseUrl?.replace(/\/$/, '');
  const clientFor = (ctx: AttemptContext): TwilioClient => {
    // The package calls only `request` on its HTTP client (base/BaseTwilio.js).
    const httpClient = new AttemptHttpClient(shared, ctx) as unknown as RequestClient;
    const client = twilio(o.accountSid, o.authToken, { httpClient });
    if (baseUrl) client.api.baseUrl = baseUrl;
    return client;
  };
  const attempts = o.attempts ?? 4;
  const backoff = o.backoffMs ?? 250;
  const requestTimeout = o.requestTimeoutMs ?? 4000;
  const budget = o.budgetMs ?? 12_000;
  const random = o.random ?? Math.random;

  /**
   * One request under a time limit. The HTTP client aborts it at `timeoutMs` (socket timeout); the race
   * below also ends the attempt should the package not notice (a connection that trickles bytes).
   */
  async function attempt<T>(fn: (client: TwilioClient) => Promise<T>, ctx: AttemptContext): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RestError(`no answer from Twilio within ${ctx.timeoutMs} ms`, 0, undefined, false)),
        ctx.timeoutMs + 100,
      );
    });
    try {
      return await Promise.race([fn(clientFor(ctx)), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function withRetry<T>(op: string, fn: (client: TwilioClient) => Promise<T>, settled?: () => Promise<T | null>): Promise<T> {
    let last: RestError | undefined;
    // Budget spent: real time outside the waits, plus the waits on the injected clock.
    const t0 = performance.now();
    let waitedReal = 0;
    let waited = 0;
    const spent = (): number => performance.now() - t0 - waitedReal + waited;
    const already = async (): Promise<T | null> => (settled ? settled().catch(() => null) : null);
    for (let i = 0; i < attempts; i++) {
      if (i > 0) {
        const done = await already();
        if (done !== null) {
          o.onEvent?.({ type: 'twilio.rest', op, result: 'ok' });
          return done;
        }
      }
      const left = budget - spent();
      if (left < MIN_ATTEMPT_MS) break;
      const ctx: AttemptContext = { timeoutMs: Math.round(Math.min(requestTimeout, left)) };
      try {
        const r = await attempt(fn, ctx);
        o.onEvent?.({ type: 'twilio.rest', op, result: 'ok' });
        return r;
      } catch (e) {
        last = toRestError(e);
        if (last.permanent || i === attempts - 1) break;
        // Retry-After when Twilio gives one; else exponential backoff, jittered over its upper half.
        const wait = ctx.retryAfterMs ?? backoff * 2 ** i * (0.5 + random() / 2);
        if (spent() + wait + MIN_ATTEMPT_MS > budget) break;
        o.onEvent?.({ type: 'twilio.rest', op, result: 'retry' });
        const before = performance.now();
        await o.clock.sleep(wait);
        waitedReal += performance.now() - before;
        waited += wait;
      }
    }
    // The last answer may be an error about an earlier attempt that did happen (a dequeue retried after a
    // lost answer finds the caller gone from the queue: 404).
    const done = await already();
    if (done !== null) {
      o.onEvent?.({ type: 'twilio.rest', op, result: 'ok' });
      return done;
    }
    o.onEvent?.({ type: 'twilio.rest', op, result: 'failed' });
    throw last ?? new RestError(`${op} failed: no time left in its ${budget} ms budget`, 0, undefined, false);
  }

  return { run: withRetry };
}
