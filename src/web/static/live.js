// @ts-check
// Shared by the desk and the wallboard: a WebSocket that signs in with a hello message and reconnects by
// itself with backoff, the server's clock (offers and wrap-ups carry server times), and small formatters.

/** The token from the page's fragment (#token=...), which never reaches the server's logs. */
export function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  return m?.[1] ? decodeURIComponent(m[1]) : '';
}

/** Forget the fragment so the token does not stay in the address bar. */
export function clearFragment() {
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
}

/**
 * The server clock: offset = server time − browser time, sampled from GET /web/now. Countdowns are
 * computed from server deadlines with it, so they are right whatever the browser's clock says.
 */
export const serverClock = {
  offset: 0,
  now() {
    return Date.now() + this.offset;
  },
  async sync() {
    try {
      const t0 = Date.now();
      const res = await fetch('/web/now', { cache: 'no-store' });
      const t1 = Date.now();
      const { now } = await res.json();
      if (typeof now === 'number') this.offset = now - (t0 + t1) / 2;
    } catch {
      // Keep the last offset; the socket's own reconnect handles a server that is away.
    }
  },
};

/**
 * @typedef {'connecting' | 'reconnecting' | 'open' | 'lost' | 'closed'} SocketStatus
 * @typedef {{ attempt?: number, reconnected?: boolean, delayMs?: number, code?: number, reason?: string }} StatusDetail
 * @typedef {{ send(msg: object): boolean, isOpen(): boolean, stop(): void }} LiveSocket
 */

/**
 * A signed-in socket that reconnects. `hello()` is sent on every (re)connect; `onMessage` gets each
 * message (parsed JSON, typed by the caller: the server's protocol); `onStatus(status, detail)` the
 * connection's progress.
 * @template M
 * @param {{ path: string, hello: () => object, onMessage: (msg: M) => void, onStatus: (status: SocketStatus, detail: StatusDetail) => void }} o
 * @returns {LiveSocket}
 */
export function liveSocket({ path, hello, onMessage, onStatus }) {
  /** @type {WebSocket | undefined} */
  let ws;
  let attempt = 0;
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retryTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let pingTimer;
  let dropped = false;

  const open = () => {
    let greeted = false;
    clearTimeout(retryTimer);
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
    onStatus(dropped ? 'reconnecting' : 'connecting', { attempt });
    const sock = new WebSocket(url);
    ws = sock;
    sock.addEventListener('open', () => {
      sock.send(JSON.stringify(hello()));
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ type: 'ping' }));
      }, 20000);
    });
    sock.addEventListener('message', (ev) => {
      /** @type {M & { type?: unknown }} */
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!greeted && (msg.type === 'welcome' || msg.type === 'snapshot')) {
        greeted = true;
        onStatus('open', { reconnected: dropped });
        dropped = false;
        attempt = 0;
      }
      onMessage(msg);
    });
    sock.addEventListener('close', (ev) => {
      clearInterval(pingTimer);
      if (stopped) return;
      if (ev.code === 4401 || ev.code === 4429) {
        // Not signed in (wrong token, or too many failed tokens from here): retrying would not help.
        stopped = true;
        onStatus('closed', { code: ev.code, reason: ev.reason || 'not signed in' });
        return;
      }
      attempt += 1;
      dropped = true;
      const delay = Math.min(5000, 500 * 2 ** Math.min(attempt - 1, 4));
      onStatus('lost', { attempt, delayMs: delay });
      retryTimer = setTimeout(open, delay);
    });
  };
  open();
  return {
    send(msg) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify(msg));
        return true;
      }
      return false;
    },
    isOpen() {
      return Boolean(ws && ws.readyState === WebSocket.OPEN);
    },
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      if (ws) ws.close(1000, 'signed out');
    },
  };
}

/**
 * 75 → "1:15", 3700 → "1:01:40".
 * @param {number} seconds
 */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * 0.8123 → "81%", null → "—".
 * @param {number | null | undefined} x
 */
export function percent(x) {
  return x === null || x === undefined ? '—' : `${Math.round(x * 100)}%`;
}

/**
 * Set an element's text by id (no HTML is ever built from server data).
 * @param {string} id
 * @param {string | number} text
 */
export function setText(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== String(text)) el.textContent = String(text);
}

/**
 * The page's element with this id, of the kind the page's HTML gives it: a missing element, or one of
 * another kind, is a fault of the page and fails loudly here rather than later as `undefined`.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T, prototype: T }} kind
 * @returns {T}
 */
export function element(id, kind) {
  const el = document.getElementById(id);
  if (!(el instanceof kind)) throw new Error(`#${id}: expected ${kind.name} in the page`);
  return el;
}

/**
 * A new element with attributes and text (never HTML: server data stays text).
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {string} [text]
 */
export function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
