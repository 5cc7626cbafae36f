// @ts-check
// The agent desk: the agent WebSocket protocol (docs/agent-protocol.md) as a page.
import { clearFragment, duration, element, liveSocket, serverClock, setText, tokenFromFragment } from './live.js';
import { createSoftphone } from './softphone.js';

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
const $ = (id) => element(id, HTMLElement);
/** @param {string} id */
const button = (id) => element(id, HTMLButtonElement);
/** @param {string} id */
const input = (id) => element(id, HTMLInputElement);
/** @param {string} id */
const form = (id) => element(id, HTMLFormElement);
/**
 * A transfer target control (a select or an input).
 * @param {string} id
 * @returns {HTMLInputElement | HTMLSelectElement}
 */
const control = (id) => {
  const e = $(id);
  if (e instanceof HTMLInputElement || e instanceof HTMLSelectElement) return e;
  throw new Error(`#${id}: expected a form control`);
};
const TOKEN_KEY = 'switchboard.desk.token';
/** @type {Record<string, string>} */
const STATE_LABELS = {
  offline: 'Offline',
  available: 'Available',
  reserved: 'Offer ringing',
  on_call: 'On call',
  wrap_up: 'Wrap-up',
  break: 'Break',
};
/** @type {Record<string, string>} */
const CALL_LABELS = { connecting: 'Connecting your phone…', connected: 'Connected', on_hold: 'On hold', ended: 'Ended', failed: 'Your phone did not answer' };
/** @type {Record<string, string>} */
const CANCEL_LABELS = {
  timeout: 'The offer timed out: the caller went to the next agent and you are on break. Choose Available to take calls again.',
  withdrawn: 'The offer was withdrawn (the caller hung up or left the queue).',
  taken: 'The offer was taken on another device.',
};

/** @type {import('./live.js').LiveSocket | null} */
let socket = null;
/** @type {{ state: string, since: number, reason: string }} */
let state = { state: 'offline', since: 0, reason: '' };
/** @type {(OfferMessage & { receivedAt: number }) | null} the offer shown, and when it arrived (server ms) */
let offer = null;
/** @type {{ callSid: string, queue: string, status: CallMessage['status'], since: number } | null} */
let call = null;
/** @type {{ callSid: string, queue: string, deadline: number } | null} */
let wrap = null;
/** @type {ShownTransfer | null} while one of this call's transfers is shown */
let transfer = null;
/** @type {Directory} transfer targets, from the welcome message */
let directory = { queues: [], agents: [] };
/** @type {Set<string>} refs of transfer commands: their errors go next to the transfer form */
const transferRefs = new Set();
let refSeq = 0;
let accepting = false; // "Accepted: your phone will ring." is on screen until the call connects or fails
let agentToken = '';
let softphoneStarted = false;
const softphone = createSoftphone({ agentToken: () => agentToken, onNote: (text) => setText('audio-note', text) });

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function say(text, isError = false) {
  const el = $('message');
  el.textContent = text;
  el.classList.toggle('error', isError);
  accepting = false;
}

/**
 * Send a command with a fresh ref; null when the socket is not open.
 * @param {ClientMessage} msg
 */
function command(msg) {
  const ref = `r${++refSeq}`;
  if (!socket || !socket.send({ ...msg, ref })) {
    say('Not connected: the command was not sent. Reconnecting…', true);
    return null;
  }
  return ref;
}

// ---------- rendering ----------

function renderState() {
  const el = $('state');
  el.textContent = STATE_LABELS[state.state] ?? state.state;
  el.dataset.state = state.state;
  setText('state-since', state.reason ? `(${state.reason.replace(/_/g, ' ')})` : '');
  button('btn-available').disabled = !['offline', 'break'].includes(state.state);
  button('btn-break').disabled = !['available', 'offline'].includes(state.state);
  button('btn-signout').disabled = !['available', 'break', 'offline'].includes(state.state);
}

