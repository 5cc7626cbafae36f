/**
 * Every fact Switchboard records about a call, an agent or a queue, as one discriminated union.
 * Store scripts append these to Redis streams in the same script as the state change; the process that
 * ran the script also publishes them on its local bus, where metrics and the agent channel pick them up.
 * This file imports nothing of ours.
 */

export type QueueOutcome = 'answered' | 'abandoned' | 'overflow' | 'callback';
export type AgentState = 'offline' | 'available' | 'reserved' | 'on_call' | 'wrap_up' | 'break';
export const AGENT_STATES: readonly AgentState[] = ['offline', 'available', 'reserved', 'on_call', 'wrap_up', 'break'];
export type Disposition = 'resolved' | 'not_resolved' | 'escalated';
export const DISPOSITIONS: readonly Disposition[] = ['resolved', 'not_resolved', 'escalated'];
export type IvrExit = 'self_service' | 'queue' | 'voicemail' | 'hangup' | 'closed' | 'transfer' | 'error';
export type OverflowTarget = 'voicemail' | 'queue' | 'number' | 'message';
export type OverflowReason = 'max_wait' | 'max_length' | 'no_agents' | 'caller_voicemail' | 'queue_full';
export type OfferResult = 'accepted' | 'rejected' | 'timeout' | 'withdrawn';
export type CallbackResult = 'connected' | 'no_answer' | 'busy' | 'failed';
export type TransferKind = 'queue' | 'agent' | 'external';
export type TransferMode = 'cold' | 'warm';
export type TransferResult = 'completed' | 'cancelled' | 'failed';
export type MonitorMode = 'listen' | 'coach' | 'barge' | 'stop';
export type SurveyKind = 'csat' | 'nps' | 'ces';
export type RecordingActor = 'agent' | 'supervisor';

interface Base {
  /** Milliseconds since the epoch, from the injected clock. */
  at: number;
}

export type DomainEvent = Base &
  (
    | {
        type: 'call.started';
        callSid: string;
        flow: string;
        /** The caller's keyed hash (never the number). */
        callerHash?: string;
        /** The center's own number the caller dialed (Twilio's `To`). */
        calledNumber?: string;
        language?: string;
      }
    | { type: 'call.ended'; callSid: string; status: string; durationSeconds: number }
    | { type: 'ivr.node'; callSid: string; flow: string; node: string }
    | { type: 'ivr.invalid'; callSid: string; flow: string; node: string; reason: 'invalid' | 'timeout' }
    | {
        type: 'ivr.exit';
        callSid: string;
        flow: string;
        exit: IvrExit;
        contained: boolean;
        /** The nodes the caller went through, oldest first, and the language at the exit (call records). */
        path?: string[];
        language?: string;
      }
    | { type: 'language.selected'; callSid: string; language: string }
    | { type: 'voicemail.recorded'; callSid: string; queue: string; recordingSid: string; durationSeconds: number }
    | { type: 'queue.offered'; callSid: string; queue: string; contactId: string; priority: number }
    | {
        type: 'queue.left';
        callSid: string;
        queue: string;
        contactId: string;
        outcome: QueueOutcome;
        waitSeconds: number;
        /** Abandons shorter than the queue's shortAbandonSeconds. */
        short: boolean;
        serviceLevelSeconds: number;
        overflowTarget?: OverflowTarget;
        overflowReason?: OverflowReason;
        agentId?: string;
        team?: string;
        /** The first estimate the caller heard, for the estimate's error against the real wait. */
        ewtToldSeconds?: number;
      }
    | { type: 'ewt.announced'; callSid: string; queue: string; seconds: number; position: number }
    | { type: 'callback.attempt'; callSid: string; queue: string; result: CallbackResult }
    | { type: 'agent.state'; agentId: string; team: string; from: AgentState; to: AgentState; secondsInFrom: number; reason?: string }
    | { type: 'offer.result'; agentId: string; callSid: string; queue: string; result: OfferResult }
    | {
        type: 'call.handled';
        callSid: string;
        contactId: string;
        queue: string;
        agentId: string;
        team: string;
        talkSeconds: number;
        holdSeconds: number;
        wrapupSeconds: number;
        disposition: Disposition;
        code: string;
      }
    | {
        type: 'contact.repeat';
        /** The first (handled) call's queue: repeats are attributed to it. */
        queue: string;
        overclaimed: boolean;
        /** The new call, and the handled call it repeats (call records). */
        callSid?: string;
        previousCallSid?: string;
      }
    | { type: 'survey.offered'; callSid: string; survey: SurveyKind }
    | { type: 'survey.response'; callSid: string; survey: SurveyKind; score: number }
    | {
        type: 'transfer';
        callSid: string;
        queue: string;
        kind: TransferKind;
        mode: TransferMode;
        result: TransferResult;
        /** The target queue or agent id (never an outside number), and who transferred (call records). */
        target?: string;
        fromAgentId?: string;
      }
    | { type: 'supervisor.monitor'; callSid: string; queue: string; mode: MonitorMode }
    | { type: 'hold'; callSid: string; queue: string; on: boolean }
    /** The conference of a call (the caller's CallSid) is being recorded (Twilio's in-progress callback). */
    | { type: 'recording.started'; callSid: string; queue: string; recordingSid: string }
    /** The recording is complete: its media URL (Twilio's RecordingUrl, no extension) and length. */
    | { type: 'recording.completed'; callSid: string; queue: string; recordingSid: string; url: string; durationSeconds: number }
    /** Twilio could not make the recording: `absent` (too short or silent) or `failed`. */
    | { type: 'recording.failed'; callSid: string; queue: string; recordingSid: string; status: 'absent' | 'failed' }
    /** A recording was paused or resumed by the agent on the call or a supervisor. */
    | { type: 'recording.paused' | 'recording.resumed'; callSid: string; queue: string; recordingSid: string; by: RecordingActor }
  );

