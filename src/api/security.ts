/**
 * HTTP hardening for every response the server sends: security headers (no sniffing, no framing, no
 * referrer, a strict Content-Security-Policy unless a page brings its own, no caching of API answers,
 * no X-Powered-By), a table of every registered route so a test can check each one's access rule, and
 * on shutdown `Connection: close` on the answers still in flight, so keep-alive connections (Twilio's,
 * a load balancer's) end with their last answer instead of holding the close open. WebSocket upgrades go
 * through one router (src/access/websocket.ts): an upgrade to a path no endpoint claims is answered 404.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { installUpgradeRouter } from '../access/websocket.js';
import { isSwitchboardError, replyError, sbError, type SwitchboardError } from '../errors.js';

/** For JSON, TwiML and metrics: nothing may be loaded, framed or submitted from them. */
export const STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface RouteInfo {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered on the app (filled by an onRoute hook installed before any route). */
    routeTable: RouteInfo[];
  }
}

/**
 * What a failure inside fastify (a body over its limit, a content type no route takes, JSON that does
 * not parse, a bug) is in the error catalogue, so those answers have the same body as ours.
 */
export function catalogued(err: FastifyError | SwitchboardError): SwitchboardError {
  if (isSwitchboardError(err)) return err;
  const status = err.statusCode ?? 500;
  if (status === 413) return sbError('payload_too_large');
  if (status === 415) return sbError('unsupported_media_type');
  if (status === 400 && (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError))
    return sbError('invalid_json', '(body)', 'not valid JSON');
  if (status >= 400 && status < 500) return sbError('invalid_params', '(request)', err.message);
  return sbError('internal');
}

/**
 * Install the headers hook, the route table, the upgrade router, and the error and not-found answers
 * from the error catalogue. Call first, before any route is registered.
 */
export function installHttpSecurity(app: FastifyInstance): void {
  installUpgradeRouter(app);
  app.setErrorHandler((err: FastifyError | SwitchboardError, req: FastifyRequest, reply: FastifyReply) => {
    const e = catalogued(err);
    if (e.statusCode >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: e.code, message: e.message }, 'request refused');
    return replyError(reply, e);
  });
  app.setNotFoundHandler((_req, reply) => replyError(reply, sbError('not_found', undefined, 'no such route')));
  const routes: RouteInfo[] = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method: String(method), url: r.url });
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
    const csp = reply.getHeader('content-security-policy');
    if (typeof csp !== 'string' || csp === '') reply.header('content-security-policy', STRICT_CSP);
    else if (!/frame-ancestors/.test(csp)) reply.header('content-security-policy', `${csp}; frame-ancestors 'none'`);
    // Pages and their assets may choose to be cached; everything else (API, TwiML, metrics) is not.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    reply.removeHeader('x-powered-by');
    return payload;
  });
}