/** @param {OfferMessage} msg */
function showOffer(msg) {
  offer = { ...msg, receivedAt: serverClock.now() };
  setText('offer-title', `${msg.transferFrom ? 'Incoming transfer' : 'Incoming call'} — ${msg.queueName || msg.queue}`);
  setText('offer-from', msg.transferFrom ? `Transfer from ${agentName(msg.transferFrom)}` : '');
  $('offer-from').hidden = !msg.transferFrom;
  setText('offer-queue', msg.queueName || msg.queue);
  // A transferred caller's wait in the queue is over: the row would mislead (the title says who transfers).
  $('offer-wait-row').hidden = Boolean(msg.transferFrom);
  setText('offer-path', msg.ivrPath && msg.ivrPath.length ? msg.ivrPath.join(' › ') : '(none)');
  setText('offer-repeat', String(msg.repeatCount ?? 0));
  setText('offer-language', msg.language || '—');
  setText('offer-callback', msg.callback ? 'Yes: we are calling the caller back' : 'No');
  button('btn-accept').disabled = false;
  button('btn-reject').disabled = false;
  tick();
  $('offer').hidden = false;
  $('btn-accept').focus();
  // Re-read the server clock: the deadline is in server time. The wait counts on from the synced clock
  // (a jump of the offset is not time the caller waited).
  const id = msg.offerId;
  void serverClock.sync().then(() => {
    if (offer && offer.offerId === id) offer.receivedAt = serverClock.now();
    tick();
  });
}

function hideOffer() {
  offer = null;
  $('offer').hidden = true;
}

/** @param {CallMessage} msg */
function showCall(msg) {
  if (offer && offer.callSid === msg.callSid) hideOffer();
  const fresh = !call || call.callSid !== msg.callSid;
  // The timer counts the talk: from `talkStartedAt` when the server knows it (a desk that reconnects mid-call).
  const since = msg.talkStartedAt ?? (!call || fresh || (msg.status === 'connected' && call.status === 'connecting') ? msg.since : call.since);
  call = { callSid: msg.callSid, queue: msg.queue, status: msg.status, since };
  // "Accepted: your phone will ring." is done once the phone answered (or did not).
  if (accepting && msg.status !== 'connecting') {
    accepting = false;
    if (msg.status !== 'failed') say('');
  }
  if (msg.status === 'failed') {
    call = null;
    $('call').hidden = true;
    say('Your phone did not answer. The caller keeps their place in the queue.', true);
    $('agent-name').focus();
    return;
  }
  setText('call-queue', msg.queue);
  const hold = button('btn-hold');
  hold.textContent = msg.status === 'on_hold' ? 'Resume' : 'Hold';
  hold.setAttribute('aria-pressed', String(msg.status === 'on_hold'));
  hold.disabled = !['connected', 'on_hold'].includes(msg.status);
  button('btn-hangup').disabled = msg.status === 'ended';
  if (fresh && transfer && transfer.callSid !== msg.callSid) resetTransfer();
  renderTransfer();
  const wasHidden = $('call').hidden;
  $('call').hidden = false;
  if (wasHidden) $('btn-hangup').focus();
  void serverClock.sync().then(tick);
}

/** @param {WrapUpMessage} msg */
function showWrapUp(msg) {
  wrap = { callSid: msg.callSid, queue: msg.queue, deadline: msg.deadline };
  call = null;
  $('call').hidden = true;
  // The call left this desk (a transfer completed, or a cold one is on its way): say how it went.
  if (transfer && transfer.callSid === msg.callSid && transfer.note) say(transfer.note, transfer.status === 'failed');
  resetTransfer({ keep: true });
  form('wrapup-form').reset();
  button('btn-wrapup').disabled = false;
  setText('wrapup-title', `Wrap-up — ${msg.queue}`);
  $('wrapup').hidden = false;
  tick();
  const first = document.querySelector('#wrapup-form input[name="disposition"]');
  if (first instanceof HTMLInputElement) first.focus();
  void serverClock.sync().then(tick);
}

