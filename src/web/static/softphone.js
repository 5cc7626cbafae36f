// @ts-check
// The desk's softphone: Twilio's Voice JavaScript SDK (served by the server at /web/vendor/twilio-voice.js,
// which defines the global `Twilio`; loaded only once the server has given this agent a token), registered as the agent's `client:` identity with a token from
// GET /api/agent/voice-token. The bridge dials that identity when the agent accepts an offer; the desk
// answers that leg by itself (a setting), or shows Answer / Decline. Mute, microphone and speaker choice,
// a new token before the old one expires, and a clear message when the browser blocks the microphone.
// Agents whose contact is a phone or SIP address get no token (the server says why) and keep their phone.
import { element, setText } from './live.js';

/**
 * @typedef {import('@twilio/voice-sdk').Device} Device
 * @typedef {import('@twilio/voice-sdk').Call} Call
 * @typedef {{ token: string, identity: string, expiresAt: number }} VoiceToken
 * @typedef {{ code?: number, name?: string, message?: string }} SdkError
 */

const AUTO_KEY = 'switchboard.desk.autoAnswer';
/** Accepting an offer expects the leg for this long (the bridge dials the agent at once; it rings 20 s at most). */
const EXPECT_MS = 30_000;
/** Ask for a new token this long before the current one expires. */
const REFRESH_BEFORE_MS = 60_000;
/** The SDK's codes for a microphone the browser refused or could not open (Twilio Voice error codes). */
const MIC_ERRORS = new Set([31401, 31402, 31208]);

/** @param {string} id */
const button = (id) => element(id, HTMLButtonElement);
/** @param {string} id */
const select = (id) => element(id, HTMLSelectElement);

/**
 * The SDK's Device constructor, from the global the vendor script defines.
 * @returns {(new (token: string, options?: object) => Device) | undefined}
 */
function DeviceClass() {
  const g = /** @type {{ Twilio?: { Device?: new (token: string, options?: object) => Device } }} */ (/** @type {unknown} */ (globalThis));
  return g.Twilio?.Device;
}

/** @type {Promise<void> | undefined} */
let sdkLoading;
/** Load the SDK bundle once (a classic script: it defines the global `Twilio`). */
function loadSdk() {
  sdkLoading ??= new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = '/web/vendor/twilio-voice.js';
    s.onload = () => resolve();
    s.onerror = () => resolve(); // DeviceClass() stays undefined: the desk says the library did not load
    document.head.append(s);
  });
  return sdkLoading;
}

/** @param {string} text */
const status = (text) => setText('softphone-status', text);
/** @param {string} text */
const problem = (text) => setText('softphone-error', text);

/**
 * One desk's softphone: its device and calls, shared by the functions below.
 * @typedef {{
 *   o: { agentToken: () => string, onNote: (text: string) => void },
 *   auto: HTMLInputElement,
 *   device: Device | null,
 *   current: Call | null,
 *   ringing: Call | null,
 *   expectUntil: number,
 *   generation: number,
 * }} Phone
 */

/**
 * @param {{ agentToken: () => string, onNote: (text: string) => void }} o
 */
export function createSoftphone(o) {
  const auto = element('sp-autoanswer', HTMLInputElement);
  auto.checked = localStorage.getItem(AUTO_KEY) !== 'off';
  auto.addEventListener('change', () => localStorage.setItem(AUTO_KEY, auto.checked ? 'on' : 'off'));
  /** @type {Phone} */
  const p = { o, auto, device: null, current: null, ringing: null, expectUntil: 0, generation: 0 };

  return {
    /** Sign in: fetch a token and register (or say why there is no softphone for this agent). */
    start: () => start(p),
    /** True while calls ring in this page (a Device for the agent's client identity), not on a phone. */
    active: () => p.device !== null,
    /** Whether accepted calls are answered by themselves. */
    autoAnswer: () => auto.checked,
    /** The agent accepted an offer: the next incoming leg is theirs (answered when auto-answer is on). */
    expectCall() {
      p.expectUntil = Date.now() + EXPECT_MS;
      if (p.ringing && auto.checked) answer(p, p.ringing);
    },
    /** Sign out: unregister and forget the device. */
    stop() {
      p.generation++;
      p.device?.destroy();
      p.device = null;
      p.current = null;
      p.ringing = null;
      element('softphone', HTMLElement).hidden = true;
    },
    answer() {
      if (p.ringing) answer(p, p.ringing);
    },
    decline() {
      p.ringing?.reject();
      p.ringing = null;
      renderCall(p);
    },
    toggleMute() {
      if (!p.current) return;
      p.current.mute(!p.current.isMuted());
      renderCall(p);
    },
    /** @param {string} id */
    async useInput(id) {
      await p.device?.audio?.setInputDevice(id).catch(/** @param {SdkError} e */ (e) => onError(e));
    },
    /** @param {string} id */
    async useOutput(id) {
      await p.device?.audio?.speakerDevices.set([id]).catch(/** @param {SdkError} e */ (e) => onError(e));
    },
  };
}

/**
 * This agent's voice token, or why there is none.
 * @param {() => string} agentToken
 * @returns {Promise<VoiceToken | { refused: string }>}
 */
