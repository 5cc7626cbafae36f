/**
 * The server's logging: pino options that keep phone numbers out of logs, and request lines only for what
 * needs a look at the default level.
 */
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

/** Pino options that keep phone numbers out of logs: bodies are never logged, headers are trimmed. */
export const loggerOptions = (level: string): FastifyServerOptions['logger'] => ({
  level,
  redact: { paths: ['req.headers.authorization', 'req.headers["x-twilio-signature"]', 'body', 'params.From', 'params.To'], remove: true },
  serializers: {
    req: (req: { method: string; routeOptions?: { url?: string }; url: string; id: string }) => ({
      method: req.method,
      // The route pattern, not the URL: query strings may carry caller-supplied values.
      route: req.routeOptions?.url ?? req.url.split('?')[0],
      id: req.id,
    }),
  },
});

/** A request slower than this is logged at warn whatever the level (the webhook budget is 1.5 s). */
export const SLOW_REQUEST_MS = 1000;

/**
 * Request logging that costs nothing at the default level: fastify's two info lines per request (incoming,
 * completed) cost more CPU than a webhook's own work. Per-request lines ("incoming request", "request
 * completed" with route, status and time) are debug; at info and above only what needs a look is
 * written: a refused request (4xx) at info, a failed one (5xx, or an error) at error, and any request slower
 * than SLOW_REQUEST_MS at warn. Fastify's other lines (its error handler, 404s) are unchanged.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const ms = reply.elapsedTime;
    const status = reply.statusCode;
    if (error || status >= 500) reply.log.error({ req: request, status, ms, ...(error ? { err: error } : {}) }, 'request failed');
    else if (ms >= SLOW_REQUEST_MS) reply.log.warn({ req: request, status, ms }, 'slow request');
    else if (status >= 400) reply.log.info({ req: request, status, ms }, 'request refused');
    else reply.log.debug({ req: request, status, ms }, 'request completed');
  }
}