function hideWrapUp() {
  wrap = null;
  $('wrapup').hidden = true;
}

// ---------- transfers ----------

const ACTIVE_TRANSFER = new Set(['sending', 'ringing', 'consulting']);
/** @type {Record<string, string>} */
const KIND_WORDS = { queue: 'queue', agent: 'agent', external: 'outside number' };
/** @type {Record<string, string>} a field an error names → the control to mark */
const FIELD_CONTROLS = { 'to.queue': 'transfer-queue', 'to.agentId': 'transfer-agent', 'to.number': 'transfer-number', warm: 'transfer-warm' };

/** @param {string} id */
function agentName(id) {
  return directory.agents.find((a) => a.id === id)?.name ?? id;
}

/**
 * @template {{ id: string }} T
 * @param {HTMLSelectElement} el
 * @param {T[]} items
 * @param {(item: T) => string} label
 */
function fillSelect(el, items, label) {
  const keep = el.value;
  el.replaceChildren(...items.map((it) => {
    const o = document.createElement('option');
    o.value = it.id;
    o.textContent = label(it);
    return o;
  }));
  if (items.some((it) => it.id === keep)) el.value = keep;
}

/** @returns {TransferTarget['kind']} */
function transferKind() {
  const v = document.querySelector('#transfer-form input[name="transfer-kind"]:checked');
  return v instanceof HTMLInputElement && (v.value === 'agent' || v.value === 'external') ? v.value : 'queue';
}

/** Show the target control for the chosen kind (warm to a queue consults the agent that queue would pick). */
function renderTransferKind() {
  const kind = transferKind();
  $('transfer-queue-group').hidden = kind !== 'queue';
  $('transfer-agent-group').hidden = kind !== 'agent';
  $('transfer-number-group').hidden = kind !== 'external';
  setText('transfer-warm-hint', kind === 'queue'
    ? 'Warm: you consult the agent that queue would pick now (someone must be free). Cold: the caller goes to the front of the queue.'
    : 'Warm: you talk to them first while the caller holds. Cold: you leave at once.');
}

function clearTransferError() {
  setText('transfer-error', '');
  for (const id of Object.values(FIELD_CONTROLS)) $(id).removeAttribute('aria-invalid');
}

/**
 * A refused transfer command: the message next to the form, the field it names marked and focused.
 * @param {{ field?: string, message: string, code?: string }} msg
 */
function showTransferError(msg) {
  const id = msg.field ? FIELD_CONTROLS[msg.field] : undefined;
  setText('transfer-error', `${msg.message}${msg.code ? ` (${msg.code})` : ''}`);
  if (transfer && transfer.status === 'sending') transfer = null;
  renderTransfer();
  if ($('transfer-controls').hidden) return;
  if (id && !control(id).disabled && !control(id).closest('[hidden]')) {
    control(id).setAttribute('aria-invalid', 'true');
    control(id).focus();
  } else {
    transferFocus();
  }
}

/** The most useful place for the focus in the transfer controls right now. */
function transferFocus() {
  if (!$('transfer-consult').hidden) $(!$('btn-transfer-complete').hidden ? 'btn-transfer-complete' : 'btn-transfer-cancel').focus();
  else if (!element('transfer-fields', HTMLFieldSetElement).disabled) $('btn-transfer').focus();
  else $('transfer-status').focus();
}

