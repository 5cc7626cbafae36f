/** A small agent-socket client for security and fuzz tests: every request waits for its one reply. */
import WebSocket from 'ws';

export const REPLY_TYPES = new Set(['ack', 'error', 'pong', 'welcome']);

export class Sock {
  readonly messages: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: ((m: Record<string, unknown> | undefined) => void)[] = [];
  private closeWaiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      this.messages.push(m);
      if (REPLY_TYPES.has(String(m.type)) || m.type === 'reconnect') this.waiters.shift()?.(m);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w(undefined);
      for (const w of this.closeWaiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<Sock> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const s = new Sock(ws);
      ws.once('open', () => resolve(s));
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { statusCode: res.statusCode, headers: res.headers })),
      );
      ws.once('error', reject);
    });
  }

  /** Send a frame and wait for the reply (ack, error, pong, welcome), or undefined if the socket closed. */
  request(frame: string | Buffer, binary = false): Promise<Record<string, unknown> | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const p = new Promise<Record<string, unknown> | undefined>((resolve) => this.waiters.push(resolve));
    this.ws.send(frame, { binary });
    return p;
  }

  whenClosed(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.closeWaiters.push(() => resolve(this.closed!)));
  }

  close(): void {
    this.ws.close();
  }
}
