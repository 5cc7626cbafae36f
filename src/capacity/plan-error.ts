/**
 * Why a plan could not be made, as a kind the CLI turns into an exit code and /api/plan into an HTTP
 * answer, and a message that names the problem (the address, the queue, how much history there is).
 */
export type PlanErrorKind =
  /** A bad option: `field` names it. */
  | 'bad_request'
  /** No answer from Prometheus (refused, timed out, not Prometheus). */
  | 'prometheus_unreachable'
  /** Prometheus answered with an error. */
  | 'prometheus_failed'
  /** No series of the queue in Prometheus. */
  | 'unknown_queue'
  /** Fewer whole weeks of history than the forecast needs. */
  | 'too_little_history';

export class PlanError extends Error {
  readonly kind: PlanErrorKind;
  readonly field: string | undefined;

  constructor(kind: PlanErrorKind, message: string, field?: string) {
    super(message);
    this.name = 'PlanError';
    this.kind = kind;
    this.field = field;
  }
}
