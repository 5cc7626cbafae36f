/**
 * Public types of the Twilio emulator. The protocol facts these model are Twilio's (https://www.twilio.com/docs/voice,
 * TwiML and the REST API); each rule cites its source where it is implemented.
 */
import type { Clock } from '../../clock.js';

export type HttpMethod = 'GET' | 'POST';

/** A number, or a function drawn afresh each time (e.g. an agent's talk time per call). */
export type Sampled = number | (() => number);

export type CallStatus = 'queued' | 'initiated' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

export type TerminalStatus = 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

export type Direction = 'inbound' | 'outbound-api' | 'outbound-dial';

/** Call progress events a status callback can subscribe to. */
export type StatusEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

/**
 * Who ended a call: `caller` — the simulated person on this leg hung up (patience, hangupAfterMs, talkMs,
 * a gather answer of 'hangup', a declined callback); `server` — our server's instructions ended it
 * (`<Hangup>`, `<Reject>`, the document ran out, REST `Status=completed`, a REST participant removal);
 * `twilio` — Twilio ended it on its own (application error, the other leg of a bridge went away,
 * Dial timeLimit, emulator shutdown).
 */
export type EndedBy = 'caller' | 'twilio' | 'server';

/** Which restrictions a TwiML document runs under (twiml-verbs.ts, ALLOWED). */
export type DocContext =
  | 'top' // a call's own document (voice URL, actions, redirects, REST Url)
  | 'waitUrl' // <Enqueue waitUrl>: Play, Say, Pause, Hangup, Redirect, Leave, Gather
  | 'dialQueueUrl' // <Dial><Queue url>, run on the dequeued caller: Play, Say, Pause, Redirect
  | 'conferenceWait' // <Conference waitUrl>: Play, Say, Pause, Redirect
  | 'hold' // participant HoldUrl: Play, Say, Pause, Redirect
  | 'announce' // AnnounceUrl: Play, Say, Pause
  | 'whisper'; // <Number|Client|Sip url>, run on the called party: Play, Say, Pause, Gather, Hangup, Redirect

export interface NumberConfig {
  voiceUrl: string;
  voiceMethod?: HttpMethod;
  fallbackUrl?: string;
  fallbackMethod?: HttpMethod;
  statusCallback?: string;
  statusCallbackMethod?: HttpMethod;
  /**
   * Events sent to the number's statusCallback. Default: ringing, answered, completed (an inbound call is
   * never `initiated`). NOTE: real Twilio sends only `completed` to a phone number's status callback; the
   * server must not depend on the others for inbound calls. Set ['completed'] to test exactly that.
   */
  statusCallbackEvents?: StatusEvent[];
}

export interface GatherContext {
  callSid: string;
  /** Absolute public URL of the document that holds the Gather. */
  docUrl: string;
  /** docUrl's path + query (relative to the public base). */
  path: string;
  /** Say texts heard inside this Gather, in order. */
  heard: string[];
  /** All Say texts heard on the call so far. */
  allHeard: readonly string[];
  /** 1 for the first Gather executed at this document URL in this call, then 2, ... */
  attempt: number;
  input: Array<'dtmf' | 'speech'>;
  numDigits?: number;
  finishOnKey: string;
  timeoutS: number;
  context: DocContext;
}

export interface GatherAnswer {
  /** Keys pressed, may include the finish key (e.g. '123#'). */
  digits?: string;
  speech?: string;
  confidence?: number;
  /** Time after the prompts end before the first key or word (default 1000 ms). */
  delayMs?: number;
}

export type GatherResponse = GatherAnswer | null | undefined | 'hangup';

/** How a simulated person behaves on a call (callers and answering endpoints alike). */
export interface CallerBehaviour {
  /** Called for each `<Gather>` after its prompts; null/undefined = no input (timeout). */
  gather?: (ctx: GatherContext) => GatherResponse;
  /** Hang up after waiting this long in a queue. */
  patienceMs?: number;
  /** Absolute call length cap, from the moment the call is placed (or answered, for answering endpoints). */
  hangupAfterMs?: number;
  /** For `<Record>`: speak this long, then press the finish key (or hang up when `hangup`). */
  record?: { durationMs: number; hangup?: boolean };
  /** When our server calls this caller's number back (calls.create), do they answer? */
  answerCallback?: boolean;
  /** Ring time before answering a callback (default 3000 ms). */
  answerDelayMs?: Sampled;
  /** How long this person stays in a bridged call or conference before hanging up; undefined = the other side ends it. */
  talkMs?: Sampled;
}

export type AnswerMode = boolean | 'busy' | 'failed';

export interface RingInfo {
  callSid: string;
  from: string;
  to: string;
  parentCallSid?: string;
}

/** An agent phone, SIP endpoint or outside number the server may dial. */
export interface EndpointConfig extends CallerBehaviour {
  /** true = answers after answerDelayMs; false = rings until the dialer's timeout; 'busy' / 'failed'. */
  answer: AnswerMode | ((info: RingInfo) => AnswerMode);
  /** Default 2000 ms. */
  answerDelayMs?: Sampled;
}

export interface PlaceCallOptions {
  from: string;
  to: string;
  behaviour?: CallerBehaviour;
  callerName?: string;
  forwardedFrom?: string;
}

