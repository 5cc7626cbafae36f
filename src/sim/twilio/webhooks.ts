/**
 * Outgoing HTTP: every request Twilio would make to our server (TwiML fetches, actions, status callbacks),
 * signed over the public URL and sent to the real address, with Twilio's time limit and its one retry on
 * a connection failure. Also the in-flight tracker behind `settle()`.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../../clock.js';
import type { Random } from './random.js';
import { signRequest } from './signing.js';
import type { HttpMethod, WebhookKind, WebhookLogEntry } from './types.js';

/**
 * Counts HTTP work in flight in both directions. `settle()` resolves once nothing is in flight and nothing
 * new started for a few event-loop turns (so work chained on an answer gets to start first). Work parked
 * on the clock (a delayed fault, a shuffled callback) is not "in flight": in virtual time only advancing
 * the clock can finish it.
 */
export class Inflight {
  private count = 0;
  private epoch = 0;
  private idle: Array<() => void> = [];

  constructor(private readonly turns = 10) {}

  get active(): number {
    return this.count;
  }

  begin(): () => void {
    this.count++;
    this.epoch++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.count--;
      if (this.count === 0) {
        const w = this.idle;
        this.idle = [];
        for (const f of w) f();
      }
    };
  }

  async settle(): Promise<void> {
    for (;;) {
      if (this.count > 0) await new Promise<void>((r) => this.idle.push(r));
      const e = this.epoch;
      for (let i = 0; i < this.turns; i++) {
        await new Promise<void>((r) => setImmediate(r));
        if (this.count > 0 || this.epoch !== e) break;
      }
      if (this.count === 0 && this.epoch === e) return;
    }
  }
}

export interface SendRequest {
  kind: WebhookKind;
  /** Absolute public URL. */
  url: string;
  method: HttpMethod;
  params: Record<string, string>;
  callSid?: string;
}

export type SendResult =
  | { ok: true; status: number; contentType: string; body: string; entry: WebhookLogEntry }
  | { ok: false; failure: 'timeout' | 'connection' | 'unroutable'; message: string; entry: WebhookLogEntry };

export interface WebhookClientOptions {
  clock: Clock;
  authToken: string;
  webhookBase: string;
  publicBaseUrl: string;
  timeoutMs: number;
  realTimeoutMs: number;
  random: Random;
  inflight: Inflight;
  maxSockets: number;
  onSend: (entry: WebhookLogEntry) => void;
  onDone: (entry: WebhookLogEntry) => void;
}

const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

type OnceResult =
  | { ok: true; status: number; contentType: string; body: string }
  | { ok: false; failure: 'timeout' | 'connection'; retry: boolean; message: string };

function trimBase(u: string): string {
  return u.replace(/\/+$/, '');
}

