/** Two call legs talking to each other (`<Dial>` to an endpoint, or `<Dial><Queue>`). */
import type { Clock } from '../../clock.js';
import type { Call } from './call.js';
import { deferred } from './scope.js';

export class Bridge {
  readonly createdAt: number;
  connectedAt?: number;
  endedAt?: number;
  /** The leg that left first (hung up, was redirected, ...). */
  leftFirst?: Call;
  readonly ended = deferred<Call>();
  private cancels: Array<() => void> = [];

  constructor(
    /** The leg that dialed. */
    readonly a: Call,
    /** The dialed leg, or the dequeued caller. */
    readonly b: Call,
    private readonly clock: Clock,
    private readonly timeLimitMs?: number,
  ) {
    this.createdAt = clock.now();
  }

  other(c: Call): Call {
    return c === this.a ? this.b : this.a;
  }

  /** Audio flows from now on: start each side's talk timer and the Dial time limit. */
  connect(): void {
    if (this.connectedAt !== undefined || this.ended.settled) return;
    this.connectedAt = this.clock.now();
    this.cancels.push(this.a.startTalkTimer(), this.b.startTalkTimer());
    if (this.timeLimitMs !== undefined) this.cancels.push(this.clock.setTimer(this.timeLimitMs, () => this.b.hangup('twilio')));
  }

  leave(c: Call): void {
    if (this.ended.settled) return;
    this.endedAt = this.clock.now();
    this.leftFirst = c;
    for (const f of this.cancels) f();
    this.cancels = [];
    this.ended.resolve(c);
  }

  /** Seconds connected (Twilio's DialCallDuration). */
  durationS(): number {
    if (this.connectedAt === undefined) return 0;
    return Math.round(((this.endedAt ?? this.clock.now()) - this.connectedAt) / 1000);
  }
}