export interface EmulatorOptions {
  clock: Clock;
  accountSid: string;
  authToken: string;
  /** Where HTTP requests really go (our server), e.g. http://127.0.0.1:3000 */
  webhookBase: string;
  /** The URL our server is configured with; signatures are computed over it. */
  publicBaseUrl: string;
  numbers: Record<string, NumberConfig>;
  seed?: number;
  /** 0 or undefined = a free port. */
  restPort?: number;
  /** How long a `<Play>` of this URL lasts (default 8000 ms). */
  playDurationMs?: (url: string) => number;
  /** Say speed (default 150 words per minute). */
  wordsPerMinute?: number;
  /** Shortest Say (default 1000 ms); lower it for quick real-time tests. */
  minSayMs?: number;
  /** Webhook answer time limit on the emulator's clock (default 15000). */
  webhookTimeoutMs?: number;
  /** Real-time cap for a webhook answer, so a hung server cannot stall virtual time (default 15000). */
  webhookRealTimeoutMs?: number;
  /** How a dialed address with no registered endpoint behaves (default: rings, never answers). */
  unknownEndpoint?: EndpointConfig;
  /** Keep at most this many entries in each log array (default 200000). */
  maxLogEntries?: number;
  /** Max random delay of a shuffled / duplicated status callback (default 2000 ms of clock time). */
  statusShuffleMaxMs?: number;
  /** Concurrent sockets to our server (default 64); more requests wait in the pool (counted in latencyMs). */
  maxSockets?: number;
  /** Event-loop turns `settle()` waits with nothing in flight before it resolves (default 10). */
  settleTurns?: number;
}

export interface QueueResultRecord {
  queue: string;
  result: string;
  waitMs: number;
}

export interface DialResultRecord {
  status: string;
  dialCallSid?: string;
  durationS?: number;
  bridged: boolean;
  kind: 'endpoint' | 'queue' | 'conference';
}

export interface RecordingRecord {
  sid: string;
  url: string;
  durationS: number;
}

export interface CallSummary {
  callSid: string;
  from: string;
  to: string;
  direction: Direction;
  status: TerminalStatus;
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  /** Answered → end (Twilio's CallDuration × 1000, unrounded); 0 when never answered. */
  durationMs: number;
  /** Placed → end. */
  totalMs: number;
  endedBy: EndedBy;
  heard: string[];
  played: string[];
  digitsSent: string[];
  speechSent: string[];
  queueResults: string[];
  queueWaits: QueueResultRecord[];
  dialResults: DialResultRecord[];
  recordings: RecordingRecord[];
  /** Paths (with query) of every TwiML document requested for this call, in order. */
  documents: string[];
  errors: EmulatorError[];
}

export interface EmulatorError {
  code: number;
  level: 'error' | 'warning';
  message: string;
  at: number;
  callSid?: string;
  url?: string;
  /** The offending TwiML document, when there is one. */
  document?: string;
  kind: 'http' | 'content-type' | 'twiml' | 'status-callback' | 'notification' | 'emulator';
}

export type WebhookKind =
  | 'voice'
  | 'fallback'
  | 'action'
  | 'redirect'
  | 'gather'
  | 'record'
  | 'wait'
  | 'dial-queue-url'
  | 'whisper'
  | 'conference-wait'
  | 'hold'
  | 'announce'
  | 'status'
  | 'conference-status'
  | 'recording-status'
  | 'notification'
  | 'rest-url';

export interface WebhookLogEntry {
  id: number;
  kind: WebhookKind;
  callSid?: string;
  method: HttpMethod;
  /** The public URL (what was signed, before GET parameters were appended). */
  url: string;
  /** Path + query of the public URL. */
  path: string;
  /** Where the request actually went. */
  requestUrl: string;
  params: Record<string, string>;
  signature: string;
  idempotencyToken: string;
  attempts: number;
  /** Clock time at send. */
  at: number;
  status?: number;
  contentType?: string;
  body?: string;
  /** Real milliseconds until the answer (or failure). */
  latencyMs?: number;
  error?: string;
}

export interface RestLogEntry {
  id: number;
  method: string;
  /** Path without query. */
  path: string;
  query: Record<string, string | string[]>;
  form: Record<string, string | string[]>;
  authOk: boolean;
  at: number;
  status?: number;
  response?: unknown;
  latencyMs?: number;
  fault?: string;
}

export interface RestFaultMatch {
  method?: string;
  /** Substring or RegExp tested against the path. */
  path?: string | RegExp;
}

export interface FailRestOptions {
  count?: number;
  status?: 500 | 503 | 400 | 404 | 429;
  code?: number;
  message?: string;
  /** Clock time before the failure is answered. */
  delayMs?: number;
  /**
   * With status 429: the `Retry-After` header, in seconds. Twilio answers 429 without carrying the
   * request out ("Requests that receive 429 responses aren't processed and are safe to retry after
   * backing off", https://www.twilio.com/docs/api/errors/20429), and its APIs that send `Retry-After`
   * on 429 ask clients to "read the Retry-After response header and wait the indicated number of seconds
   * before retrying" (https://www.twilio.com/docs/api/errors/59004).
   */
  retryAfterSeconds?: number;
  match?: RestFaultMatch;
}

export interface HoldRestOptions {
  count?: number;
  match?: RestFaultMatch;
}

export interface TimeoutRestOptions {
  count?: number;
  /** Clock time after which the socket is destroyed without an answer (default 15000). */
  afterMs?: number;
  match?: RestFaultMatch;
}

export interface StatusCallbackFaults {
  /** Deliver status callbacks (call and conference) after random delays, so they arrive out of order. */
  shuffle: boolean;
  /** Probability of delivering a status callback a second time. */
  duplicate: number;
  /**
   * Never deliver conference status callbacks (they are recorded in `conference.events` with sent=false
   * as usual). Twilio may deliver none, e.g. when the conference's creator asked for none, so a server must
   * not depend on them.
   */
  dropConference: boolean;
  /**
   * Recording statuses whose recording status callback is never delivered (e.g. ['in-progress']): a lost
   * callback (the server was unreachable, and Twilio does not resend it), so a server must cope without it.
   */
  dropRecording?: string[];
}
