/**
 * The Twilio webhook surface as one encapsulated fastify plugin: form parsing, signature checks, zod
 * validation, idempotency, and the rule that a live call never gets a 5xx (anything that fails inside
 * answers the configured fallback TwiML within the time budget).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { CenterConfig } from '../config/callcenter.js';
import type { EventBus } from '../events.js';
import { fallbackTwiml } from '../ivr/fallback.js';
import { VoiceResponse } from '../ivr/twiml.js';
import { fromZod, invalid, replyError, sbError } from '../errors.js';
import type { Urls } from '../urls.js';
import { signatureValid } from './signature.js';

export type FormBody = Record<string, string | string[]>;

export interface WebhookCore {
  center: CenterConfig;
  urls: Urls;
  authToken: string;
  bus: EventBus;
  /** Answer fallback TwiML when a live-call handler has not answered within this many ms. */
  budgetMs: number;
  /** Is the store's connection up now? (Absent: assumed up.) See `requireStore`. */
  storeReady?: () => boolean;
}

/**
 * Throw a store failure at once when the connection to Redis is down. For a webhook whose first command is
 * a write (its decision's script): issued while the client reconnects, the write would wait in the client's
 * offline queue and could run when Redis is back, after the caller got the fallback TwiML. A webhook that
 * reads first fails on the read instead, as before.
 */
export function requireStore(core: WebhookCore): void {
  if (core.storeReady && !core.storeReady()) throw new Error('Connection is closed: the store is reconnecting');
}

const PLUS = /\+/g;

/** One name or value of a form: `+` is a space, then percent-decoding (throws on a malformed escape). */
function formDecode(s: string): string {
  if (s.includes('+')) s = s.replace(PLUS, ' ');
  return s.includes('%') ? decodeURIComponent(s) : s;
}

/** `out[k] = v`, or v added to the values of a repeated name. */
function addParam(out: FormBody, k: string, v: string): void {
  const prev = out[k];
  if (prev === undefined) out[k] = v;
  else if (Array.isArray(prev)) prev.push(v);
  else out[k] = [prev, v];
}

/**
 * Parse an x-www-form-urlencoded body, keeping repeated names as arrays (Twilio signs each value).
 * The result has no prototype: a parameter named `__proto__` or `constructor` is an ordinary key.
 * The same result as iterating `URLSearchParams` (test/unit/form.test.ts compares them), in a third less
 * time; a body with a malformed percent escape or invalid UTF-8 is parsed by `URLSearchParams` itself, whose
 * replacement rules it then keeps.
 */
export function parseForm(body: string): FormBody {
  const out = Object.create(null) as FormBody;
  try {
    // URLSearchParams drops one leading '?'.
    for (let i = body.startsWith('?') ? 1 : 0; i <= body.length;) {
      let amp = body.indexOf('&', i);
      if (amp === -1) amp = body.length;
      if (amp > i) {
        const eq = body.indexOf('=', i);
        if (eq === -1 || eq > amp) addParam(out, formDecode(body.slice(i, amp)), '');
        else addParam(out, formDecode(body.slice(i, eq)), formDecode(body.slice(eq + 1, amp)));
      }
      i = amp + 1;
    }
    return out;
  } catch {
    const slow = Object.create(null) as FormBody;
    for (const [k, v] of new URLSearchParams(body)) addParam(slow, k, v);
    return slow;
  }
}

/** Register the form parser and the signature check on an encapsulated instance. */
export function installWebhookInfra(app: FastifyInstance, core: WebhookCore): void {
  // Twilio posts forms; anything else (JSON, text) is refused with 415 before it reaches a handler.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  // The signature is checked before anything reads the parameters (twilio.md section 1): over the public
  // URL (PUBLIC_BASE_URL + the original path and query), never what the socket says.
  app.addHook('preHandler', async (req, reply) => {
    const route = routeName(req);
    const sig = req.headers['x-twilio-signature'];
    if (typeof sig !== 'string' || sig.length === 0) {
      core.bus.service({ type: 'webhook.rejected', route, reason: 'missing_signature' });
      return replyError(reply, sbError('missing_signature'));
    }
    const url = core.urls.base + req.url;
    const params = req.method === 'POST' && req.body && typeof req.body === 'object' ? (req.body as FormBody) : {};
    if (!signatureValid(core.authToken, sig, url, params)) {
      core.bus.service({ type: 'webhook.rejected', route, reason: 'bad_signature' });
      return replyError(reply, sbError('bad_signature'));
    }
    // The URLs we hand Twilio carry each query parameter once; a repeated one is not ours.
    for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
      if (typeof v !== 'string') {
        core.bus.service({ type: 'webhook.rejected', route, reason: 'invalid_params' });
        return replyError(reply, invalid(k.slice(0, 64) || '(query)', 'given more than once in the query string'));
      }
    }
    return undefined;
  });

  app.addHook('onResponse', async (req, reply) => {
    core.bus.service({ type: 'webhook.served', route: routeName(req), statusCode: reply.statusCode, seconds: reply.elapsedTime / 1000 });
  });
}