/** The transfer controls follow the call (connected or on hold) and the transfer in progress, if any. */
function renderTransfer() {
  const mine = transfer && call && transfer.callSid === call.callSid ? transfer : null;
  const active = Boolean(mine && ACTIVE_TRANSFER.has(mine.status));
  const show = Boolean(call && (['connected', 'on_hold'].includes(call.status) || active));
  renderCallStatus(mine, active);
  const box = $('transfer-controls');
  const hadFocus = box.contains(document.activeElement);
  box.hidden = !show;
  element('transfer-fields', HTMLFieldSetElement).disabled = active;
  // A warm transfer can be cancelled while the target rings; completed once they answer.
  $('transfer-consult').hidden = !(active && mine?.mode === 'warm' && ['ringing', 'consulting'].includes(mine.status));
  $('btn-transfer-complete').hidden = mine?.status !== 'consulting';
  setText('transfer-status', mine?.note ?? '');
  $('transfer-status').classList.toggle('error', mine?.status === 'failed');
  if (call) button('btn-hold').disabled = active || !['connected', 'on_hold'].includes(call.status);
  // Focus that was on a control now hidden or disabled goes somewhere useful, never to the page body.
  const focused = document.activeElement;
  const lost = focused === document.body || (focused instanceof HTMLButtonElement && focused.disabled) || focused?.closest('[hidden]');
  if (hadFocus && lost) {
    if (show) transferFocus();
    else $('btn-hangup').focus();
  }
}

/**
 * The call's Status line: while a transfer is under way the caller is on hold, whatever the call says.
 * @param {ShownTransfer | null} mine
 * @param {boolean} active
 */
function renderCallStatus(mine, active) {
  if (!call) return;
  let text = CALL_LABELS[call.status] ?? call.status;
  if (active && mine?.status === 'consulting') text = `Consulting ${mine.label} — caller on hold`;
  else if (active && mine) text = `Transferring to ${mine.label} — caller on hold`;
  setText('call-status', text);
}

/** A fresh form; `keep` keeps the last transfer (a cold one reports its outcome after wrap-up starts). */
function resetTransfer({ keep = false } = {}) {
  if (!keep) transfer = null;
  transferRefs.clear();
  clearTransferError();
  form('transfer-form').reset();
  renderTransferKind();
  renderTransfer();
}

/**
 * Who a transfer goes to: the target the server names (a desk that reconnected), else its kind.
 * @param {TransferMessage} msg
 */
function targetLabel(msg) {
  const to = msg.to;
  if (to?.kind === 'agent' && to.agentId) return agentName(to.agentId);
  if (to?.kind === 'queue' && to.queue) return directory.queues.find((q) => q.id === to.queue)?.name ?? to.queue;
  if (to?.kind === 'external' && to.number) return to.number;
  return `the ${KIND_WORDS[msg.kind] ?? msg.kind}`;
}

/** @param {ShownTransfer} t */
function transferNote(t) {
  const who = t.label;
  switch (t.status) {
    case 'sending': return `Transferring to ${who}…`;
    case 'ringing': return t.mode === 'warm'
      ? `Ringing ${who}. The caller is on hold; you can talk to ${who} when they answer.`
      : `Ringing ${who}. The caller is on hold until they answer.`;
    case 'consulting': return `${who} answered: you are talking to them while the caller holds. Complete the transfer to hand the caller over, or cancel it.`;
    case 'completed': return t.kind === 'queue' && t.mode === 'cold' ? `Transferred to ${who}: the caller is at the front of the queue.` : `Transfer to ${who} completed: the caller is theirs.`;
    case 'cancelled': return `Transfer to ${who} cancelled: the caller is back with you.`;
    case 'failed': return t.back
      ? `${who} did not take the call: the caller is back with you.`
      : `${who} did not take the call: the caller went back to the front of the queue.`;
    default: return `Transfer: ${t.status}`;
  }
}

/**
 * A `transfer` message: progress of this agent's transfer (docs/agent-protocol.md, Transfers).
 * @param {TransferMessage} msg
 */
