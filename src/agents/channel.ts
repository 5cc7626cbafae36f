/**
 * The agent WebSocket endpoint (`/agent/ws`). Agents authenticate with their token (a `hello` message,
 * or `?token=` on the URL), then send commands; every message is validated and answered. Messages for an
 * agent go at once to its sockets on this instance and through Redis pub/sub to the other instances, so
 * an agent connected to any instance receives what any instance decided. The channel knows nothing about queues: it hands commands to `AgentCommands`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { WebSocket, type RawData } from 'ws';
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
import { sbError, socketError, SwitchboardError } from '../errors.js';
import type { RedisClient } from '../store/redis.js';
import { clientMessage, protocolError, type ClientMessage, type ServerMessage } from './protocol.js';

export interface AgentCommands {
  /** The agent's socket is authenticated: returns the welcome message. */
  connected(agentId: string, instance: string): Promise<ServerMessage>;
  /**
   * What a (re)connecting desk needs to show the agent's current work: the open offer, the call, the
   * wrap-up, and any transfer in progress, sent right after `welcome`.
   */
  resume?(agentId: string): Promise<ServerMessage[]>;
  /** The agent's last socket on this instance closed. */
  disconnected(agentId: string, instance: string): Promise<void>;
  /** Run one command; the reply (ack or error) is sent back on the same socket. A SwitchboardError it throws becomes a socket error. */
  command(agentId: string, msg: Exclude<ClientMessage, { type: 'hello' | 'ping' }>): Promise<ServerMessage>;
}

export interface AgentChannel {
  /** Deliver a message to an agent wherever it is connected (its sockets here at once, other instances through Redis pub/sub). */
  send(agentId: string, msg: ServerMessage): Promise<void>;
  /** Agents with a socket on this instance. */
  localAgents(): string[];
  /** Tell every local agent to reconnect elsewhere and close their sockets (graceful shutdown). */
  drain(reason: string): Promise<void>;
  close(): Promise<void>;
}

export interface ChannelOptions {
  app: FastifyInstance;
  redis: RedisClient;
  channelName: string;
  instance: string;
  auth: Authenticator;
  commands: AgentCommands;
  /** Close sockets that have not said hello after this long (default 10 s). */
  helloTimeoutMs?: number;
  log: FastifyInstance['log'];
}

export const AGENT_WS_PATH = '/agent/ws';
const MAX_MESSAGE_BYTES = 16 * 1024;

/** Attach the agent WebSocket endpoint to the app's HTTP server. */
export async function createAgentChannel(o: ChannelOptions): Promise<AgentChannel> {
  const wss = socketServer(MAX_MESSAGE_BYTES);
  const sockets: Sockets = new Map();
  const sub = o.redis.duplicate();
  sub.on('error', () => {});
  // What this channel published is on its own sockets already: it skips its own messages on the way back.
  // (Per channel, not the instance name: tests run several instances in one process.)
  const origin = randomBytes(9).toString('base64url');

  const deliverLocal = (agentId: string, text: string) => {
    const set = sockets.get(agentId);
    if (!set) return;
    for (const ws of set) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };

  await sub.subscribe(o.channelName);
  sub.on('message', (_ch: string, raw: string) => {
    try {
      const { agentId, msg, from } = JSON.parse(raw) as { agentId: string; msg: ServerMessage; from?: string };
      if (from !== origin) deliverLocal(agentId, JSON.stringify(msg));
    } catch (err) {
      o.log.warn({ err }, 'bad message on the agent channel');
    }
  });

  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    const conn: Connection = { ws, guard: signInGuard(ws, { helloTimeoutMs: o.helloTimeoutMs }), ip: clientAddress(req) };
    let busy = Promise.resolve();
    const urlToken = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
    if (urlToken)
      busy = busy
        .then(() => authenticate(o, sockets, conn, urlToken))
        .catch((err: unknown) => o.log.error({ err }, 'agent connect failed'));

    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Frames from one socket are handled in order; before sign-in they count against the cap.
      busy = busy
        .then(() => conn.guard.frame(() => handleFrame(o, sockets, conn, data, isBinary)))
        .catch((err: unknown) => o.log.error({ err }, 'agent message failed'));
    });

    ws.on('close', () => {
      const agentId = conn.agentId;
      if (!agentId) return;
      const set = sockets.get(agentId);
      set?.delete(ws);
      if (set && set.size === 0) {
        sockets.delete(agentId);
        void o.commands.disconnected(agentId, o.instance).catch((err: unknown) => o.log.error({ err }, 'agent disconnect handling failed'));
      }
    });
    ws.on('error', () => {});
  };

  const release = acceptUpgrades({ app: o.app, path: AGENT_WS_PATH, wss, auth: o.auth, onConnection });

  return {
    async send(agentId, msg) {
      // The agent's sockets here get it now (an offer does not wait for a round trip through Redis);
      // the publish reaches its sockets on other instances.
      const text = JSON.stringify(msg);
      deliverLocal(agentId, text);
      await o.redis.publish(o.channelName, `{"agentId":${JSON.stringify(agentId)},"from":"${origin}","msg":${text}}`);
    },
    localAgents: () => [...sockets.keys()],
    async drain(reason) {
      for (const [, set] of sockets) {
        for (const ws of set) {
          reply(ws, { type: 'reconnect', reason, afterMs: 500 });
          ws.close(1012, 'server restarting');
        }
      }
    },
    async close() {
      release();
      for (const [, set] of sockets) for (const ws of set) ws.terminate();
      sockets.clear();
      wss.close();
      sub.disconnect();
    },
  };
}

