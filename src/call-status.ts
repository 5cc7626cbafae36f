/**
 * Twilio's call statuses (the CallStatus of webhooks and status callbacks, the `status` of a Call
 * resource), defined once: which exist and which mean the call has ended for good.
 */
export const CALL_STATUSES = [
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
  'canceled',
] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

/** The statuses of a call that has ended: nothing more can be played to it or done with it. */
export const ENDED_CALL_STATUSES: ReadonlySet<string> = new Set<CallStatus>(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

/** True when `status` says the call has ended. */
export const callHasEnded = (status: string | undefined): boolean => status !== undefined && ENDED_CALL_STATUSES.has(status);
