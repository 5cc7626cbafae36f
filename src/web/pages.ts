/**
 * The agent desk (`/desk`), the supervisor wallboard (`/wallboard`), live calls (`/calls`) and call history (`/history`): plain HTML, CSS and ES modules
 * from src/web/static, read once at start-up and served with their content types and a
 * Content-Security-Policy that allows only this origin (scripts, styles, and WebSockets to this host).
 * No bundler, no CDN, no external fonts: the pages work without any outside network.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const STATIC_DIR = new URL('./static/', import.meta.url);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(STATIC_DIR)) {
    const ext = name.slice(name.lastIndexOf('.'));
    const type = TYPES[ext];
    if (!type || !/^[a-z0-9-]+\.[a-z]+$/.test(name)) continue;
    out.set(name, { type, body: readFileSync(new URL(name, STATIC_DIR)) });
  }
  return out;
}

/**
 * Where the desk softphone (Twilio's Voice JavaScript SDK) connects, when it is on: its signalling
 * WebSocket on the `roaming` edge the desk pins, and Twilio's call-quality event gateway. Media flows
 * over WebRTC (not governed by connect-src); the SDK's ring sounds are turned off, so no media host.
 */
export const SOFTPHONE_HOSTS = ['wss://voice-js.roaming.twilio.com', 'https://eventgw.twilio.com'] as const;

/** The Voice SDK's browser bundle from the installed package (served by us: no CDN). */
function voiceSdk(): Asset {
  const main = createRequire(import.meta.url).resolve('@twilio/voice-sdk');
  return { type: TYPES['.js']!, body: readFileSync(join(dirname(main), '..', 'dist', 'twilio.min.js')) };
}

/**
 * The CSP for a page served on `host`: this origin only, plus WebSockets back to the same host, plus
 * the softphone's Twilio hosts on the desk when the softphone is on.
 */
export function contentSecurityPolicy(host: string | undefined, softphone = false): string {
  const safeHost = host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host) ? host : undefined;
  const ws = (safeHost ? ` ws://${safeHost} wss://${safeHost}` : '') + (softphone ? ` ${SOFTPHONE_HOSTS.join(' ')}` : '');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${ws}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface PagesOptions {
  /** The server's clock, for `GET /web/now` (pages compute countdowns against it). */
  now(): number;
  /** The desk softphone is on (a Twilio API key is set): the desk may reach Twilio's voice hosts. */
  softphone?: boolean;
}

export function registerWebPages(app: FastifyInstance, o: PagesOptions): void {
  const assets = loadAssets();

  // Security headers common to every response (nosniff, no framing, no referrer) come from
  // src/api/security.ts; pages bring their own CSP and may be revalidated rather than never stored.
  const serve =
    (a: Asset, softphone = false) =>
    async (req: FastifyRequest, reply: FastifyReply) =>
      reply
        .type(a.type)
        .header('content-security-policy', contentSecurityPolicy(req.headers.host, softphone))
        .header('cache-control', 'no-cache')
        .send(a.body);

  // One route per file (no wildcard): the route table lists exactly what is public.
  for (const [name, a] of assets) {
    if (name === 'desk.html') app.get('/desk', serve(a, Boolean(o.softphone)));
    else if (name === 'wallboard.html') app.get('/wallboard', serve(a));
    else if (name === 'calls.html') app.get('/calls', serve(a));
    else if (name === 'history.html') app.get('/history', serve(a));
    else if (!name.endsWith('.html')) app.get(`/web/${name}`, serve(a));
  }
  app.get('/web/vendor/twilio-voice.js', serve(voiceSdk()));
  // The server's clock: offers, wrap-ups and calls carry server times (deadline, since).
  app.get('/web/now', async (_req, reply) => reply.header('cache-control', 'no-store').send({ now: o.now() }));
}