export type DomainEventType = DomainEvent['type'];
export type EventOf<T extends DomainEventType> = Extract<DomainEvent, { type: T }>;

/** Service-health observations (not call facts): webhook timing, fallbacks, Redis and REST errors. */
export type ServiceEvent =
  | { type: 'webhook.served'; route: string; statusCode: number; seconds: number }
  | { type: 'webhook.fallback'; route: string; reason: 'redis' | 'internal' | 'timeout' }
  | { type: 'webhook.rejected'; route: string; reason: 'missing_signature' | 'bad_signature' | 'invalid_params' }
  /** A status callback we could not process (answered 503/500; Twilio does not send it again). */
  | { type: 'webhook.unprocessed'; route: string; reason: 'redis' | 'internal' }
  /** A caller left in our queue whose call Twilio says has ended (a missed hangup), closed as abandoned. */
  | { type: 'queue.ghost_closed'; queue: string; via: 'bridge' | 'sweep' }
  | { type: 'redis.error'; op: string }
  | { type: 'twilio.rest'; op: string; result: 'ok' | 'retry' | 'failed' }
  | { type: 'rate.limited'; limiter: 'sign_in' | 'supervisor_api' };

export interface EventBus {
  publish(events: readonly DomainEvent[]): void;
  service(event: ServiceEvent): void;
  onDomain(fn: (e: DomainEvent) => void): () => void;
  /** Each `publish` call's events at once, after the per-event subscribers (call records fold them together). */
  onPublish(fn: (events: readonly DomainEvent[]) => void): () => void;
  onService(fn: (e: ServiceEvent) => void): () => void;
}

/** The in-process bus: synchronous fan-out, a failing subscriber never breaks the publisher. */
export function createEventBus(onSubscriberError: (err: unknown) => void = () => {}): EventBus {
  const domain = new Set<(e: DomainEvent) => void>();
  const batch = new Set<(events: readonly DomainEvent[]) => void>();
  const service = new Set<(e: ServiceEvent) => void>();
  return {
    publish(events) {
      if (events.length === 0) return;
      for (const e of events) {
        for (const fn of domain) {
          try {
            fn(e);
          } catch (err) {
            onSubscriberError(err);
          }
        }
      }
      for (const fn of batch) {
        try {
          fn(events);
        } catch (err) {
          onSubscriberError(err);
        }
      }
    },
    service(e) {
      for (const fn of service) {
        try {
          fn(e);
        } catch (err) {
          onSubscriberError(err);
        }
      }
    },
    onDomain(fn) {
      domain.add(fn);
      return () => domain.delete(fn);
    },
    onPublish(fn) {
      batch.add(fn);
      return () => batch.delete(fn);
    },
    onService(fn) {
      service.add(fn);
      return () => service.delete(fn);
    },
  };
}
