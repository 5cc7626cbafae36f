// @ts-check
// The agent desk: the agent WebSocket protocol (docs/agent-protocol.md) as a page.
import { clearFragment, duration, element, liveSocket, serverClock, setText, tokenFromFragment } from './live.js';
import { createSoftphone } from './softphone.js';
import { resetRecording, showRecording } from './desk-recording.js';
import { $, button, command, desk, form, input, say } from './desk-state.js';
import {
  agentName,
  fillSelect,
  onTransfer,
  renderTransfer,
  renderTransferKind,
  resetTransfer,
  showTransferError,
} from './desk-transfer.js';

/**
 * @typedef {import('./desk-state.js').ServerMessage} ServerMessage
 * @typedef {import('./desk-state.js').OfferMessage} OfferMessage
 * @typedef {import('./desk-state.js').CallMessage} CallMessage
 * @typedef {import('./desk-state.js').WrapUpMessage} WrapUpMessage
 * @typedef {import('./desk-state.js').Disposition} Disposition
 */

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
const CANCEL_LABELS = {
  timeout: 'The offer timed out: the caller went to the next agent and you are on break. Choose Available to take calls again.',
  withdrawn: 'The offer was withdrawn (the caller hung up or left the queue).',
  taken: 'The offer was taken on another device.',
};

const softphone = createSoftphone({ agentToken: () => desk.agentToken, onNote: (text) => setText('audio-note', text) });

// ---------- rendering ----------

function renderState() {
  const el = $('state');
  el.textContent = STATE_LABELS[desk.state.state] ?? desk.state.state;
  el.dataset.state = desk.state.state;
  setText('state-since', desk.state.reason ? `(${desk.state.reason.replace(/_/g, ' ')})` : '');
  button('btn-available').disabled = !['offline', 'break'].includes(desk.state.state);
  button('btn-break').disabled = !['available', 'offline'].includes(desk.state.state);
  button('btn-signout').disabled = !['available', 'break', 'offline'].includes(desk.state.state);
}

/** @param {OfferMessage} msg */
function showOffer(msg) {
  desk.offer = { ...msg, receivedAt: serverClock.now() };
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
    if (desk.offer && desk.offer.offerId === id) desk.offer.receivedAt = serverClock.now();
    tick();
  });
}

function hideOffer() {
  desk.offer = null;
  $('offer').hidden = true;
}

/** @param {CallMessage} msg */
function showCall(msg) {
  if (desk.offer && desk.offer.callSid === msg.callSid) hideOffer();
  const fresh = !desk.call || desk.call.callSid !== msg.callSid;
  // The timer counts the talk: from `talkStartedAt` when the server knows it (a desk that reconnects mid-call).
  const since =
    msg.talkStartedAt ??
    (!desk.call || fresh || (msg.status === 'connected' && desk.call.status === 'connecting') ? msg.since : desk.call.since);
  desk.call = { callSid: msg.callSid, queue: msg.queue, status: msg.status, since };
  // "Accepted: your phone will ring." (or the softphone's) is done once the leg answered (or did not).
  if (desk.accepting && msg.status !== 'connecting') {
    desk.accepting = false;
    if (msg.status !== 'failed') say('');
  }
  if (msg.status === 'failed') {
    desk.call = null;
    $('call').hidden = true;
    say(
      `${softphone.active() ? 'The softphone did not answer.' : 'Your phone did not answer.'} The caller keeps their place in the queue.`,
      true,
    );
    $('agent-name').focus();
    return;
  }
  setText('call-queue', msg.queue);
  const hold = button('btn-hold');
  hold.textContent = msg.status === 'on_hold' ? 'Resume' : 'Hold';
  hold.setAttribute('aria-pressed', String(msg.status === 'on_hold'));
  hold.disabled = !['connected', 'on_hold'].includes(msg.status);
  button('btn-hangup').disabled = msg.status === 'ended';
  if (fresh && desk.transfer && desk.transfer.callSid !== msg.callSid) resetTransfer();
  if (fresh || msg.status === 'ended') resetRecording();
  renderTransfer();
  const wasHidden = $('call').hidden;
  $('call').hidden = false;
  if (wasHidden) $('btn-hangup').focus();
  void serverClock.sync().then(tick);
}

/** @param {WrapUpMessage} msg */
function showWrapUp(msg) {
  desk.wrap = { callSid: msg.callSid, queue: msg.queue, deadline: msg.deadline };
  desk.call = null;
  $('call').hidden = true;
  // The call left this desk (a transfer completed, or a cold one is on its way): say how it went.
  if (desk.transfer && desk.transfer.callSid === msg.callSid && desk.transfer.note)
    say(desk.transfer.note, desk.transfer.status === 'failed');
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
  desk.wrap = null;
  $('wrapup').hidden = true;
}

function tick() {
  const now = serverClock.now();
  if (desk.offer) {
    setText('offer-countdown', String(Math.max(0, Math.ceil((desk.offer.deadline - now) / 1000))));
    if (!desk.offer.transferFrom) setText('offer-wait', duration(desk.offer.waitSeconds + Math.max(0, now - desk.offer.receivedAt) / 1000));
  }
  if (desk.call) setText('call-timer', duration((now - desk.call.since) / 1000));
  if (desk.wrap) setText('wrapup-countdown', String(Math.max(0, Math.ceil((desk.wrap.deadline - now) / 1000))));
}
setInterval(tick, 250);

// ---------- the socket ----------

