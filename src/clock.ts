/**
 * The one way time enters Switchboard. Handlers, Lua scripts (which get `now` as an argument) and the
 * Twilio emulator all read this clock, so a day of traffic can be replayed in virtual time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolve after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** Run `fn` after `ms` of this clock's time; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * Virtual time: nothing moves until `advance` (or `runUntilIdle`) is called. Timers fire in time order,
 * and between timers the event loop gets to drain, so real I/O (HTTP, Redis) started by one timer
 * completes before the clock moves past it.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.setTimer(ms, resolve);
    });
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  private nextTimer(): Timer | undefined {
    this.timers = this.timers.filter((x) => !x.cancelled);
    let best: Timer | undefined;
    for (const x of this.timers) {
      if (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x;
    }
    return best;
  }

  /**
   * Move time forward by `ms`, firing due timers in order. `settle` is awaited after each timer so the
   * I/O it started (webhooks, Redis) finishes in "zero" virtual time.
   */
  async advance(ms: number, settle: () => Promise<void> = defaultSettle): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.nextTimer();
      if (!next || next.at > end) break;
      this.t = Math.max(this.t, next.at);
      next.cancelled = true;
      next.fn();
      await settle();
    }
    this.t = end;
  }
}

/** Let pending promise chains and socket I/O run: a few macrotask turns. */
export async function defaultSettle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