function onTransfer(msg) {
  const same = transfer && transfer.callSid === msg.callSid ? transfer : null;
  transfer = {
    callSid: msg.callSid,
    kind: msg.kind,
    mode: msg.mode,
    label: same ? same.label : targetLabel(msg),
    // Still on this desk: a transfer that did not happen brings the caller back here.
    back: Boolean(call && call.callSid === msg.callSid),
    status: msg.status,
  };
  transfer.note = transferNote(transfer) + (msg.reason && msg.status === 'failed' ? ` (${msg.reason.replace(/_/g, ' ')})` : '');
  if (transfer.back) {
    const hadFocus = $('transfer-controls').contains(document.activeElement);
    renderTransfer();
    if (msg.status === 'consulting' || (hadFocus && msg.status === 'ringing')) transferFocus();
  } else {
    // A cold transfer ends after this desk has moved on (wrap-up): say how it went.
    say(transfer.note, msg.status === 'failed');
  }
}

function tick() {
  const now = serverClock.now();
  if (offer) {
    setText('offer-countdown', String(Math.max(0, Math.ceil((offer.deadline - now) / 1000))));
    if (!offer.transferFrom) setText('offer-wait', duration(offer.waitSeconds + Math.max(0, now - offer.receivedAt) / 1000));
  }
  if (call) setText('call-timer', duration((now - call.since) / 1000));
  if (wrap) setText('wrapup-countdown', String(Math.max(0, Math.ceil((wrap.deadline - now) / 1000))));
}
setInterval(tick, 250);

// ---------- the socket ----------

/** @param {ServerMessage} msg */
function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      setText('agent-name', `${msg.name} · ${msg.team}`);
      directory = { queues: msg.directory?.queues ?? [], agents: msg.directory?.agents ?? [] };
      fillSelect(element('transfer-queue', HTMLSelectElement), directory.queues, (q) => q.name);
      fillSelect(element('transfer-agent', HTMLSelectElement), directory.agents, (a) => `${a.name} (${a.team})`);
      state = { state: msg.state, since: msg.since, reason: '' };
      if (!softphoneStarted) {
        softphoneStarted = true;
        void softphone.start();
      }
      $('signin').hidden = true;
      $('desk').hidden = false;
      renderState();
      if (!['reserved', 'on_call', 'wrap_up'].includes(msg.state)) {
        hideOffer();
        if (call) {
          call = null;
          $('call').hidden = true;
        }
        resetTransfer();
        hideWrapUp();
      }
      if (!document.activeElement || document.activeElement === document.body || $('signin').contains(document.activeElement)) {
        (button('btn-available').disabled ? $('agent-name') : $('btn-available')).focus();
      }
      void serverClock.sync();
      break;
    case 'state':
      state = { state: msg.state, since: msg.since, reason: msg.reason ?? '' };
      renderState();
      if (msg.state !== 'reserved') hideOffer();
      if (['available', 'break', 'offline'].includes(msg.state)) {
        if (call) {
          call = null;
          $('call').hidden = true;
          resetTransfer();
        }
        if (wrap) hideWrapUp();
      }
      break;
    case 'offer':
      showOffer(msg);
      break;
    case 'offer_cancelled':
      if (offer && offer.offerId === msg.offerId) {
        hideOffer();
        say(CANCEL_LABELS[msg.reason] ?? `The offer ended (${msg.reason}).`, msg.reason === 'timeout');
        $('agent-name').focus();
      }
      break;
    case 'call':
      showCall(msg);
      break;
    case 'wrap_up':
      showWrapUp(msg);
      break;
    case 'transfer':
      onTransfer(msg);
      break;
    case 'ack':
      if (msg.ref) transferRefs.delete(msg.ref);
      if (msg.for === 'wrap_up') {
        hideWrapUp();
        say('Wrap-up saved.');
        $('agent-name').focus();
      } else if (msg.for === 'set_state' && pendingSignOut) {
        // The sign-out (set_state offline) succeeded: the agent is offline on the server.
        finishSignOut();
      }
      break;
    case 'error':
      if (msg.code === 'unauthorized' || msg.code === 'rate_limited') {
        sessionStorage.removeItem(TOKEN_KEY);
        setText('signin-error', msg.code === 'rate_limited' ? `Too many failed sign-ins from here: ${msg.message}` : 'That token was not accepted. Check it and try again.');
        $('signin').hidden = false;
        $('desk').hidden = true;
        $('token').focus();
      } else if (msg.ref && transferRefs.has(msg.ref)) {
        transferRefs.delete(msg.ref);
        showTransferError(msg);
      } else {
        if (msg.code === 'stale_offer' || msg.code === 'caller_gone') hideOffer();
        if (wrap) button('btn-wrapup').disabled = false;
        pendingSignOut = false;
        say(`${msg.message}${msg.code ? ` (${msg.code})` : ''}`, true);
      }
      break;
    case 'reconnect':
      say('The server is restarting: reconnecting…');
      break;
    default:
      break;
  }
}

