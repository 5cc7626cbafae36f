/**
 * Fault injection: REST failures (429 with Retry-After included), timeouts, requests held open, status
 * callbacks out of order, duplicated or (conference) dropped.
 */
import type { FailRestOptions, HoldRestOptions, RestFaultMatch, StatusCallbackFaults, TimeoutRestOptions } from './types.js';

export type RestFault =
  | { kind: 'fail'; status: number; code: number; message: string; delayMs: number; retryAfterSeconds?: number }
  | { kind: 'timeout'; afterMs: number; execute: boolean }
  | { kind: 'hold' };

interface Pending {
  remaining: number;
  match?: RestFaultMatch;
  fault: RestFault;
}

const DEFAULT_CODES: Record<number, [number, string]> = {
  500: [20500, 'Internal Server Error'],
  503: [20503, 'Service Unavailable'],
  429: [20429, 'Too Many Requests'],
  400: [20001, 'Bad Request'],
  404: [20404, 'The requested resource was not found'],
};

export class Faults {
  /** Mutable: e.g. `emu.faults.statusCallbacks.shuffle = true`. */
  statusCallbacks: StatusCallbackFaults = { shuffle: false, duplicate: 0, dropConference: false };
  private pending: Pending[] = [];

  /** The next `count` matching REST requests fail with `status` (not executed). */
  failNextRest(o: FailRestOptions = {}): void {
    const status = o.status ?? 500;
    const [code, message] = DEFAULT_CODES[status] ?? [20500, 'Internal Server Error'];
    this.pending.push({
      remaining: o.count ?? 1,
      match: o.match,
      fault: {
        kind: 'fail',
        status,
        code: o.code ?? code,
        message: o.message ?? message,
        delayMs: o.delayMs ?? 0,
        ...(o.retryAfterSeconds !== undefined ? { retryAfterSeconds: o.retryAfterSeconds } : {}),
      },
    });
  }

  /**
   * The next `count` matching REST requests are held open: read, never answered and never closed by the
   * emulator (a stalled connection, which no timeout of the server's network stack ends), until the
   * client gives up and closes it (or the emulator closes). Not carried out. The request stays in flight,
   * so virtual time does not move past it: what ends it is the client's own (real-time) timeout.
   */
  holdNextRest(o: HoldRestOptions = {}): void {
    this.pending.push({ remaining: o.count ?? 1, match: o.match, fault: { kind: 'hold' } });
  }

  /**
   * The next `count` matching REST requests get no answer: the socket is destroyed after `afterMs` of clock
   * time. With `execute: true` the operation is carried out anyway (the client cannot tell).
   */
  timeoutNextRest(o: TimeoutRestOptions & { execute?: boolean } = {}): void {
    this.pending.push({
      remaining: o.count ?? 1,
      match: o.match,
      fault: { kind: 'timeout', afterMs: o.afterMs ?? 15_000, execute: o.execute ?? false },
    });
  }

  /** Forget all pending REST faults and reset the status callback modes. */
  clear(): void {
    this.pending = [];
    this.statusCallbacks = { shuffle: false, duplicate: 0, dropConference: false };
  }

  /** @internal Consume the fault for this request, if one matches. */
  take(method: string, path: string): RestFault | undefined {
    for (const p of this.pending) {
      if (p.remaining <= 0) continue;
      const m = p.match;
      if (m?.method && m.method.toUpperCase() !== method.toUpperCase()) continue;
      if (m?.path !== undefined) {
        const ok = typeof m.path === 'string' ? path.includes(m.path) : m.path.test(path);
        if (!ok) continue;
      }
      p.remaining--;
      this.pending = this.pending.filter((x) => x.remaining > 0);
      return p.fault;
    }
    return undefined;
  }
}
