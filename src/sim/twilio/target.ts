/** What a call runs next (a document to fetch, TwiML given over REST, or an internal activity) and how a run of verbs ends. */
import type { Scope } from './scope.js';
import type { Verb } from './twiml.js';
import type { DocContext, EndedBy, HttpMethod, TerminalStatus, WebhookKind } from './types.js';

export type DocTarget =
  | {
      kind: 'fetch';
      /** Absolute public URL. */
      url: string;
      method: HttpMethod;
      /** Extra parameters on top of the call's standard ones. */
      params?: Record<string, string>;
      webhookKind: WebhookKind;
    }
  | { kind: 'twiml'; xml: string }
  | { kind: 'internal'; name: string; run: (scope: Scope) => Promise<Step> };

export type Step = { kind: 'next'; target: DocTarget } | { kind: 'end'; by: EndedBy; status?: TerminalStatus };

/** How a run of verbs ended: ran out, goes on at another document, or stopped the call / the wait. */
export type Flow =
  | { kind: 'end' }
  | { kind: 'goto'; target: DocTarget }
  | { kind: 'hangup' }
  | { kind: 'reject'; reason: 'rejected' | 'busy' }
  | { kind: 'leave' };

/** Where the verbs being run came from. */
export interface ExecCtx {
  /** Absolute public URL of the running document ('' for TwiML given over REST). */
  docUrl: string;
  context: DocContext;
}

/** A document fetched and validated for its context. */
export interface LoadedDoc {
  url: string;
  verbs: Verb[];
}

export type FetchTarget = Extract<DocTarget, { kind: 'fetch' } | { kind: 'twiml' }>;

export interface SideDocOptions {
  context: DocContext;
  kind: WebhookKind;
  scope: Scope;
  /** For a URL the emulator does not fetch (not our server): treat it as endless music (true) or one Play. */
  externalForever: boolean;
}