/**
 * @param {import('./live.js').SocketStatus} status
 * @param {import('./live.js').StatusDetail} detail
 */
function onStatus(status, detail) {
  const lost = $('conn-lost');
  const conn = $('conn');
  conn.dataset.status = status;
  if (status === 'open') {
    conn.textContent = detail.reconnected ? 'Connected (reconnected)' : 'Connected';
    lost.hidden = true;
    lost.textContent = '';
  } else if (status === 'lost') {
    conn.textContent = 'Disconnected';
    lost.textContent = `Connection lost. Reconnecting automatically (attempt ${detail.attempt})… Calls keep ringing on your phone; you stay signed in for a short grace period.`;
    lost.hidden = false;
  } else if (status === 'reconnecting') {
    conn.textContent = 'Reconnecting…';
  } else if (status === 'connecting') {
    conn.textContent = 'Connecting…';
  } else if (status === 'closed') {
    conn.textContent = 'Not signed in';
    lost.hidden = true;
  }
}

/** @param {string} token */
function signIn(token) {
  if (socket) socket.stop();
  setText('signin-error', '');
  sessionStorage.setItem(TOKEN_KEY, token);
  agentToken = token;
  socket = liveSocket({ path: '/agent/ws', hello: () => ({ type: 'hello', token }), onMessage, onStatus });
}

let pendingSignOut = false;
function finishSignOut() {
  pendingSignOut = false;
  sessionStorage.removeItem(TOKEN_KEY);
  if (socket) socket.stop();
  socket = null;
  softphone.stop();
  softphoneStarted = false;
  $('desk').hidden = true;
  $('signin').hidden = false;
  input('token').value = '';
  $('conn').textContent = 'Signed out';
  $('conn-lost').hidden = true;
  $('token').focus();
}