/** A query parameter as a string ('' when absent). */
export function queryParam(req: FastifyRequest, key: string): string {
  const v = (req.query as Record<string, unknown> | undefined)?.[key];
  return typeof v === 'string' ? v : '';
}

/** The route pattern (bounded set) for metrics and logs. */
export function routeName(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unknown';
}

/** Validate parameters; on failure answer 400 naming the field and return undefined. */
export function validate<S extends z.ZodType>(
  core: WebhookCore,
  schema: S,
  req: FastifyRequest,
  reply: FastifyReply,
): z.infer<S> | undefined {
  const parsed = schema.safeParse(req.body ?? {});
  if (parsed.success) return parsed.data as z.infer<S>;
  core.bus.service({ type: 'webhook.rejected', route: routeName(req), reason: 'invalid_params' });
  void replyError(reply, fromZod(parsed.error));
  return undefined;
}

export class BudgetExceeded extends Error {
  constructor() {
    super('webhook budget exceeded');
  }
}

/** Is this failure the store being unreachable (as opposed to a bug)? */
export function isRedisFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const name = e.name ?? '';
  return (
    name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|ECONNREFUSED|ECONNRESET|Command timed out|Stream isn't writeable|CLUSTERDOWN|TRYAGAIN|LOADING|enableOfflineQueue/i.test(
      e.message,
    )
  );
}

/**
 * Run a live-call handler under the time budget. Whatever happens inside, the caller gets TwiML:
 * the handler's, or the fallback (apology + transfer or voicemail), and the failure is logged and counted.
 */
export async function serveLive(
  core: WebhookCore,
  req: FastifyRequest,
  reply: FastifyReply,
  handler: () => Promise<string>,
  language?: string,
  /** TwiML to answer instead of the apology (a caller waiting in a queue keeps waiting). */
  fallback?: () => string,
): Promise<FastifyReply> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BudgetExceeded()), core.budgetMs);
  });
  try {
    const xml = await Promise.race([handler(), budget]);
    return reply.type('text/xml').send(xml);
  } catch (e) {
    const reason = e instanceof BudgetExceeded ? 'timeout' : isRedisFailure(e) ? 'redis' : 'internal';
    req.log.error(
      { err: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : e, reason },
      'live-call webhook failed; answering fallback TwiML',
    );
    core.bus.service({ type: 'webhook.fallback', route: routeName(req), reason });
    return reply.type('text/xml').send(fallback ? fallback() : fallbackTwiml(core.center, core.urls.fallbackRecord, language));
  } finally {
    clearTimeout(timer);
  }
}

/** A TwiML document for a request whose answer does not matter (notifications, status callbacks). */
export const EMPTY_TWIML = new VoiceResponse().toString();

/**
 * Run a status-callback handler (no caller waits on the answer: it is not live-call TwiML). When it fails
 * the answer is honest, 503 with an empty TwiML body when the store is unreachable, 500 for anything else,
 * and the loss is counted (switchboard_webhook_unprocessed_total{route,reason}): Twilio does not resend
 * status callbacks, so each one is a fact we never saw. What matters of them is reconciled later (a caller
 * whose hangup was lost is closed when Twilio reports its call ended: see the queue service's ghosts).
 */
export async function serveStatus(
  core: WebhookCore,
  req: FastifyRequest,
  reply: FastifyReply,
  handler: () => Promise<void>,
): Promise<FastifyReply> {
  try {
    await handler();
    return reply.code(200).type('text/xml').send(EMPTY_TWIML);
  } catch (e) {
    const reason = isRedisFailure(e) ? 'redis' : 'internal';
    req.log.error(
      { err: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : e, reason },
      'status callback could not be processed (Twilio will not resend it)',
    );
    core.bus.service({ type: 'webhook.unprocessed', route: routeName(req), reason });
    return reply
      .code(reason === 'redis' ? 503 : 500)
      .type('text/xml')
      .send(EMPTY_TWIML);
  }
}