export class WebhookClient {
  readonly publicBase: string;
  readonly webhookBase: string;
  private seq = 0;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly o: WebhookClientOptions) {
    this.publicBase = trimBase(o.publicBaseUrl);
    this.webhookBase = trimBase(o.webhookBase);
    // A bounded, kept-alive socket pool: thousands of simultaneous connects to one local server overflow
    // its listen backlog, and the kernel's SYN retransmits (1 s, 3 s, ...) would show up as fake latency.
    const opts = { keepAlive: true, maxSockets: o.maxSockets, maxFreeSockets: o.maxSockets };
    this.httpAgent = new http.Agent(opts);
    this.httpsAgent = new https.Agent(opts);
  }

  /** Resolve a URL from configuration (relative to the public base) to an absolute public URL. */
  configUrl(u: string): string {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) return u;
    return this.publicBase + (u.startsWith('/') ? u : `/${u}`);
  }

  /** Resolve a URL found in a document (relative to that document's URL, RFC 3986). */
  resolve(u: string, baseUrl: string): string {
    try {
      return new URL(u, baseUrl).toString();
    } catch {
      return u;
    }
  }

  /** Path + query of a public URL (for logs and assertions). */
  pathOf(u: string): string {
    for (const base of [this.publicBase, this.webhookBase]) {
      if (u === base) return '/';
      if (u.startsWith(base) && (u[base.length] === '/' || u[base.length] === '?')) return u.slice(base.length);
    }
    try {
      const p = new URL(u);
      return p.pathname + p.search;
    } catch {
      return u;
    }
  }

  /** Where a public URL is really sent; undefined when it is neither our server's public nor real address. */
  requestUrl(u: string): string | undefined {
    for (const base of [this.publicBase, this.webhookBase]) {
      if (u === base) return this.webhookBase + '/';
      if (u.startsWith(base) && (u[base.length] === '/' || u[base.length] === '?')) return this.webhookBase + u.slice(base.length);
    }
    return undefined;
  }

  /** True when the emulator would send a request to this URL (it points at our server). */
  isRoutable(u: string): boolean {
    return this.requestUrl(u) !== undefined;
  }

  async send(req: SendRequest): Promise<SendResult> {
    const token = this.o.random.hex(32);
    let signedUrl = req.url.split('#')[0] ?? req.url;
    let body: string | undefined;
    const form = new URLSearchParams(req.params).toString();
    if (req.method === 'GET') {
      if (form) signedUrl += (signedUrl.includes('?') ? '&' : '?') + form;
    } else body = form;
    const signature = signRequest(this.o.authToken, signedUrl, req.method === 'GET' ? {} : req.params);
    const target = this.requestUrl(signedUrl);
    const entry: WebhookLogEntry = {
      id: ++this.seq,
      kind: req.kind,
      callSid: req.callSid,
      method: req.method,
      url: req.url,
      path: this.pathOf(req.url),
      requestUrl: target ?? signedUrl,
      params: { ...req.params },
      signature,
      idempotencyToken: token,
      attempts: 0,
      at: this.o.clock.now(),
    };
    this.o.onSend(entry);
    if (!target) {
      entry.error = 'unroutable: not under the public or webhook base URL';
      this.o.onDone(entry);
      return { ok: false, failure: 'unroutable', message: entry.error, entry };
    }
    const end = this.o.inflight.begin();
    const t0 = performance.now();
    try {
      const headers: Record<string, string> = {
        'X-Twilio-Signature': signature,
        'I-Twilio-Idempotency-Token': token,
        'User-Agent': 'TwilioProxy/1.1',
        Accept: '*/*',
        'Cache-Control': 'max-age=259200',
      };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        headers['Content-Length'] = String(Buffer.byteLength(body));
      }
      for (let attempt = 1; attempt <= 2; attempt++) {
        entry.attempts = attempt;
        const r = await this.once(target, req.method, headers, body);
        if (r.ok) {
          entry.status = r.status;
          entry.contentType = r.contentType;
          entry.body = r.body;
          entry.latencyMs = performance.now() - t0;
          this.o.onDone(entry);
          return { ok: true, status: r.status, contentType: r.contentType, body: r.body, entry };
        }
        // Twilio retries once, and only when the connection itself failed (the default of the `rc`/`rp`
        // connection overrides, https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
        if (r.failure === 'connection' && r.retry && attempt === 1) continue;
        entry.error = r.message;
        entry.latencyMs = performance.now() - t0;
        this.o.onDone(entry);
        return { ok: false, failure: r.failure, message: r.message, entry };
      }
      throw new Error('unreachable');
    } finally {
      end();
    }
  }

  private once(target: string, method: HttpMethod, headers: Record<string, string>, body: string | undefined): Promise<OnceResult> {
    return new Promise((resolve) => {
      let finished = false;
      let timedOut = false;
      let gotResponse = false;
      const url = new URL(target);
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, {
        method,
        headers,
        agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
      });
      const stopClock = this.o.clock.setTimer(this.o.timeoutMs, () => onTimeout());
      const realTimer = setTimeout(() => onTimeout(), this.o.realTimeoutMs);
      realTimer.unref?.();
      const finish = (v: OnceResult): void => {
        if (finished) return;
        finished = true;
        stopClock();
        clearTimeout(realTimer);
        resolve(v);
      };
      const onTimeout = (): void => {
        if (finished) return;
        timedOut = true;
        req.destroy(new Error('timeout'));
        finish({ ok: false, failure: 'timeout', retry: false, message: `no answer within ${this.o.timeoutMs / 1000} s` });
      };
      req.on('response', (res) => {
        gotResponse = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish({
            ok: true,
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', (e: Error) => finish({ ok: false, failure: 'connection', retry: false, message: `response error: ${e.message}` }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (timedOut) return;
        const code = e.code ?? '';
        const retryable = !gotResponse && (RETRYABLE.has(code) || /socket hang up/i.test(e.message));
        finish({
          ok: false,
          failure: 'connection',
          retry: retryable,
          message: `${retryable ? 'connection failure' : 'request error'}: ${code || e.message}`,
        });
      });
      if (body !== undefined) req.end(body);
      else req.end();
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
