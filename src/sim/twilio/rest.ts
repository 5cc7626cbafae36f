/**
 * The REST API our server calls (twilio.md sections 5 and 6), on 127.0.0.1: Basic auth, form-encoded
 * PascalCase parameters, JSON snake_case answers, Twilio's error bodies. Point twilio-node at it with
 * `client.api.baseUrl = emu.restBaseUrl`.
 *
 * Decisions: Url/StatusCallback/HoldUrl/... given over REST must be absolute (400, code 21205 — Twilio
 * needs absolute URLs; relative ones are a server bug). Twiml longer than 4000 characters: 400 code 21232
 * (code chosen here; the limit is Twilio's). Status=completed on a call that already ended: 200 with the
 * call unchanged. Creating a queue whose name exists returns the existing queue. Lists are paged with
 * PageSize (default 50, at most 1000) and Page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Call } from './call.js';
import { eventList, type Conference, type JoinOptions, type ParticipantChanges } from './conference.js';
import type { TwilioEmulator } from './emulator.js';
import {
  callJson,
  conferenceJson,
  memberJson,
  participantJson,
  queueJson,
  restError,
} from './resources.js';
import { checkBasicAuth } from './signing.js';
import type { DocTarget } from './target.js';
import type { HttpMethod, RestLogEntry, StatusEvent } from './types.js';

type Form = Record<string, string | string[]>;

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function bool(v: string | string[] | undefined): boolean | undefined {
  const s = one(v);
  if (s === undefined) return undefined;
  return s.toLowerCase() === 'true';
}

function method(v: string | string[] | undefined, dflt: HttpMethod): HttpMethod {
  const s = one(v)?.toUpperCase();
  return s === 'GET' || s === 'POST' ? s : dflt;
}

function isAbsolute(u: string): boolean {
  return /^https?:\/\//i.test(u);
}

function absUrl(form: Form, name: string): string | undefined {
  const u = one(form[name]);
  if (u === undefined || u === '') return undefined;
  if (!isAbsolute(u)) throw new RestError(400, 21205, `${name} is not a valid URL: ${u} (Twilio needs an absolute URL)`);
  return u;
}

function parseForm(body: string): Form {
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

const STATUS_EVENTS: readonly StatusEvent[] = ['initiated', 'ringing', 'answered', 'completed'];

function statusEvents(v: string | string[] | undefined): StatusEvent[] {
  return eventList(v, ['completed']).filter((e): e is StatusEvent => (STATUS_EVENTS as readonly string[]).includes(e));
}

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
      if (e instanceof RestError) return { status: e.status, body: restError(e.status, e.code, e.message) };
      const msg = e instanceof Error ? e.message : String(e);
      this.emu.recordError({ code: 90003, level: 'error', kind: 'emulator', message: `REST handler crashed: ${msg}` });
      return { status: 500, body: restError(500, 20500, `emulator error: ${msg}`) };
    }
  }

  private notFound(path: string): RestError {
    return new RestError(404, 20404, `The requested resource ${path} was not found`);
  }

  private dispatch(verb: string, path: string, form: Form, query: Form): Reply {
    const emu = this.emu;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)(\/.*)$/.exec(path);
    if (!m || !path.endsWith('.json')) throw this.notFound(path);
    if (m[1] !== emu.accountSid) throw this.notFound(path);
    const segs = (m[2] ?? '')
      .slice(1, -'.json'.length)
      .split('/')
      .map((s) => decodeURIComponent(s));
    const [r0, id0, r1, id1] = segs;
    const n = segs.length;
    const params = verb === 'GET' || verb === 'DELETE' ? query : form;
    if (r0 === 'Calls') {
      if (n === 1 && verb === 'POST') return this.createCall(form);
      if (n === 1 && verb === 'GET') return this.listCalls(path, query);
      const call = id0 ? emu.calls.get(id0) : undefined;
      if (n === 2 && call) {
        if (verb === 'GET') return { status: 200, body: callJson(emu.accountSid, call) };
        if (verb === 'POST') return this.updateCall(call, form);
      }
      throw this.notFound(path);
    }
    if (r0 === 'Queues') {
      if (n === 1 && verb === 'GET')
        return this.page(path, query, 'queues', emu.queueRegistry.list().map((q) => queueJson(emu.accountSid, q, emu.clock.now())));
      if (n === 1 && verb === 'POST') return this.createQueue(form);
      const q = id0 ? emu.queueRegistry.get(id0) : undefined;
      if (!q) throw this.notFound(path);
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
          return this.page(path, query, 'queue_members', q.members.map((x, i) => memberJson(emu.accountSid, q, x, i + 1, now)));
        if (n === 4 && id1) {
          const member = id1 === 'Front' ? q.members.find((x) => x.call.live) : q.find(id1);
          if (!member) throw this.notFound(path);
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
      throw this.notFound(path);
    }
    if (r0 === 'Conferences') {
      if (n === 1 && verb === 'GET') return this.listConferences(path, query);
      if (!id0) throw this.notFound(path);
      if (r1 === 'Participants' && n === 3 && verb === 'POST') return this.createParticipant(path, id0, form);
      const conf = emu.conferenceRegistry.get(id0);
      if (!conf) throw this.notFound(path);
      if (n === 2) {
        if (verb === 'GET') return { status: 200, body: conferenceJson(emu.accountSid, conf) };
        if (verb === 'POST') return this.updateConference(conf, form);
      }
      if (r1 === 'Participants') {
        if (n === 3 && verb === 'GET') {
          let ps = [...conf.participants.values()];
          const f = (k: string) => bool(params[k]);
          if (f('Muted') !== undefined) ps = ps.filter((p) => p.muted === f('Muted'));
          if (f('Hold') !== undefined) ps = ps.filter((p) => p.hold === f('Hold'));
          if (f('Coaching') !== undefined) ps = ps.filter((p) => p.coaching === f('Coaching'));
          return this.page(path, query, 'participants', ps.map((p) => participantJson(emu.accountSid, p)));
        }
        const p = id1 ? conf.find(id1) : undefined;
        if (n === 4 && p) {
          if (verb === 'GET') return { status: 200, body: participantJson(emu.accountSid, p) };
          if (verb === 'POST') {
            emu.conferenceRegistry.update(p, this.participantChanges(form));
            return { status: 200, body: participantJson(emu.accountSid, p) };
          }
          if (verb === 'DELETE') {
            if (p.status === 'connected') emu.conferenceRegistry.leave(p, 'kicked');
            else {
              emu.conferenceRegistry.dropPending(p);
              p.call.hangup('server', 'canceled');
            }
            return { status: 204 };
          }
        }
      }
      throw this.notFound(path);
    }
    throw this.notFound(path);
  }

  private page(path: string, query: Form, key: string, items: unknown[]): Reply {
    const size = Math.max(1, Math.min(1000, Number(one(query.PageSize) ?? 50) || 50));
    const pageNo = Math.max(0, Number(one(query.Page) ?? 0) || 0);
    const slice = items.slice(pageNo * size, (pageNo + 1) * size);
    const filters = Object.entries(query)
      .filter(([k]) => k !== 'Page' && k !== 'PageSize' && k !== 'PageToken')
      .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `&${encodeURIComponent(k)}=${encodeURIComponent(x)}`))
      .join('');
    const uri = (p: number): string => `${path}?PageSize=${size}&Page=${p}${filters}`;
    const hasNext = (pageNo + 1) * size < items.length;
    return {
      status: 200,
      body: {
        [key]: slice,
        first_page_uri: uri(0),
        previous_page_uri: pageNo > 0 ? uri(pageNo - 1) : null,
        next_page_uri: hasNext ? uri(pageNo + 1) : null,
        uri: uri(pageNo),
        page: pageNo,
        page_size: size,
        start: pageNo * size,
        end: pageNo * size + Math.max(0, slice.length - 1),
      },
    };
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
    return this.page(path, query, 'calls', calls.map((c) => callJson(emu.accountSid, c)));
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

  // ------------------------------------------------------------------ conferences

  private listConferences(path: string, query: Form): Reply {
    const emu = this.emu;
    let cs = emu.conferenceRegistry.list();
    const name = one(query.FriendlyName);
    const st = one(query.Status);
    if (name !== undefined) cs = cs.filter((c) => c.friendlyName === name);
    if (st !== undefined) cs = cs.filter((c) => c.status === st);
    cs.reverse();
    return this.page(path, query, 'conferences', cs.map((c) => conferenceJson(emu.accountSid, c)));
  }

  private updateConference(conf: Conference, form: Form): Reply {
    const emu = this.emu;
    const st = one(form.Status);
    const announce = absUrl(form, 'AnnounceUrl');
    if (st === 'completed') emu.conferenceRegistry.end(conf, 'conference-ended-via-api');
    else if (st !== undefined) throw new RestError(400, 21218, `Invalid Status: ${st}`);
    if (announce && conf.status !== 'completed')
      void emu.conferenceRegistry.announce(conf, announce, method(form.AnnounceMethod, 'POST'));
    return { status: 200, body: conferenceJson(emu.accountSid, conf) };
  }

  private participantChanges(form: Form): ParticipantChanges {
    return {
      hold: bool(form.Hold),
      holdUrl: absUrl(form, 'HoldUrl'),
      holdMethod: form.HoldMethod !== undefined ? method(form.HoldMethod, 'GET') : undefined,
      muted: bool(form.Muted),
      coaching: bool(form.Coaching),
      callSidToCoach: one(form.CallSidToCoach),
      endConferenceOnExit: bool(form.EndConferenceOnExit),
      beepOnExit: bool(form.BeepOnExit),
      waitUrl: absUrl(form, 'WaitUrl'),
      waitMethod: form.WaitMethod !== undefined ? method(form.WaitMethod, 'POST') : undefined,
      announceUrl: absUrl(form, 'AnnounceUrl'),
      announceMethod: form.AnnounceMethod !== undefined ? method(form.AnnounceMethod, 'POST') : undefined,
    };
  }

  private createParticipant(path: string, sidOrName: string, form: Form): Reply {
    const emu = this.emu;
    const reg = emu.conferenceRegistry;
    let conf = reg.get(sidOrName) ?? reg.liveByName(sidOrName);
    if (!conf) {
      if (/^CF[0-9a-fA-F]{32}$/.test(sidOrName)) throw this.notFound(path);
      conf = reg.getOrCreate(sidOrName);
    }
    if (conf.status === 'completed') throw this.notFound(path);
    const to = one(form.To);
    const from = one(form.From);
    if (!to) throw new RestError(400, 21201, "Required parameter 'To' missing.");
    if (!from) throw new RestError(400, 21213, "Required parameter 'From' missing.");
    const beep = one(form.Beep);
    const coaching = bool(form.Coaching) ?? false;
    const csc = absUrl(form, 'ConferenceStatusCallback');
    const waitUrl = one(form.WaitUrl);
    const opts: JoinOptions = {
      label: one(form.Label),
      muted: bool(form.Muted) ?? false,
      coaching,
      callSidToCoach: one(form.CallSidToCoach),
      startConferenceOnEnter: bool(form.StartConferenceOnEnter) ?? true,
      endConferenceOnExit: bool(form.EndConferenceOnExit) ?? false,
      beep: beep === 'false' || beep === 'onEnter' || beep === 'onExit' ? beep : 'true',
      waitUrl: waitUrl === '' ? '' : absUrl(form, 'WaitUrl'),
      waitMethod: method(form.WaitMethod, 'POST'),
      statusCallback: csc
        ? {
            url: csc,
            method: method(form.ConferenceStatusCallbackMethod, 'POST'),
            events: eventList(form.ConferenceStatusCallbackEvent, ['start', 'end']),
          }
        : undefined,
      source: 'rest',
    };
    const sc = absUrl(form, 'StatusCallback');
    const timeoutS = Math.max(5, Math.min(600, Number(one(form.Timeout) ?? 60) || 60));
    const target = conf;
    const holder: { call?: Call } = {};
    const call = emu.createOutboundCall({
      to,
      from,
      timeoutS,
      statusCallback: sc
        ? { url: sc, method: method(form.StatusCallbackMethod, 'POST'), events: statusEvents(form.StatusCallbackEvent) }
        : undefined,
      target: {
        kind: 'internal',
        name: 'conference-participant',
        run: async (scope) => {
          const c = holder.call;
          if (!c) return { kind: 'end', by: 'twilio' };
          const room = target.status === 'completed' ? reg.getOrCreate(target.friendlyName) : target;
          const reason = await c.inConference(room, opts, scope);
          return { kind: 'end', by: reason === 'kicked' ? 'server' : 'twilio' };
        },
      },
    });
    holder.call = call;
    const p = reg.addPending(conf, call, opts);
    void call.ringOutcome.promise.then((o) => {
      if (o !== 'answered') reg.dropPending(p);
    });
    return { status: 201, body: participantJson(emu.accountSid, p) };
  }
}

