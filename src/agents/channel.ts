/**
 * The agent WebSocket endpoint (`/agent/ws`). Agents authenticate with their token (a `hello` message,
 * or `?token=` on the URL), then send commands; every message is validated and answered. Messages for an
 * agent travel through Redis pub/sub, so an agent connected to any instance receives what any other
 * instance decided. The channel knows nothing about queues: it hands commands to `AgentCommands`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Authenticator } from '../api/auth.js';
import { clientAddress } from '../api/rate-limit.js';
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
  /** Run one command; the reply (ack or error) is sent back on the same socket. */
  command(agentId: string, msg: Exclude<ClientMessage, { type: 'hello' | 'ping' }>): Promise<ServerMessage>;
}

export interface AgentChannel {
  /** Deliver a message to an agent wherever it is connected (through Redis pub/sub). */
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
  /** Close sockets that have not said hello after this long. */
  helloTimeoutMs?: number;
  log: FastifyInstance['log'];
}

const MAX_MESSAGE_BYTES = 16 * 1024;
const MAX_UNAUTHENTICATED_MESSAGES = 16;

/** Attach the agent WebSocket endpoint to the app's HTTP server. */
export async function createAgentChannel(o: ChannelOptions): Promise<AgentChannel> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sockets = new Map<string, Set<WebSocket>>();
  const sub = o.redis.duplicate();
  sub.on('error', () => {});

  const deliverLocal = (agentId: string, msg: ServerMessage) => {
    const set = sockets.get(agentId);
    if (!set) return;
    const text = JSON.stringify(msg);
    for (const ws of set) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };

  await sub.subscribe(o.channelName);
  sub.on('message', (_ch: string, raw: string) => {
    try {
      const { agentId, msg } = JSON.parse(raw) as { agentId: string; msg: ServerMessage };
      deliverLocal(agentId, msg);
    } catch (err) {
      o.log.warn({ err }, 'bad message on the agent channel');
    }
  });

  const reply = (ws: WebSocket, msg: ServerMessage) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    let agentId: string | undefined;
    let busy = Promise.resolve();
    let unauthenticatedMessages = 0;
    const ip = clientAddress(req);
    const urlToken = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;

    const authenticate = async (token: string | undefined, ref?: string) => {
      // Failed tokens are counted per client address; once its budget is spent, sign-ins from it are
      // refused (even with a good token) until the bucket refills.
      const gate = o.auth.limits.signIn.check(ip);
      if (!gate.ok) {
        o.auth.limits.limited('sign_in');
        reply(ws, { type: 'error', code: 'rate_limited', field: 'token', message: `token: too many failed sign-ins; retry after ${gate.retryAfterSeconds} s`, retryAfterMs: gate.retryAfterSeconds * 1000, ...(ref ? { ref } : {}) });
        ws.close(4429, 'rate limited');
        return;
      }
      const p = o.auth.identify(token);
      if (!p || p.scope !== 'agent' || !p.agentId) {
        o.auth.limits.signIn.take(ip);
        reply(ws, { type: 'error', code: 'unauthorized', field: 'token', message: 'token: not a valid agent token', ...(ref ? { ref } : {}) });
        ws.close(4401, 'unauthorized');
        return;
      }
      agentId = p.agentId;
      let set = sockets.get(agentId);
      if (!set) sockets.set(agentId, (set = new Set()));
      set.add(ws);
      clearTimeout(helloTimer);
      const welcome = await o.commands.connected(agentId, o.instance);
      reply(ws, welcome);
      if (welcome.type === 'welcome' && o.commands.resume) for (const m of await o.commands.resume(agentId)) reply(ws, m);
    };

    const helloTimer = setTimeout(() => {
      if (!agentId) ws.close(4401, 'hello timeout');
    }, o.helloTimeoutMs ?? 10_000);

    if (urlToken) busy = busy.then(() => authenticate(urlToken)).catch((err: unknown) => o.log.error({ err }, 'agent connect failed'));

    ws.on('message', (data: RawData, isBinary: boolean) => {
      // Commands from one socket run in order.
      busy = busy.then(async () => {
        let parsed: unknown;
        try {
          if (isBinary) throw new Error('binary');
          parsed = JSON.parse(data.toString());
        } catch {
          reply(ws, { type: 'error', code: 'invalid_json', field: '(message)', message: 'messages are JSON text objects' });
          return;
        }
        const ref = typeof parsed === 'object' && parsed && typeof (parsed as { ref?: unknown }).ref === 'string' ? ((parsed as { ref: string }).ref.slice(0, 64)) : undefined;
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
          if (agentId) reply(ws, { type: 'error', code: 'already_authenticated', field: 'type', message: 'hello: already signed in' });
          else await authenticate(msg.token, ref);
          return;
        }
        if (!agentId) {
          reply(ws, { type: 'error', code: 'unauthorized', field: 'type', message: 'send hello with your token first' });
          // A socket that keeps talking without signing in is not an agent.
          if (++unauthenticatedMessages >= MAX_UNAUTHENTICATED_MESSAGES) ws.close(4401, 'unauthorized');
          return;
        }
        try {
          reply(ws, await o.commands.command(agentId, msg));
        } catch (err) {
          o.log.error({ err, type: msg.type }, 'agent command failed');
          reply(ws, { type: 'error', code: 'unavailable', message: 'the command could not be completed; try again', ...(ref ? { ref } : {}) });
        }
      });
    });

    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (!agentId) return;
      const set = sockets.get(agentId);
      set?.delete(ws);
      if (set && set.size === 0) {
        sockets.delete(agentId);
        const id = agentId;
        void o.commands.disconnected(id, o.instance).catch((err: unknown) => o.log.error({ err }, 'agent disconnect handling failed'));
      }
    });
    ws.on('error', () => {});
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/agent/ws') return;
    const gate = o.auth.limits.signIn.check(clientAddress(req));
    if (!gate.ok) {
      o.auth.limits.limited('sign_in');
      const body = JSON.stringify({ error: 'rate_limited', limiter: 'sign_in', retryAfterSeconds: gate.retryAfterSeconds });
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${gate.retryAfterSeconds}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  };
  o.app.server.on('upgrade', onUpgrade);

  return {
    async send(agentId, msg) {
      await o.redis.publish(o.channelName, JSON.stringify({ agentId, msg }));
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
      o.app.server.off('upgrade', onUpgrade);
      for (const [, set] of sockets) for (const ws of set) ws.terminate();
      sockets.clear();
      wss.close();
      sub.disconnect();
    },
  };
}