async function fetchToken(agentToken) {
  try {
    const res = await fetch('/api/agent/voice-token', { headers: { authorization: `Bearer ${agentToken()}` }, cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    if (res.ok && typeof body.token === 'string') return /** @type {VoiceToken} */ (body);
    return { refused: typeof body.message === 'string' ? body.message : `the server refused (${res.status})` };
  } catch {
    return { refused: 'the server did not answer' };
  }
}

/** @param {Phone} p */
function renderCall(p) {
  const mute = button('btn-sp-mute');
  mute.disabled = !p.current;
  const muted = Boolean(p.current?.isMuted());
  mute.textContent = muted ? 'Unmute' : 'Mute';
  mute.setAttribute('aria-pressed', String(muted));
  button('btn-sp-answer').hidden = !p.ringing;
  button('btn-sp-decline').hidden = !p.ringing;
  if (p.current) status(muted ? 'In call — muted' : 'In call');
  else if (p.ringing) status('Incoming call — answer it here');
  else if (p.device) status('Ready: calls you accept ring here');
}

/** @param {SdkError} err */
function onError(err) {
  if ((err.code !== undefined && MIC_ERRORS.has(err.code)) || /NotAllowed|Permission/i.test(err.name ?? '')) {
    problem('The browser blocks the microphone: allow it for this site (the icon in the address bar), then answer again.');
  } else {
    problem(`Softphone: ${err.message ?? 'error'}${err.code ? ` (${err.code})` : ''}`);
  }
}

/**
 * @param {Phone} p
 * @param {Call} call
 */
function answer(p, call) {
  problem('');
  call.accept();
  p.current = call;
  p.ringing = null;
  renderCall(p);
}

/**
 * @param {Phone} p
 * @param {Call} call
 */
function onIncoming(p, call) {
  p.ringing = call;
  const ended = () => {
    if (p.current === call) p.current = null;
    if (p.ringing === call) p.ringing = null;
    renderCall(p);
  };
  call.on('disconnect', ended);
  call.on('cancel', ended);
  call.on('reject', ended);
  call.on('error', onError);
  call.on('mute', () => renderCall(p));
  if (p.auto.checked && Date.now() < p.expectUntil) {
    p.expectUntil = 0;
    answer(p, call);
  } else {
    renderCall(p);
  }
}

/** The microphone and speaker pickers, from the devices the SDK sees. @param {Phone} p */
async function fillDevices(p) {
  if (!p.device?.audio) return;
  const audio = p.device.audio;
  /**
   * @param {HTMLSelectElement} sel
   * @param {Map<string, MediaDeviceInfo>} devices
   * @param {string | undefined} chosen
   */
  const fill = (sel, devices, chosen) => {
    sel.replaceChildren(
      ...[...devices.values()].map((d, i) => {
        const opt = document.createElement('option');
        opt.value = d.deviceId;
        opt.textContent = d.label || `Device ${i + 1}`;
        return opt;
      }),
    );
    if (chosen) sel.value = chosen;
  };
  fill(select('sp-input'), audio.availableInputDevices, audio.inputDevice?.deviceId);
  fill(select('sp-output'), audio.availableOutputDevices, [...audio.speakerDevices.get()][0]?.deviceId);
}

/** A new token before the current one expires. @param {Phone} p */
async function refresh(p) {
  const mine = p.generation;
  const t = await fetchToken(p.o.agentToken);
  if (mine !== p.generation || !p.device) return;
  if ('refused' in t) problem(`Softphone: could not renew its token: ${t.refused}`);
  else p.device.updateToken(t.token);
}

/** @param {Phone} p */
async function start(p) {
  const mine = ++p.generation;
  const t = await fetchToken(p.o.agentToken);
  if (!('refused' in t)) await loadSdk();
  const Device = DeviceClass();
  if (mine !== p.generation) return;
  if ('refused' in t || !Device) {
    element('softphone', HTMLElement).hidden = true;
    p.o.onNote(
      `Audio: calls ring on your phone or SIP endpoint; accept here, talk there. (No softphone: ${'refused' in t ? t.refused : 'the voice library did not load'}.)`,
    );
    return;
  }
  element('softphone', HTMLElement).hidden = false;
  p.o.onNote(`Audio: in this page, as ${t.identity} (softphone below).`);
  problem('');
  status('Connecting…');
  // The `roaming` edge pins the signalling host the desk's CSP allows; no ring sounds from Twilio's CDN.
  const d = new Device(t.token, {
    edge: 'roaming',
    closeProtection: true,
    codecPreferences: ['opus', 'pcmu'],
    tokenRefreshMs: REFRESH_BEFORE_MS,
  });
  p.device = d;
  d.audio?.incoming(false);
  d.audio?.outgoing(false);
  d.audio?.disconnect(false);
  d.on('registered', () => renderCall(p));
  d.on('unregistered', () => status('Not registered: calls will not ring here'));
  d.on('error', onError);
  d.on('incoming', (/** @type {Call} */ call) => onIncoming(p, call));
  d.on('tokenWillExpire', () => void refresh(p));
  d.audio?.on('deviceChange', () => void fillDevices(p));
  await d.register();
  void fillDevices(p);
  if (navigator.permissions) {
    navigator.permissions
      .query({ name: /** @type {PermissionName} */ ('microphone') })
      .then((perm) => {
        if (perm.state === 'denied') onError({ name: 'NotAllowedError' });
      })
      .catch(() => {});
  }
}
