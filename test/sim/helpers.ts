/**
 * Test helpers for the Twilio emulator: a tiny fastify server that answers fixed TwiML documents and checks
 * every request's signature with twilio.validateRequest, as our real server will.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import twilio from 'twilio';
import type { Clock } from '../../src/clock.js';
import { createTwilioEmulator, type TwilioEmulator } from '../../src/sim/twilio/index.js';
import type { EmulatorOptions, NumberConfig } from '../../src/sim/twilio/index.js';

export const ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2);
export const AUTH_TOKEN = 'f00dfeedf00dfeedf00dfeedf00dfeed';
export const PUBLIC_BASE = 'https://switchboard.example.com';
export const OUR_NUMBER = '+18005550100';

export interface Hit {
  path: string;
  /** Path without query. */
  route: string;
  method: string;
  params: Record<string, string>;
  signatureOk: boolean;
  idempotencyToken?: string;
  userAgent?: string;
  at: number;
}

export type Answer = string | { status?: number; body?: string; contentType?: string; delayMs?: number };
export type Handler = (params: Record<string, string>, hit: Hit) => Answer | Promise<Answer>;

export interface TwimlServer {
  base: string;
  hits: Hit[];
  app: FastifyInstance;
  route(path: string, h: Handler): void;
  hitsTo(route: string): Hit[];
  close(): Promise<void>;
}

export async function startTwimlServer(routes: Record<string, Handler> = {}, clock?: Clock): Promise<TwimlServer> {
  const table = new Map<string, Handler>(Object.entries(routes));
  const hits: Hit[] = [];
  const app = Fastify({ logger: false });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(String(body))) out[k] = v;
    done(null, out);
  });
  const handle = async (req: FastifyRequest): Promise<{ status: number; body: string; type: string }> => {
    const url = req.url;
    const route = url.split('?')[0] ?? url;
    const params: Record<string, string> =
      req.method === 'POST'
        ? ((req.body as Record<string, string> | undefined) ?? {})
        : Object.fromEntries(new URL(url, 'http://x').searchParams);
    const sig = String(req.headers['x-twilio-signature'] ?? '');
    const hit: Hit = {
      path: url,
      route,
      method: req.method,
      params,
      signatureOk: twilio.validateRequest(AUTH_TOKEN, sig, PUBLIC_BASE + url, req.method === 'POST' ? params : {}),
      idempotencyToken: req.headers['i-twilio-idempotency-token'] as string | undefined,
      userAgent: req.headers['user-agent'],
      at: clock?.now() ?? Date.now(),
    };
    hits.push(hit);
    const h = table.get(route);
    if (!h) return { status: 404, body: 'not found', type: 'text/plain' };
    const a = await h(params, hit);
    if (typeof a === 'string') return { status: 200, body: a, type: 'text/xml' };
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    return { status: a.status ?? 200, body: a.body ?? '', type: a.contentType ?? 'text/xml' };
  };
  app.all('/*', async (req, reply) => {
    const r = await handle(req);
    return reply.code(r.status).type(r.type).send(r.body);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    app,
    route: (p, h) => table.set(p, h),
    hitsTo: (r) => hits.filter((h) => h.route === r),
    close: () => app.close(),
  };
}

/** Build TwiML with twilio's VoiceResponse, as the real server does. */
export function twiml(build: (r: InstanceType<typeof twilio.twiml.VoiceResponse>) => void): string {
  const r = new twilio.twiml.VoiceResponse();
  build(r);
  return r.toString();
}

export const ok = (): Answer => ({ status: 200, body: '', contentType: 'text/plain' });

export const DEFAULT_NUMBER: NumberConfig = {
  voiceUrl: '/twilio/voice',
  fallbackUrl: '/twilio/fallback',
  statusCallback: '/twilio/status',
};

export async function setup(
  clock: Clock,
  routes: Record<string, Handler>,
  extra: Partial<EmulatorOptions> = {},
): Promise<{ emu: TwilioEmulator; srv: TwimlServer; client: ReturnType<typeof twilio>; close: () => Promise<void> }> {
  const srv = await startTwimlServer({ '/twilio/status': ok, ...routes }, clock);
  const emu = await createTwilioEmulator({
    clock,
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    webhookBase: srv.base,
    publicBaseUrl: PUBLIC_BASE,
    numbers: { [OUR_NUMBER]: DEFAULT_NUMBER },
    seed: 42,
    ...extra,
  });
  const client = twilio(ACCOUNT_SID, AUTH_TOKEN);
  client.api.baseUrl = emu.restBaseUrl;
  return {
    emu,
    srv,
    client,
    close: async () => {
      await emu.close();
      await srv.close();
    },
  };
}
