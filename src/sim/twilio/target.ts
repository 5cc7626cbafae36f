/** What a call runs next: a document to fetch, TwiML given over REST, or an internal activity. */
import type { Scope } from './scope.js';
import type { EndedBy, HttpMethod, TerminalStatus, WebhookKind } from './types.js';

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

export type Step =
  | { kind: 'next'; target: DocTarget }
  | { kind: 'end'; by: EndedBy; status?: TerminalStatus };