/** Each signed-in agent's sockets on this instance (a desk may have several). */
type Sockets = Map<string, Set<WebSocket>>;

/** One socket: its sign-in guard, the address its failed tokens count against, and the agent once signed in. */
interface Connection {
  ws: WebSocket;
  guard: SignInGuard;
  ip: string;
  agentId?: string;
}

function reply(ws: WebSocket, msg: ServerMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

/** A hello (or the URL's token): sign the socket in as its agent, then welcome it and resume its work. */
async function authenticate(o: ChannelOptions, sockets: Sockets, conn: Connection, token: string | undefined, ref?: string): Promise<void> {
  const { ws, ip } = conn;
  // Failed tokens are counted per client address; once its budget is spent, sign-ins from it are
  // refused (even with a good token) until the bucket refills.
  const gate = await o.auth.limits.signIn.check(ip);
  if (!gate.ok) {
    o.auth.limits.limited('sign_in');
    reply(ws, socketError(signInLimited(gate.retryAfterSeconds), ref));
    ws.close(4429, 'rate limited');
    return;
  }
  const p = o.auth.identify(token);
  if (!p || p.scope !== 'agent' || !p.agentId) {
    await o.auth.limits.signIn.take(ip);
    reply(ws, socketError(sbError('unauthorized', 'token', 'not a valid agent token'), ref));
    ws.close(4401, 'unauthorized');
    return;
  }
  // The socket may have closed while the limit was consulted.
  if (ws.readyState !== WebSocket.OPEN) return;
  const agentId = p.agentId;
  conn.agentId = agentId;
  let set = sockets.get(agentId);
  if (!set) sockets.set(agentId, (set = new Set()));
  set.add(ws);
  conn.guard.signIn();
  const welcome = await o.commands.connected(agentId, o.instance);
  reply(ws, welcome);
  if (welcome.type === 'welcome' && o.commands.resume) for (const m of await o.commands.resume(agentId)) reply(ws, m);
}

/** One frame: ping, hello, or a command of the signed-in agent (its errors become socket errors naming the field). */
async function handleFrame(o: ChannelOptions, sockets: Sockets, conn: Connection, data: RawData, isBinary: boolean): Promise<void> {
  const { ws } = conn;
  const frame = parseFrame(data, isBinary);
  if (!frame) {
    reply(ws, invalidJson());
    return;
  }
  const parsed = frame.value;
  const ref =
    typeof parsed === 'object' && parsed && typeof (parsed as { ref?: unknown }).ref === 'string'
      ? (parsed as { ref: string }).ref.slice(0, 64)
      : undefined;
  const m = clientMessage.safeParse(parsed);
  if (!m.success) {
    reply(ws, protocolError(m.error, ref));
    return;
  }
  const msg = m.data;
  if (msg.type === 'ping') {
    reply(ws, { type: 'pong', now: Date.now(), ...(ref ? { ref } : {}) });
    return;
  }
  if (msg.type === 'hello') {
    if (conn.agentId) reply(ws, socketError(sbError('already_authenticated'), ref, 'type'));
    else await authenticate(o, sockets, conn, msg.token, ref);
    return;
  }
  if (!conn.agentId) {
    reply(ws, socketError(sbError('unauthorized', undefined, 'send hello with your token first'), ref, 'type'));
    return;
  }
  try {
    reply(ws, await o.commands.command(conn.agentId, msg));
  } catch (err) {
    // A store or service error the command threw: the agent is told what and which field.
    if (err instanceof SwitchboardError) {
      reply(ws, socketError(err, ref, 'type'));
      return;
    }
    o.log.error({ err, type: msg.type }, 'agent command failed');
    reply(ws, socketError(sbError('unavailable'), ref));
  }
}
