// The agent desk: the agent WebSocket protocol (docs/agent-protocol.md) as a page.
import { clearFragment, duration, liveSocket, serverClock, setText, tokenFromFragment } from './live.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'switchboard.desk.token';
const STATE_LABELS = {
  offline: 'Offline',
  available: 'Available',
  reserved: 'Offer ringing',
  on_call: 'On call',
  wrap_up: 'Wrap-up',
  break: 'Break',
};
const CALL_LABELS = { connecting: 'Connecting your phone…', connected: 'Connected', on_hold: 'On hold', ended: 'Ended', failed: 'Your phone did not answer' };
const CANCEL_LABELS = {
  timeout: 'The offer timed out: the caller went to the next agent and you are on break. Choose Available to take calls again.',
  withdrawn: 'The offer was withdrawn (the caller hung up or left the queue).',
  taken: 'The offer was taken on another device.',
};

let socket = null;
let agent = null;
let state = { state: 'offline', since: 0, reason: '' };
let offer = null; // { ...offer message, receivedAt: server ms }
let call = null; // { callSid, queue, status, since }
let wrap = null; // { callSid, queue, deadline }
let refSeq = 0;

function say(text, isError = false) {
  const el = $('message');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

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
  $('btn-available').disabled = !['offline', 'break'].includes(state.state);
  $('btn-break').disabled = !['available', 'offline'].includes(state.state);
  $('btn-signout').disabled = !['available', 'break', 'offline'].includes(state.state);
}

function showOffer(msg) {
  offer = { ...msg, receivedAt: serverClock.now() };
  setText('offer-title', `Incoming call — ${msg.queueName || msg.queue}`);
  setText('offer-queue', msg.queueName || msg.queue);
  setText('offer-path', msg.ivrPath && msg.ivrPath.length ? msg.ivrPath.join(' › ') : '(none)');
  setText('offer-repeat', String(msg.repeatCount ?? 0));
  setText('offer-language', msg.language || '—');
  setText('offer-callback', msg.callback ? 'Yes: we are calling the caller back' : 'No');
  $('btn-accept').disabled = false;
  $('btn-reject').disabled = false;
  tick();
  $('offer').hidden = false;
  $('btn-accept').focus();
  // Re-read the server clock: the deadline is in server time.
  void serverClock.sync().then(tick);
}

function hideOffer() {
  offer = null;
  $('offer').hidden = true;
}

function showCall(msg) {
  if (offer && offer.callSid === msg.callSid) hideOffer();
  const fresh = !call || call.callSid !== msg.callSid;
  call = { callSid: msg.callSid, queue: msg.queue, status: msg.status, since: fresh || msg.status === 'connected' && call.status === 'connecting' ? msg.since : call.since };
  if (msg.status === 'failed') {
    call = null;
    $('call').hidden = true;
    say('Your phone did not answer. The caller keeps their place in the queue.', true);
    $('agent-name').focus();
    return;
  }
  setText('call-queue', msg.queue);
  setText('call-status', CALL_LABELS[msg.status] ?? msg.status);
  const hold = $('btn-hold');
  hold.textContent = msg.status === 'on_hold' ? 'Resume' : 'Hold';
  hold.setAttribute('aria-pressed', String(msg.status === 'on_hold'));
  hold.disabled = !['connected', 'on_hold'].includes(msg.status);
  $('btn-hangup').disabled = msg.status === 'ended';
  const wasHidden = $('call').hidden;
  $('call').hidden = false;
  if (wasHidden) $('btn-hangup').focus();
  void serverClock.sync().then(tick);
}

function showWrapUp(msg) {
  wrap = { callSid: msg.callSid, queue: msg.queue, deadline: msg.deadline };
  call = null;
  $('call').hidden = true;
  $('wrapup-form').reset();
  $('btn-wrapup').disabled = false;
  setText('wrapup-title', `Wrap-up — ${msg.queue}`);
  $('wrapup').hidden = false;
  tick();
  document.querySelector('#wrapup-form input[name="disposition"]').focus();
  void serverClock.sync().then(tick);
}

function hideWrapUp() {
  wrap = null;
  $('wrapup').hidden = true;
}

function tick() {
  const now = serverClock.now();
  if (offer) {
    setText('offer-countdown', String(Math.max(0, Math.ceil((offer.deadline - now) / 1000))));
    setText('offer-wait', duration(offer.waitSeconds + Math.max(0, now - offer.receivedAt) / 1000));
  }
  if (call) setText('call-timer', duration((now - call.since) / 1000));
  if (wrap) setText('wrapup-countdown', String(Math.max(0, Math.ceil((wrap.deadline - now) / 1000))));
}
setInterval(tick, 250);

// ---------- the socket ----------

function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      agent = msg;
      setText('agent-name', `${msg.name} · ${msg.team}`);
      state = { state: msg.state, since: msg.since, reason: '' };
      $('signin').hidden = true;
      $('desk').hidden = false;
      renderState();
      if (!['reserved', 'on_call', 'wrap_up'].includes(msg.state)) {
        hideOffer();
        if (call) {
          call = null;
          $('call').hidden = true;
        }
        hideWrapUp();
      }
      if (!document.activeElement || document.activeElement === document.body || $('signin').contains(document.activeElement)) {
        ($('btn-available').disabled ? $('agent-name') : $('btn-available')).focus();
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
    case 'ack':
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
      } else {
        if (msg.code === 'stale_offer' || msg.code === 'caller_gone') hideOffer();
        if (wrap) $('btn-wrapup').disabled = false;
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

function signIn(token) {
  if (socket) socket.stop();
  setText('signin-error', '');
  sessionStorage.setItem(TOKEN_KEY, token);
  socket = liveSocket({ path: '/agent/ws', hello: () => ({ type: 'hello', token }), onMessage, onStatus });
}

let pendingSignOut = false;
function finishSignOut() {
  pendingSignOut = false;
  sessionStorage.removeItem(TOKEN_KEY);
  if (socket) socket.stop();
  socket = null;
  agent = null;
  $('desk').hidden = true;
  $('signin').hidden = false;
  $('token').value = '';
  $('conn').textContent = 'Signed out';
  $('conn-lost').hidden = true;
  $('token').focus();
}

// ---------- controls ----------

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $('token').value.trim();
  if (token) signIn(token);
});
$('btn-available').addEventListener('click', () => command({ type: 'set_state', state: 'available' }));
$('btn-break').addEventListener('click', () => command({ type: 'set_state', state: 'break', reason: $('break-reason').value }));
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
  $('btn-accept').disabled = true;
  $('btn-reject').disabled = true;
  command({ type: 'accept', offerId: offer.offerId });
  say('Accepted: your phone will ring.');
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
$('wrapup-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!wrap) return;
  const form = new FormData($('wrapup-form'));
  const disposition = form.get('disposition');
  if (!disposition) {
    say('Choose a disposition first.', true);
    return;
  }
  $('btn-wrapup').disabled = true;
  if (!command({ type: 'wrap_up', callSid: wrap.callSid, disposition, code: String(form.get('code') ?? '').trim() })) $('btn-wrapup').disabled = false;
});

// A token in the fragment (#token=...) or from this tab's session signs in at once.
const initial = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || '';
clearFragment();
if (initial) signIn(initial);
renderState();
