/**
 * Twilio call queues (`<Enqueue>`, `<Dial><Queue>`, the Queue and Member REST resources): named FIFO
 * queues that live for the emulator's lifetime, default max size 1000.
 */
import type { Clock } from '../../clock.js';
import type { Bridge } from './bridge.js';
import type { Call } from './call.js';
import type { Random } from './random.js';
import { deferred, race, type Deferred, type Scope } from './scope.js';
import type { HttpMethod } from './types.js';

export type MemberOutcome =
  | { type: 'bridged'; bridge: Bridge; dequeuer: Call; url?: string; method: HttpMethod }
  | { type: 'leave' }
  | { type: 'hangup' }
  | { type: 'error' };

export interface QueueMember {
  call: Call;
  queue: EmuQueue;
  enqueuedAt: number;
  leftAt?: number;
  /** Set synchronously when the member can no longer be dequeued. */
  gone: boolean;
  outcome: Deferred<MemberOutcome>;
}

interface Waiter {
  resolve: (m: QueueMember | null) => void;
}

export class EmuQueue {
  readonly members: QueueMember[] = [];
  updatedAt: number;
  /** Totals since creation, for observability. */
  readonly stats = { enqueued: 0, dequeued: 0, left: 0 };
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly sid: string,
    readonly friendlyName: string,
    public maxSize: number,
    readonly createdAt: number,
  ) {
    this.updatedAt = createdAt;
  }

  get size(): number {
    return this.members.length;
  }

  isFull(): boolean {
    return this.members.length >= this.maxSize;
  }

  /** 1-based position, 0 when not a member. */
  position(m: QueueMember): number {
    return this.members.indexOf(m) + 1;
  }

  find(callSid: string): QueueMember | undefined {
    return this.members.find((m) => m.call.sid === callSid);
  }

  /** Average wait in seconds of the current members (Twilio's average_wait_time). */
  averageWaitS(now: number): number {
    if (this.members.length === 0) return 0;
    const total = this.members.reduce((s, m) => s + (now - m.enqueuedAt), 0);
    return Math.round(total / this.members.length / 1000);
  }

  add(call: Call, now: number): QueueMember {
    const m: QueueMember = { call, queue: this, enqueuedAt: now, gone: false, outcome: deferred<MemberOutcome>() };
    this.members.push(m);
    this.stats.enqueued++;
    this.updatedAt = now;
    const w = this.waiters.shift();
    if (w) {
      this.remove(m, now);
      w.resolve(m);
    }
    return m;
  }

  remove(m: QueueMember, now: number): boolean {
    m.gone = true;
    const i = this.members.indexOf(m);
    if (i < 0) return false;
    this.members.splice(i, 1);
    m.leftAt = now;
    this.stats.left++;
    this.updatedAt = now;
    return true;
  }

  /** Take the first member that can still be bridged. */
  takeFront(now: number): QueueMember | undefined {
    while (this.members.length > 0) {
      const m = this.members[0] as QueueMember;
      this.remove(m, now);
      if (!m.gone || (m.call.live && !m.outcome.settled)) {
        if (m.call.live && !m.outcome.settled) {
          this.stats.dequeued++;
          return m;
        }
      }
    }
    return undefined;
  }

  /** Wait up to `timeoutMs` for someone to enqueue (`<Dial><Queue>` on an empty queue). */
  async waitForMember(clock: Clock, timeoutMs: number, scope: Scope): Promise<QueueMember | null> {
    const d = deferred<QueueMember | null>();
    const w: Waiter = { resolve: (m) => d.resolve(m) };
    this.waiters.push(w);
    const cancel = clock.setTimer(timeoutMs, () => d.resolve(null));
    const drop = (): void => {
      cancel();
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
    };
    try {
      const m = await race(d.promise, scope);
      drop();
      if (m) this.stats.dequeued++;
      return m;
    } catch (e) {
      drop();
      // Handed a member at the same moment we were aborted: put it back at the front.
      const m = d.settled ? await d.promise : null;
      if (m && m.call.live && !m.outcome.settled) {
        m.gone = false;
        m.leftAt = undefined;
        this.members.unshift(m);
      }
      throw e;
    }
  }
}

export class QueueRegistry {
  private readonly byName = new Map<string, EmuQueue>();
  private readonly bySid = new Map<string, EmuQueue>();

  constructor(
    private readonly clock: Clock,
    private readonly sids: Random,
  ) {}

  /** Live view keyed by friendly name. */
  get map(): ReadonlyMap<string, EmuQueue> {
    return this.byName;
  }

  create(name: string, maxSize = 1000): EmuQueue {
    const q = new EmuQueue(this.sids.sid('QU'), name, maxSize, this.clock.now());
    this.byName.set(name, q);
    this.bySid.set(q.sid, q);
    return q;
  }

  getOrCreate(name: string, maxSize?: number): EmuQueue {
    return this.byName.get(name) ?? this.create(name, maxSize ?? 1000);
  }

  byFriendlyName(name: string): EmuQueue | undefined {
    return this.byName.get(name);
  }

  get(sid: string): EmuQueue | undefined {
    return this.bySid.get(sid);
  }

  list(): EmuQueue[] {
    return [...this.bySid.values()];
  }

  delete(q: EmuQueue): void {
    this.byName.delete(q.friendlyName);
    this.bySid.delete(q.sid);
  }
}
