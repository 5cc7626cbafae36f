/**
 * The REST API our server calls, on 127.0.0.1: Basic auth with the account SID and auth token
 * (https://www.twilio.com/docs/usage/requests-to-twilio), form-encoded PascalCase parameters, JSON snake_case
 * answers and Twilio's error bodies (rest-form.ts). Point twilio-node at it with
 * `client.api.baseUrl = emu.restBaseUrl`. Calls and Queues are here, Conferences and Participants in
 * rest-conferences.ts, Recordings in rest-recordings.ts.
 *
 * Rules: a call is created with To, From and Url or Twiml (Twiml at most 4000 characters), Timeout (default
 * 60 s), StatusCallback (+ Method, Event), FallbackUrl; updated with Url/Twiml (redirect; only an
 * in-progress call, error 21220) or Status=completed|canceled (https://www.twilio.com/docs/voice/api/
 * call-resource); a queue is created with FriendlyName (at most 64 characters) and MaxSize (default 1000,
 * at most 5000), a member is dequeued by redirecting it with Url (the front one as `Front`)
 * (https://www.twilio.com/docs/voice/api/queue-resource, https://www.twilio.com/docs/voice/api/member-resource).
 *
 * Decided here: Twiml too long is 400 code 21232 (code chosen here; the limit is Twilio's). Status=completed
 * on a call that already ended: 200 with the call unchanged. Creating a queue whose name exists returns the
 * existing queue.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Call } from './call.js';
import type { TwilioEmulator } from './emulator.js';
import { callJson, memberJson, queueJson, restError } from './resources.js';
import { conferenceRoutes } from './rest-conferences.js';
import { recordingRoutes } from './rest-recordings.js';
import { absUrl, method, notFound, one, page, parseForm, RestError, statusEvents, type Form, type Reply } from './rest-form.js';
import { checkBasicAuth } from './signing.js';
import type { DocTarget } from './target.js';
import type { RestLogEntry } from './types.js';

export class RestServer {
  private server?: http.Server;
  private seq = 0;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly emu: TwilioEmulator) {}

  async listen(port: number): Promise<string> {
    const server = http.createServer((req, res) => {
      this.onRequest(req, res).catch((e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        this.emu.recordError({ code: 90003, level: 'error', kind: 'emulator', message: `REST request failed: ${msg}` });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = server.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      for (const sock of this.sockets) sock.destroy();
    });
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const emu = this.emu;
    let end = emu.inflight.begin();
    res.once('close', () => end());
    const t0 = performance.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = parseForm(Buffer.concat(chunks).toString('utf8'));
    const query = parseForm(url.search.slice(1));
    const entry: RestLogEntry = {
      id: ++this.seq,
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      form,
      authOk: checkBasicAuth(req.headers.authorization, emu.accountSid, emu.authToken),
      at: emu.clock.now(),
    };
    emu.logRest(entry);
    const send = (r: Reply): void => {
      entry.status = r.status;
      entry.response = r.body;
      entry.latencyMs = performance.now() - t0;
      if (r.body === undefined) {
        res.writeHead(r.status);
        res.end();
      } else {
        const text = JSON.stringify(r.body);
        res.writeHead(r.status, { ...r.headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      }
      end();
    };
    if (!entry.authOk) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Twilio API"');
      send({ status: 401, body: restError(401, 20003, 'Authenticate') });
      return;
    }
    const fault = emu.faults.take(entry.method, entry.path);
    if (fault?.kind === 'fail') {
      entry.fault = `fail ${fault.status}`;
      if (fault.delayMs > 0) {
        end(); // parked on the clock: not in flight
        await emu.clock.sleep(fault.delayMs);
        end = emu.inflight.begin();
      }
      const headers = fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : undefined;
      send({ status: fault.status, body: restError(fault.status, fault.code, fault.message), ...(headers ? { headers } : {}) });
      return;
    }
    if (fault?.kind === 'hold') {
      entry.fault = 'held open';
      res.once('close', () => {
        entry.fault = 'held open, closed by the client';
        entry.latencyMs = performance.now() - t0;
      });
      return;
    }
    if (fault?.kind === 'timeout') {
      entry.fault = `timeout after ${fault.afterMs} ms${fault.execute ? ' (executed)' : ''}`;
      if (fault.execute) this.route(entry.method, url.pathname, form, query);
      end();
      emu.clock.setTimer(fault.afterMs, () => {
        entry.latencyMs = performance.now() - t0;
        req.socket.destroy();
      });
      return;
    }
    send(this.route(entry.method, url.pathname, form, query));
  }

  private route(verb: string, path: string, form: Form, query: Form): Reply {
    try {
      return this.dispatch(verb, path, form, query);
    } catch (e) {
      if (e instanceof RestError) return { status: e.status, body: e.body };
      const msg = e instanceof Error ? e.message : String(e);
      this.emu.recordError({ code: 90003, level: 'error', kind: 'emulator', message: `REST handler crashed: ${msg}` });
      return { status: 500, body: restError(500, 20500, `emulator error: ${msg}`) };
    }
  }

  private dispatch(verb: string, path: string, form: Form, query: Form): Reply {
    const emu = this.emu;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)(\/.*)$/.exec(path);
    if (!m || !path.endsWith('.json')) throw notFound(path);
    if (m[1] !== emu.accountSid) throw notFound(path);
    const segs = (m[2] ?? '')
      .slice(1, -'.json'.length)
      .split('/')
      .map((s) => decodeURIComponent(s));
    const [r0, id0, r1, id1] = segs;
    const n = segs.length;
    if (r0 === 'Calls') {
      if (n === 1 && verb === 'POST') return this.createCall(form);
      if (n === 1 && verb === 'GET') return this.listCalls(path, query);
      const call = id0 ? emu.calls.get(id0) : undefined;
      if (n === 2 && call) {
        if (verb === 'GET') return { status: 200, body: callJson(emu.accountSid, call) };
        if (verb === 'POST') return this.updateCall(call, form);
      }
      if (call && r1 === 'Recordings' && n <= 4) {
        const pool = emu.recordingRegistry.list().filter((r) => r.callSid === call.sid);
        return recordingRoutes(emu, verb, path, pool, id1, form, query);
      }
      throw notFound(path);
    }
    if (r0 === 'Queues') {
      if (n === 1 && verb === 'GET')
        return page(
          path,
          query,
          'queues',
          emu.queueRegistry.list().map((q) => queueJson(emu.accountSid, q, emu.clock.now())),
        );
      if (n === 1 && verb === 'POST') return this.createQueue(form);
      const q = id0 ? emu.queueRegistry.get(id0) : undefined;
      if (!q) throw notFound(path);
      if (n === 2) {
        if (verb === 'GET') return { status: 200, body: queueJson(emu.accountSid, q, emu.clock.now()) };
        if (verb === 'POST') {
          const max = one(form.MaxSize);
          if (max !== undefined) q.maxSize = Math.max(1, Math.min(5000, Number(max) || q.maxSize));
          return { status: 200, body: queueJson(emu.accountSid, q, emu.clock.now()) };
        }
        if (verb === 'DELETE') {
          emu.queueRegistry.delete(q);
          return { status: 204 };
        }
      }
      if (r1 === 'Members') {
        const now = emu.clock.now();
        if (n === 3 && verb === 'GET')
          return page(
            path,
            query,
            'queue_members',
            q.members.map((x, i) => memberJson(emu.accountSid, q, x, i + 1, now)),
          );
        if (n === 4 && id1) {
          const member = id1 === 'Front' ? q.members.find((x) => x.call.live) : q.find(id1);
          if (!member) throw notFound(path);
          const position = q.position(member);
          if (verb === 'GET') return { status: 200, body: memberJson(emu.accountSid, q, member, position, now) };
          if (verb === 'POST') {
            const url = absUrl(form, 'Url');
            if (!url) throw new RestError(400, 21205, 'Url is required');
            q.remove(member, now);
            member.call.redirect({ kind: 'fetch', url, method: method(form.Method, 'POST'), webhookKind: 'rest-url' });
            return { status: 200, body: memberJson(emu.accountSid, q, member, position, now) };
          }
        }
      }
      throw notFound(path);
    }
    if (r0 === 'Conferences') return conferenceRoutes(emu, verb, path, segs, form, query);
    if (r0 === 'Recordings' && n <= 2) return recordingRoutes(emu, verb, path, emu.recordingRegistry.list(), id0, form, query);
    throw notFound(path);
  }

  // ------------------------------------------------------------------ calls

  private target(form: Form): DocTarget | undefined {
    const url = absUrl(form, 'Url');
    const twiml = one(form.Twiml);
    if (twiml !== undefined && twiml !== '') {
      if (twiml.length > 4000) throw new RestError(400, 21232, `Twiml is ${twiml.length} characters; the limit is 4000`);
      return { kind: 'twiml', xml: twiml };
    }
    if (url) return { kind: 'fetch', url, method: method(form.Method, 'POST'), webhookKind: 'rest-url' };
    return undefined;
  }

  private createCall(form: Form): Reply {
    const emu = this.emu;
    const to = one(form.To);
    const from = one(form.From);
    if (!to) throw new RestError(400, 21201, "Required parameter 'To' missing.");
    if (!from) throw new RestError(400, 21213, "Required parameter 'From' missing.");
    const target = this.target(form);
    if (!target) throw new RestError(400, 21205, 'Url, Twiml or ApplicationSid is required.');
    const timeoutS = Math.max(1, Math.min(600, Number(one(form.Timeout) ?? 60) || 60));
    const sc = absUrl(form, 'StatusCallback');
    const fb = absUrl(form, 'FallbackUrl');
    const call = emu.createOutboundCall({
      to,
      from,
      target,
      timeoutS,
      statusCallback: sc
        ? { url: sc, method: method(form.StatusCallbackMethod, 'POST'), events: statusEvents(form.StatusCallbackEvent) }
        : undefined,
      fallback: fb ? { url: fb, method: method(form.FallbackMethod, 'POST') } : undefined,
    });
    return { status: 201, body: callJson(emu.accountSid, call) };
  }

  private listCalls(path: string, query: Form): Reply {
    const emu = this.emu;
    let calls = [...emu.calls.values()];
    const st = one(query.Status);
    const to = one(query.To);
    const from = one(query.From);
    const parent = one(query.ParentCallSid);
    if (st) calls = calls.filter((c) => c.status === st);
    if (to) calls = calls.filter((c) => c.to === to);
    if (from) calls = calls.filter((c) => c.from === from);
    if (parent) calls = calls.filter((c) => c.parentCallSid === parent);
    calls.reverse();
    return page(
      path,
      query,
      'calls',
      calls.map((c) => callJson(emu.accountSid, c)),
    );
  }

  private updateCall(call: Call, form: Form): Reply {
    const emu = this.emu;
    const target = this.target(form);
    const status = one(form.Status);
    if (target) {
      if (!call.live) throw new RestError(400, 21220, 'Call is not in-progress. Cannot redirect.');
      call.redirect(target);
    }
    if (status === 'completed' || status === 'canceled') {
      if (call.live) {
        if (call.answeredAt === undefined) call.hangup('server', 'canceled');
        else if (status === 'completed') call.hangup('server', 'completed');
      }
    } else if (status !== undefined) throw new RestError(400, 21218, `Invalid Status: ${status}`);
    if (!target && status === undefined) throw new RestError(400, 21205, 'Url, Twiml or Status is required.');
    return { status: 200, body: callJson(emu.accountSid, call) };
  }

  // ------------------------------------------------------------------ queues

  private createQueue(form: Form): Reply {
    const emu = this.emu;
    const name = one(form.FriendlyName);
    if (!name) throw new RestError(400, 20001, "Required parameter 'FriendlyName' missing.");
    if (name.length > 64) throw new RestError(400, 20001, 'FriendlyName is longer than 64 characters');
    const max = Math.max(1, Math.min(5000, Number(one(form.MaxSize) ?? 1000) || 1000));
    const existing = emu.queueRegistry.byFriendlyName(name);
    const q = existing ?? emu.queueRegistry.create(name, max);
    return { status: 201, body: queueJson(emu.accountSid, q, emu.clock.now()) };
  }
}