// ---------- controls ----------

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = input('token').value.trim();
  if (token) signIn(token);
});
$('btn-available').addEventListener('click', () => command({ type: 'set_state', state: 'available' }));
$('btn-break').addEventListener('click', () => command({ type: 'set_state', state: 'break', reason: element('break-reason', HTMLSelectElement).value }));
$('btn-signout').addEventListener('click', () => {
  if (state.state === 'offline') {
    finishSignOut();
    return;
  }
  pendingSignOut = true;
  if (!command({ type: 'set_state', state: 'offline' })) finishSignOut();
});
$('btn-accept').addEventListener('click', () => {
  if (!offer) return;
  button('btn-accept').disabled = true;
  button('btn-reject').disabled = true;
  if (command({ type: 'accept', offerId: offer.offerId })) {
    say('Accepted: your phone will ring.');
    accepting = true;
    softphone.expectCall();
  }
});
$('btn-reject').addEventListener('click', () => {
  if (!offer) return;
  const id = offer.offerId;
  hideOffer();
  command({ type: 'reject', offerId: id });
  say('Rejected: the caller goes to the next agent.');
  $('agent-name').focus();
});
$('btn-hold').addEventListener('click', () => {
  if (call) command({ type: 'hold', callSid: call.callSid, on: call.status !== 'on_hold' });
});
$('btn-hangup').addEventListener('click', () => {
  if (call) command({ type: 'hangup', callSid: call.callSid });
});
for (const radio of document.querySelectorAll('#transfer-form input[name="transfer-kind"]')) {
  radio.addEventListener('change', () => {
    clearTransferError();
    renderTransferKind();
  });
}
for (const id of ['transfer-queue', 'transfer-agent', 'transfer-number', 'transfer-warm']) control(id).addEventListener('change', clearTransferError);
$('transfer-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!call || (transfer && transfer.callSid === call.callSid && ACTIVE_TRANSFER.has(transfer.status))) return;
  clearTransferError();
  const kind = transferKind();
  const warm = input('transfer-warm').checked;
  /** @type {TransferTarget} */
  let to;
  let label;
  let value;
  if (kind === 'queue') {
    const queue = control('transfer-queue').value;
    to = { kind, queue };
    value = queue;
    label = directory.queues.find((q) => q.id === queue)?.name ?? queue;
  } else if (kind === 'agent') {
    const agentId = control('transfer-agent').value;
    to = { kind, agentId };
    value = agentId;
    label = agentName(agentId);
  } else {
    const number = input('transfer-number').value.replace(/[\s().-]/g, '');
    to = { kind, number };
    value = number;
    label = number;
  }
  const field = { queue: 'to.queue', agent: 'to.agentId', external: 'to.number' }[kind];
  if (!value) {
    showTransferError({ field, message: `${field}: choose ${kind === 'external' ? 'a number' : `a ${kind}`} to transfer to` });
    return;
  }
  if (kind === 'external' && !/^\+[1-9]\d{6,14}$/.test(value)) {
    showTransferError({ field, message: `${field}: an E.164 number: +, country code and number, e.g. +15551230000` });
    return;
  }
  transfer = { callSid: call.callSid, kind, mode: warm ? 'warm' : 'cold', label, back: true, status: 'sending' };
  transfer.note = transferNote(transfer);
  const ref = command({ type: 'transfer', callSid: call.callSid, to, warm });
  if (!ref) {
    transfer = null;
    renderTransfer();
    return;
  }
  transferRefs.add(ref);
  renderTransfer();
});
$('btn-transfer-complete').addEventListener('click', () => {
  if (!transfer || transfer.status !== 'consulting') return;
  const ref = command({ type: 'transfer_complete', callSid: transfer.callSid });
  if (ref) transferRefs.add(ref);
});
$('btn-transfer-cancel').addEventListener('click', () => {
  if (!transfer || !ACTIVE_TRANSFER.has(transfer.status)) return;
  const ref = command({ type: 'transfer_cancel', callSid: transfer.callSid });
  if (ref) transferRefs.add(ref);
});
$('wrapup-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!wrap) return;
  const data = new FormData(form('wrapup-form'));
  const disposition = data.get('disposition');
  if (typeof disposition !== 'string' || !disposition) {
    say('Choose a disposition first.', true);
    return;
  }
  button('btn-wrapup').disabled = true;
  // The server checks the disposition (one of the form's radio values).
  const chosen = /** @type {Disposition} */ (disposition);
  if (!command({ type: 'wrap_up', callSid: wrap.callSid, disposition: chosen, code: String(data.get('code') ?? '').trim() })) button('btn-wrapup').disabled = false;
});

$('btn-sp-answer').addEventListener('click', () => softphone.answer());
$('btn-sp-decline').addEventListener('click', () => softphone.decline());
$('btn-sp-mute').addEventListener('click', () => softphone.toggleMute());
$('sp-input').addEventListener('change', () => void softphone.useInput(element('sp-input', HTMLSelectElement).value));
$('sp-output').addEventListener('change', () => void softphone.useOutput(element('sp-output', HTMLSelectElement).value));

// A token in the fragment (#token=...) or from this tab's session signs in at once.
const initial = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || '';
clearFragment();
if (initial) signIn(initial);
renderState();
renderTransferKind();
