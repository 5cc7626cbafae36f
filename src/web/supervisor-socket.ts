/**
 * The supervisor WebSocket (`/supervisor/ws`, protocol in docs/supervisor-socket.md): the wallboard's
 * live feed. A client sends `{type:"hello", token}` with a supervisor-scoped token (browsers cannot set
 * headers) and gets a `snapshot` at once, then a new snapshot whenever something changed (throttled to at
 * most one per `throttleMs`) and every `refreshMs` anyway, so ticking values (longest wait) move.
 *
 * "Something changed" is a domain event on this instance's bus, or a notice on the Redis live channel
 * from another instance (each instance publishes one notice per throttle period while events flow), so a
 * wallboard connected to any instance follows the calls of all of them.
 *
 * Sign-in rules, frame rules and the upgrade (404 elsewhere, 429 while the address may not sign in) are
 * those of the agent socket, from src/access/websocket.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import type { Authenticator } from '../access/auth.js';
import { clientAddress } from '../access/rate-limit.js';
import {
  acceptUpgrades,
  invalidJson,
  parseFrame,
  signInGuard,
  signInLimited,
  socketServer,
  type SignInGuard,
} from '../access/websocket.js';
import { fromZod, sbError, socketError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { RedisClient } from '../store/redis.js';
import { SnapshotPusher } from './snapshot-pusher.js';

export const SUPERVISOR_WS_PATH = '/supervisor/ws';

const clientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), token: z.string().min(1).max(512) }).strict(),
  z.object({ type: z.literal('ping') }).strict(),
]);

export interface SupervisorSocketOptions {
  app: FastifyInstance;
  redis: RedisClient;
  /** Redis pub/sub channel for "something changed" notices between instances. */
  liveChannel: string;
  instance: string;
  auth: Authenticator;
  bus: EventBus;
  /** Build the snapshot pushed to clients (a JSON object with `type: 'snapshot'`). */
  snapshot(): Promise<Record<string, unknown>>;
  /** At most one pushed snapshot per this many ms (default 500). */
  throttleMs?: number;
  /** Push a fresh snapshot at least this often while clients are connected (default 5000 ms). */
  refreshMs?: number;
  /** Close sockets that have not said hello after this long (default 10 s). */
  helloTimeoutMs?: number;
  log: FastifyInstance['log'];
}

export interface SupervisorSocket {
  /** Authenticated clients on this instance. */
  clients(): number;
  close(): Promise<void>;
}

/** Clients send only hello and ping: a bigger frame closes the socket with 1009 (src/access/websocket.ts). */
const MAX_MESSAGE_BYTES = 4 * 1024;

export async function createSupervisorSocket(o: SupervisorSocketOptions): Promise<SupervisorSocket> {
  const throttleMs = o.throttleMs ?? 500;
  const wss = socketServer(MAX_MESSAGE_BYTES);
  const clients = new Set<WebSocket>();
  const sub = o.redis.duplicate();
  sub.on('error', () => {});
  const pusher = new SnapshotPusher({ snapshot: o.snapshot, clients, throttleMs, refreshMs: o.refreshMs ?? 5000, log: o.log });

  // Telling other instances: one notice per throttle period while local events flow.
  let lastNotice = 0;
  let noticeTimer: NodeJS.Timeout | undefined;
  const notify = () => {
    if (noticeTimer) return;
    noticeTimer = setTimeout(
      () => {
        noticeTimer = undefined;
        lastNotice = Date.now();
        o.redis.publish(o.liveChannel, o.instance).catch(() => {});
      },
      Math.max(0, lastNotice + throttleMs - Date.now()),
    );
  };
  const offBus = o.bus.onDomain(() => {
    pusher.markDirty();
    notify();
  });
  await sub.subscribe(o.liveChannel);
  sub.on('message', (_ch: string, from: string) => {
    if (from !== o.instance) pusher.markDirty();
  });

  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    const conn: Connection = { ws, guard: signInGuard(ws, { helloTimeoutMs: o.helloTimeoutMs }), ip: clientAddress(req) };
    let busy = Promise.resolve();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Frames are handled in order; before sign-in they count against the cap.
      busy = busy
        .then(() => conn.guard.frame(() => handleFrame(o, clients, conn, data, isBinary)))
        .catch((err: unknown) => o.log.warn({ err }, 'supervisor socket message failed'));
    });
    ws.on('close', () => {
      clients.delete(ws);
    });
    ws.on('error', () => {});
  };

  const release = acceptUpgrades({ app: o.app, path: SUPERVISOR_WS_PATH, wss, auth: o.auth, onConnection });

  return {
    clients: () => clients.size,
    async close() {
      release();
      offBus();
      pusher.stop();
      if (noticeTimer) clearTimeout(noticeTimer);
      // Tell wallboards to reconnect (the page does it by itself), then drop every socket.
      for (const ws of clients) send(ws, { type: 'reconnect', reason: 'server shutting down', afterMs: 500 });
      for (const ws of wss.clients) ws.terminate();
      clients.clear();
      wss.close();
      sub.disconnect();
    },
  };
}

function send(ws: WebSocket, msg: object): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

/** One client's socket, its sign-in guard and the address its failed tokens count against. */
interface Connection {
  ws: WebSocket;
  guard: SignInGuard;
  ip: string;
}

/** One frame from a client: ping, or the hello that signs it in (then it gets a snapshot at once). */
async function handleFrame(
  o: SupervisorSocketOptions,
  clients: Set<WebSocket>,
  { ws, guard, ip }: Connection,
  data: RawData,
  isBinary: boolean,
): Promise<void> {
  const frame = parseFrame(data, isBinary);
  if (!frame) {
    send(ws, invalidJson());
    return;
  }
  const m = clientMessage.safeParse(frame.value);
  if (!m.success) {
    send(ws, socketError(fromZod(m.error, 'type')));
    return;
  }
  if (m.data.type === 'ping') {
    send(ws, { type: 'pong' });
    return;
  }
  if (guard.signedIn) {
    send(ws, socketError(sbError('already_authenticated'), undefined, 'type'));
    return;
  }
  // The same failed-token budget per client address as the agent socket and the API.
  const gate = await o.auth.limits.signIn.check(ip);
  if (!gate.ok) {
    o.auth.limits.limited('sign_in');
    send(ws, socketError(signInLimited(gate.retryAfterSeconds)));
    ws.close(4429, 'rate limited');
    return;
  }
  const p = o.auth.identify(m.data.token);
  if (!p || p.scope !== 'supervisor') {
    await o.auth.limits.signIn.take(ip);
    send(ws, socketError(sbError('unauthorized', 'token', 'not a valid supervisor token')));
    ws.close(4401, 'unauthorized');
    return;
  }
  // The socket may have closed while the limit was consulted.
  if (ws.readyState !== WebSocket.OPEN) return;
  guard.signIn();
  clients.add(ws);
  void o
    .snapshot()
    .then((s) => send(ws, s))
    .catch((err: unknown) => o.log.warn({ err }, 'wallboard snapshot failed'));
}
