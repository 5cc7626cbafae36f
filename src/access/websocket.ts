/**
 * What the two WebSocket endpoints (the agent socket, the supervisor socket) share, so both follow the
 * same rules:
 * - one router for HTTP upgrades: each endpoint claims its path (a query string is fine); an upgrade to
 *   any other path is answered 404 and its socket destroyed, never left hanging;
 * - the upgrade itself is refused with 429 while the client address's failed-token budget is spent;
 * - frames: text JSON only (a binary frame is answered `invalid_json`), at most `maxPayload` bytes (a
 *   bigger frame closes the socket with 1009, before it is buffered whole), no compression;
 * - before sign-in: closed with 4401 when no hello came within the hello timeout, and after
 *   `MAX_UNAUTHENTICATED_MESSAGES` frames (of any kind) without a sign-in.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { httpBody, sbError, socketError, type SocketError, type SwitchboardError } from '../errors.js';
import type { Authenticator } from './auth.js';
import { clientAddress } from './rate-limit.js';

export const MAX_UNAUTHENTICATED_MESSAGES = 16;
export const HELLO_TIMEOUT_MS = 10_000;

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void | Promise<void>;

export interface UpgradeRouter {
  /** Take upgrades to `path` (matched without the query string); returns the function that lets go. */
  add(path: string, handler: UpgradeHandler): () => void;
  paths(): string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The one `upgrade` listener of the app's server (installed by installHttpSecurity). */
    upgrades: UpgradeRouter;
  }
}

/**
 * Write a complete HTTP error answer on an upgrade's raw socket and close it: the catalogue's status and
 * JSON body (and Retry-After when the error has one), the same hardening headers as every other answer;
 * the socket is destroyed once the answer is written.
 */
export function refuseUpgrade(socket: Duplex, reason: string, e: SwitchboardError): void {
  const text = JSON.stringify(httpBody(e));
  const status = e.statusCode;
  const extra = e.details.retryAfterSeconds !== undefined ? `Retry-After: ${e.details.retryAfterSeconds}\r\n` : '';
  socket.on('error', () => {});
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
      `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${text}`,
    () => socket.destroy(),
  );
}

/** Install the app's upgrade router: one listener, so an upgrade nobody claims is answered, not dropped. */
export function installUpgradeRouter(app: FastifyInstance): UpgradeRouter {
  const routes = new Map<string, UpgradeHandler>();
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const handler = routes.get(path);
    if (!handler) {
      refuseUpgrade(socket, 'Not Found', sbError('not_found', undefined, 'no WebSocket endpoint at this path'));
      return;
    }
    try {
      const p = handler(req, socket, head);
      if (p) p.catch((err: unknown) => fail(err, socket));
    } catch (err) {
      fail(err, socket);
    }
  });
  const fail = (err: unknown, socket: Duplex) => {
    app.log.error({ err }, 'WebSocket upgrade failed');
    refuseUpgrade(socket, 'Service Unavailable', sbError('unavailable', undefined, 'try again'));
  };
  const router: UpgradeRouter = {
    add(path, handler) {
      if (routes.has(path)) throw new Error(`upgrade path ${path} is taken`);
      routes.set(path, handler);
      return () => {
        if (routes.get(path) === handler) routes.delete(path);
      };
    },
    paths: () => [...routes.keys()],
  };
  app.decorate('upgrades', router);
  return router;
}

/** A WebSocket server for one endpoint: frames up to `maxPayload` bytes, no compression. */
export function socketServer(maxPayload: number): WebSocketServer {
  return new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
}

/**
 * Claim `path` on the app's upgrade router: refuse the upgrade with 429 while the client address may
 * not sign in, else hand the socket to `onConnection`.
 */
export function acceptUpgrades(o: {
  app: FastifyInstance;
  path: string;
  wss: WebSocketServer;
  auth: Authenticator;
  onConnection: (ws: WebSocket, req: IncomingMessage) => void;
}): () => void {
  return o.app.upgrades.add(o.path, async (req, socket, head) => {
    const gate = await o.auth.limits.signIn.check(clientAddress(req));
    if (!gate.ok) {
      o.auth.limits.limited('sign_in');
      refuseUpgrade(socket, 'Too Many Requests', signInLimited(gate.retryAfterSeconds));
      return;
    }
    if (socket.destroyed) return;
    o.wss.handleUpgrade(req, socket, head, (ws) => o.onConnection(ws, req));
  });
}

/** The answer to a binary frame or a text frame that is not JSON. */
export const invalidJson = (): SocketError => socketError(sbError('invalid_json'), undefined, '(message)');

/** Sign-ins from this client address are refused until its failed-token budget refills. */
export const signInLimited = (retryAfterSeconds: number): SwitchboardError =>
  sbError('rate_limited', 'token', `too many failed sign-ins; retry after ${retryAfterSeconds} s`, {
    limiter: 'sign_in',
    retryAfterSeconds,
  });

/** The JSON value of a text frame, or undefined for a binary frame or text that is not JSON. */
export function parseFrame(data: RawData, isBinary: boolean): { value: unknown } | undefined {
  if (isBinary) return undefined;
  try {
    return { value: JSON.parse(data.toString()) as unknown };
  } catch {
    return undefined;
  }
}

export interface SignInGuard {
  readonly signedIn: boolean;
  /** The socket signed in: the hello timeout and the message cap no longer apply. */
  signIn(): void;
  /**
   * Handle one frame: run it, then close the socket with 4401 when it was the last frame allowed
   * without a sign-in. Frames are counted in the order they are handled.
   */
  frame(handle: () => void | Promise<void>): Promise<void>;
}

/** The rules for a socket that has not signed in yet (hello timeout, message cap). */
export function signInGuard(ws: WebSocket, o: { helloTimeoutMs?: number | undefined; maxMessages?: number } = {}): SignInGuard {
  const max = o.maxMessages ?? MAX_UNAUTHENTICATED_MESSAGES;
  let signedIn = false;
  let count = 0;
  const timer = setTimeout(() => {
    if (!signedIn) ws.close(4401, 'hello timeout');
  }, o.helloTimeoutMs ?? HELLO_TIMEOUT_MS);
  ws.once('close', () => clearTimeout(timer));
  return {
    get signedIn() {
      return signedIn;
    },
    signIn() {
      signedIn = true;
      clearTimeout(timer);
    },
    async frame(handle) {
      const counted = !signedIn;
      if (counted) count++;
      await handle();
      // A socket that keeps talking without signing in is not a client of ours.
      if (counted && !signedIn && count >= max) ws.close(4401, 'unauthorized');
    },
  };
}
