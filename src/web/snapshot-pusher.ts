/**
 * The pace of the wallboard's feed (src/web/supervisor-socket.ts): a snapshot is built at most once per
 * `throttleMs` however many changes are marked, one build at a time (a change during a build asks for the
 * next), and every `refreshMs` anyway so ticking values (longest wait) move. Each build is sent to every open
 * client as one serialized text.
 */
import { WebSocket } from 'ws';

export interface SnapshotPusherOptions {
  /** Build the snapshot pushed to clients (a JSON object with `type: 'snapshot'`). */
  snapshot(): Promise<Record<string, unknown>>;
  /** The signed-in clients to push to. */
  clients: ReadonlySet<WebSocket>;
  throttleMs: number;
  refreshMs: number;
  log: { warn(o: object, m: string): void };
}

export class SnapshotPusher {
  private lastPush = 0;
  private timer: NodeJS.Timeout | undefined;
  private building = false;
  private dirtyAgain = false;
  private readonly refresh: NodeJS.Timeout;

  constructor(private readonly o: SnapshotPusherOptions) {
    this.refresh = setInterval(() => {
      if (Date.now() - this.lastPush >= o.refreshMs - 50) this.markDirty();
    }, o.refreshMs);
    this.refresh.unref();
  }

  /** Something changed: push a snapshot as soon as the throttle allows (no-op without clients). */
  markDirty(): void {
    if (this.timer || this.o.clients.size === 0) return;
    this.timer = setTimeout(() => void this.push(), Math.max(0, this.lastPush + this.o.throttleMs - Date.now()));
  }

  private async push(): Promise<void> {
    this.timer = undefined;
    if (this.o.clients.size === 0) return;
    if (this.building) {
      this.dirtyAgain = true;
      return;
    }
    this.building = true;
    this.lastPush = Date.now();
    try {
      const text = JSON.stringify(await this.o.snapshot());
      for (const ws of this.o.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
    } catch (err) {
      this.o.log.warn({ err }, 'wallboard snapshot failed');
    } finally {
      this.building = false;
      if (this.dirtyAgain) {
        this.dirtyAgain = false;
        this.markDirty();
      }
    }
  }

  stop(): void {
    clearInterval(this.refresh);
    if (this.timer) clearTimeout(this.timer);
  }
}
