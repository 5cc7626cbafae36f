// @ts-check
// The agent desk's shared parts: the protocol types, the element helpers, what the desk currently shows
// (one object, so desk.js and desk-transfer.js see the same state), the message line and sending commands.
import { element } from './live.js';

/**
 * The protocol's own types (src/agents/protocol.ts), so the desk is checked against what the server sends.
 * @typedef {import('../../agents/protocol.js').ServerMessage} ServerMessage
 * @typedef {import('../../agents/protocol.js').ClientMessage} ClientMessage
 * @typedef {import('../../agents/protocol.js').OfferMessage} OfferMessage
 * @typedef {import('../../agents/protocol.js').Directory} Directory
 * @typedef {import('../../agents/protocol.js').TransferTarget} TransferTarget
 * @typedef {import('../../agents/protocol.js').TransferStatus} TransferStatus
 * @typedef {Extract<ServerMessage, { type: 'call' }>} CallMessage
 * @typedef {Extract<ServerMessage, { type: 'wrap_up' }>} WrapUpMessage
 * @typedef {Extract<ServerMessage, { type: 'transfer' }>} TransferMessage
 * @typedef {'resolved' | 'not_resolved' | 'escalated'} Disposition
 * @typedef {{ callSid: string, kind: TransferTarget['kind'], mode: 'cold' | 'warm', label: string, back: boolean, status: TransferStatus | 'sending', note?: string }} ShownTransfer
 */

/** @param {string} id */
export const $ = (id) => element(id, HTMLElement);
/** @param {string} id */
export const button = (id) => element(id, HTMLButtonElement);
/** @param {string} id */
export const input = (id) => element(id, HTMLInputElement);
/** @param {string} id */
export const form = (id) => element(id, HTMLFormElement);
/**
 * A transfer target control (a select or an input).
 * @param {string} id
 * @returns {HTMLInputElement | HTMLSelectElement}
 */
export const control = (id) => {
  const e = $(id);
  if (e instanceof HTMLInputElement || e instanceof HTMLSelectElement) return e;
  throw new Error(`#${id}: expected a form control`);
};
/** @type {Record<string, string>} */
export const CALL_LABELS = {
  connecting: 'Connecting your phone…',
  connected: 'Connected',
  on_hold: 'On hold',
  ended: 'Ended',
  failed: 'Your phone did not answer',
};

/** What the desk shows now; every module reads and writes it here. */
export const desk = {
  /** @type {import('./live.js').LiveSocket | null} */
  socket: null,
  /** @type {{ state: string, since: number, reason: string }} */
  state: { state: 'offline', since: 0, reason: '' },
  /** @type {(OfferMessage & { receivedAt: number }) | null} the offer shown, and when it arrived (server ms) */
  offer: null,
  /** @type {{ callSid: string, queue: string, status: CallMessage['status'], since: number } | null} */
  call: null,
  /** @type {{ callSid: string, queue: string, deadline: number } | null} */
  wrap: null,
  /** @type {ShownTransfer | null} while one of this call's transfers is shown */
  transfer: null,
  /** @type {Directory} transfer targets, from the welcome message */
  directory: { queues: [], agents: [] },
  /** @type {Set<string>} refs of transfer commands: their errors go next to the transfer form */
  transferRefs: new Set(),
  refSeq: 0,
  /** "Accepted: your phone will ring." (or the softphone's text) is on screen until the call connects or fails */
  accepting: false,
  agentToken: '',
  softphoneStarted: false,
  pendingSignOut: false,
};

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
export function say(text, isError = false) {
  const el = $('message');
  el.textContent = text;
  el.classList.toggle('error', isError);
  desk.accepting = false;
}

/**
 * Send a command with a fresh ref; null when the socket is not open.
 * @param {ClientMessage} msg
 */
export function command(msg) {
  const ref = `r${++desk.refSeq}`;
  if (!desk.socket || !desk.socket.send({ ...msg, ref })) {
    say('Not connected: the command was not sent. Reconnecting…', true);
    return null;
  }
  return ref;
}
