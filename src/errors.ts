/**
 * The one catalogue of errors a client can see, in the manner of fastify's `lib/errors.js`: each error
 * is a code, a default message, an HTTP status and the code it carries on a WebSocket, declared once
 * here. Every HTTP error body (`{error, message, field?}`) and every socket `error` message
 * (`{type:'error', code, message, field?}`) is made from a `SwitchboardError` by `httpBody` /
 * `socketError`; nothing else builds error bodies (test/unit/errors.test.ts looks for hand-built ones,
 * and checks that docs/errors.md lists exactly these codes). A message that names a field starts with
 * it (`field: what is wrong`). Store scripts return short codes (`ERR_...`) mapped in `SCRIPT_ERRORS`.
 * Imports nothing of ours.
 */
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

interface ErrorSpec {
  /** HTTP status of the answer. */
  status: number;
  /** The message when the caller gives none. */
  message: string;
  /** The code on a WebSocket `error` message, when it differs from the HTTP code. */
  socket?: string;
}

/** Every error code, with its status, default message and socket code (docs/errors.md). */
export const ERRORS = {
  missing_signature: { status: 400, message: 'X-Twilio-Signature header is required' },
  bad_signature: { status: 403, message: 'X-Twilio-Signature does not match this request' },
  // A request parameter, query, body field or socket message field fails its rule; the field is named.
  invalid_params: { status: 400, message: 'invalid', socket: 'invalid_message' },
  invalid_json: { status: 400, message: 'messages are JSON text objects' },
  unauthorized: { status: 401, message: 'a valid bearer token is required' },
  forbidden: { status: 403, message: 'not allowed with this token' },
  not_found: { status: 404, message: 'no such resource' },
  payload_too_large: { status: 413, message: 'the request body is too large' },
  unsupported_media_type: { status: 415, message: 'this content type is not accepted here' },
  conflict: { status: 409, message: 'not allowed in the current state' },
  already_authenticated: { status: 409, message: 'hello: already signed in' },
  stale_offer: { status: 409, message: 'this offer is no longer valid' },
  caller_gone: { status: 409, message: 'the caller has already left' },
  not_your_call: { status: 409, message: 'not a call you are on' },
  // Recording pause / resume on a call whose queue does not record, or whose recording has not started or has ended.
  recording_off: { status: 409, message: "this call's queue does not record calls" },
  no_recording: { status: 409, message: 'the call has no recording in progress' },
  // Well-formed, but the data cannot answer it (e.g. too little history for a staffing plan).
  insufficient_data: { status: 422, message: 'not enough data to answer this' },
  rate_limited: { status: 429, message: 'too many requests' },
  internal: { status: 500, message: 'internal error' },
  // Redis or Twilio did not take the request: nothing changed, try again.
  unavailable: { status: 503, message: 'the request could not be completed; try again' },
  // The route needs a setting this deployment does not have (e.g. /api/plan without PROMETHEUS_URL).
  not_configured: { status: 503, message: 'this needs a setting that is not set' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** Extra facts some errors carry to the client. */
export interface ErrorDetails {
  /** rate_limited: which limit, and when to retry. */
  limiter?: string;
  retryAfterSeconds?: number;
}

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** The offending field or setting, when there is one (named in 4xx answers). */
  readonly field: string | undefined;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, field?: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'SwitchboardError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.field = field;
    this.details = details;
  }

  /** The code on a WebSocket `error` message. */
  get socketCode(): string {
    const spec: ErrorSpec = ERRORS[this.code];
    return spec.socket ?? this.code;
  }
}

export const isSwitchboardError = (e: unknown): e is SwitchboardError => e instanceof SwitchboardError;

/**
 * Make an error from the catalogue. With a field the message reads `field: detail` (the catalogue's
 * message when no detail is given); without one it is the detail or the catalogue's message.
 */
export function sbError(code: ErrorCode, field?: string, detail?: string, details?: ErrorDetails): SwitchboardError {
  const text = detail ?? ERRORS[code].message;
  return new SwitchboardError(code, field ? `${field}: ${text}` : text, field, details);
}

/** `invalid_params` naming the field. */
export const invalid = (field: string, detail: string): SwitchboardError => sbError('invalid_params', field, detail);

/**
 * The one formatter of zod issues: the first issue's path (dot-joined; `whole` when the issue is about
 * the whole value) and its message, as `invalid_params`.
 */
export function fromZod(err: z.ZodError, whole = '(body)'): SwitchboardError {
  const i = err.issues[0];
  const field = i ? i.path.map(String).join('.') || whole : whole;
  return invalid(field.slice(0, 128), i?.message ?? 'invalid');
}

export interface HttpErrorBody {
  error: ErrorCode;
  message: string;
  field?: string;
  limiter?: string;
  retryAfterSeconds?: number;
}

/** The JSON body of an HTTP error answer. */
export function httpBody(e: SwitchboardError): HttpErrorBody {
  return { error: e.code, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}), ...e.details };
}

/** Answer an HTTP request with the error (status, Retry-After when there is one, body). */
export function replyError(reply: FastifyReply, e: SwitchboardError): FastifyReply {
  if (e.details.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.details.retryAfterSeconds));
  if (e.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer');
  return reply.code(e.statusCode).send(httpBody(e));
}

/** A WebSocket `error` message (agent and supervisor sockets; docs/agent-protocol.md). */
export interface SocketError {
  type: 'error';
  code: string;
  field?: string;
  message: string;
  ref?: string;
  retryAfterMs?: number;
}

/**
 * The socket `error` message for an error, answering the command `ref` when there is one; `field` is
 * named when the error has none (a command's errors always name one: `type` at worst).
 */
export function socketError(e: SwitchboardError, ref?: string, field?: string): SocketError {
  const named = e.field ?? field;
  return {
    type: 'error',
    code: e.socketCode,
    ...(named !== undefined ? { field: named } : {}),
    message: e.message,
    ...(e.details.retryAfterSeconds !== undefined ? { retryAfterMs: e.details.retryAfterSeconds * 1000 } : {}),
    ...(ref ? { ref } : {}),
  };
}

/** Codes the Lua scripts return in `{err = 'CODE'}` replies, mapped to catalogue errors. */
export const SCRIPT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  NO_SUCH_AGENT: { code: 'not_found', message: 'no such agent' },
  NO_SUCH_CALL: { code: 'not_found', message: 'no such call in this queue' },
  BAD_STATE: { code: 'conflict', message: 'not allowed in the current state' },
  STALE_OFFER: { code: 'stale_offer', message: 'the offer is no longer valid' },
  WRONG_CALL: { code: 'not_your_call', message: "that call is not the agent's current call" },
};