/** @param {ServerMessage} msg */
function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      setText('agent-name', `${msg.name} · ${msg.team}`);
      desk.directory = { queues: msg.directory?.queues ?? [], agents: msg.directory?.agents ?? [] };
      fillSelect(element('transfer-queue', HTMLSelectElement), desk.directory.queues, (q) => q.name);
      fillSelect(element('transfer-agent', HTMLSelectElement), desk.directory.agents, (a) => `${a.name} (${a.team})`);
      desk.state = { state: msg.state, since: msg.since, reason: '' };
      if (!desk.softphoneStarted) {
        desk.softphoneStarted = true;
        void softphone.start();
      }
      $('signin').hidden = true;
      $('desk').hidden = false;
      renderState();
      if (!['reserved', 'on_call', 'wrap_up'].includes(msg.state)) {
        hideOffer();
        if (desk.call) {
          desk.call = null;
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
      desk.state = { state: msg.state, since: msg.since, reason: msg.reason ?? '' };
      renderState();
      if (msg.state !== 'reserved') hideOffer();
      if (['available', 'break', 'offline'].includes(msg.state)) {
        if (desk.call) {
          desk.call = null;
          $('call').hidden = true;
          resetTransfer();
        }
        if (desk.wrap) hideWrapUp();
      }
      break;
    case 'offer':
      showOffer(msg);
      break;
    case 'offer_cancelled':
      if (desk.offer && desk.offer.offerId === msg.offerId) {
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
    case 'recording':
      showRecording(msg);
      break;
    case 'transfer':
      onTransfer(msg);
      break;
    case 'ack':
      if (msg.ref) desk.transferRefs.delete(msg.ref);
      if (msg.for === 'recording') button('btn-recording').disabled = false;
      if (msg.for === 'wrap_up') {
        hideWrapUp();
        say('Wrap-up saved.');
        $('agent-name').focus();
      } else if (msg.for === 'set_state' && desk.pendingSignOut) {
        // The sign-out (set_state offline) succeeded: the agent is offline on the server.
        finishSignOut();
      }
      break;
    case 'error':
      if (msg.code === 'unauthorized' || msg.code === 'rate_limited') {
        sessionStorage.removeItem(TOKEN_KEY);
        setText(
          'signin-error',
          msg.code === 'rate_limited'
            ? `Too many failed sign-ins from here: ${msg.message}`
            : 'That token was not accepted. Check it and try again.',
        );
        $('signin').hidden = false;
        $('desk').hidden = true;
        $('token').focus();
      } else if (msg.ref && desk.transferRefs.has(msg.ref)) {
        desk.transferRefs.delete(msg.ref);
        showTransferError(msg);
      } else {
        if (msg.code === 'stale_offer' || msg.code === 'caller_gone') hideOffer();
        if (desk.wrap) button('btn-wrapup').disabled = false;
        button('btn-recording').disabled = false;
        desk.pendingSignOut = false;
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
  if (desk.socket) desk.socket.stop();
  setText('signin-error', '');
  sessionStorage.setItem(TOKEN_KEY, token);
  desk.agentToken = token;
  desk.socket = liveSocket({ path: '/agent/ws', hello: () => ({ type: 'hello', token }), onMessage, onStatus });
}
function finishSignOut() {
  desk.pendingSignOut = false;
  sessionStorage.removeItem(TOKEN_KEY);
  if (desk.socket) desk.socket.stop();
  desk.socket = null;
  softphone.stop();
  desk.softphoneStarted = false;
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
$('btn-break').addEventListener('click', () =>
  command({ type: 'set_state', state: 'break', reason: element('break-reason', HTMLSelectElement).value }),
);
$('btn-signout').addEventListener('click', () => {
  if (desk.state.state === 'offline') {
    finishSignOut();
    return;
  }
  desk.pendingSignOut = true;
  if (!command({ type: 'set_state', state: 'offline' })) finishSignOut();
});
$('btn-accept').addEventListener('click', () => {
  if (!desk.offer) return;
  button('btn-accept').disabled = true;
  button('btn-reject').disabled = true;
  if (command({ type: 'accept', offerId: desk.offer.offerId })) {
    // Where the call rings: in this page with the softphone on, else on the agent's phone or SIP endpoint.
    say(
      !softphone.active()
        ? 'Accepted: your phone will ring.'
        : softphone.autoAnswer()
          ? 'Accepted: the call rings here and is answered in the softphone.'
          : 'Accepted: the call rings here; answer it in the softphone.',
    );
    desk.accepting = true;
    softphone.expectCall();
  }
});
$('btn-reject').addEventListener('click', () => {
  if (!desk.offer) return;
  const id = desk.offer.offerId;
  hideOffer();
  command({ type: 'reject', offerId: id });
  say('Rejected: the caller goes to the next agent.');
  $('agent-name').focus();
});
$('btn-hold').addEventListener('click', () => {
  if (desk.call) command({ type: 'hold', callSid: desk.call.callSid, on: desk.call.status !== 'on_hold' });
});
$('btn-hangup').addEventListener('click', () => {
  if (desk.call) command({ type: 'hangup', callSid: desk.call.callSid });
});
$('wrapup-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!desk.wrap) return;
  const data = new FormData(form('wrapup-form'));
  const disposition = data.get('disposition');
  if (typeof disposition !== 'string' || !disposition) {
    say('Choose a disposition first.', true);
    return;
  }
  button('btn-wrapup').disabled = true;
  // The server checks the disposition (one of the form's radio values).
  const chosen = /** @type {Disposition} */ (disposition);
  if (!command({ type: 'wrap_up', callSid: desk.wrap.callSid, disposition: chosen, code: String(data.get('code') ?? '').trim() }))
    button('btn-wrapup').disabled = false;
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
