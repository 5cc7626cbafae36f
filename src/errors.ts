/**
 * One catalogue of errors with stable codes. Store scripts return short codes (`ERR_...`) that map to
 * these; HTTP and WebSocket boundaries translate them once. Imports nothing of ours.
 */
export type ErrorCode =
  | 'SB_CONFIG_INVALID'
  | 'SB_ENV_INVALID'
  | 'SB_BAD_REQUEST'
  | 'SB_SIGNATURE_MISSING'
  | 'SB_SIGNATURE_INVALID'
  | 'SB_UNAUTHORIZED'
  | 'SB_FORBIDDEN'
  | 'SB_NOT_FOUND'
  | 'SB_CONFLICT'
  | 'SB_RATE_LIMITED'
  | 'SB_STORE_UNAVAILABLE'
  | 'SB_TWILIO_REST';

const STATUS: Record<ErrorCode, number> = {
  SB_CONFIG_INVALID: 500,
  SB_ENV_INVALID: 500,
  SB_BAD_REQUEST: 400,
  SB_SIGNATURE_MISSING: 400,
  SB_SIGNATURE_INVALID: 403,
  SB_UNAUTHORIZED: 401,
  SB_FORBIDDEN: 403,
  SB_NOT_FOUND: 404,
  SB_CONFLICT: 409,
  SB_RATE_LIMITED: 429,
  SB_STORE_UNAVAILABLE: 503,
  SB_TWILIO_REST: 502,
};

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** The offending field or setting, when there is one (named in 4xx answers). */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'SwitchboardError';
    this.code = code;
    this.statusCode = STATUS[code];
    this.field = field;
  }
}

export const isSwitchboardError = (e: unknown): e is SwitchboardError => e instanceof SwitchboardError;

/** Codes the Lua scripts return in `{err = 'CODE'}` replies, mapped to typed errors. */
export const SCRIPT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  NO_SUCH_AGENT: { code: 'SB_NOT_FOUND', message: 'no such agent' },
  NO_SUCH_CALL: { code: 'SB_NOT_FOUND', message: 'no such call in this queue' },
  BAD_STATE: { code: 'SB_CONFLICT', message: 'not allowed in the current state' },
  STALE_OFFER: { code: 'SB_CONFLICT', message: 'the offer is no longer valid' },
  WRONG_CALL: { code: 'SB_CONFLICT', message: "that call is not the agent's current call" },
};
