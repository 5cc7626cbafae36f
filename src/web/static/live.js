// Shared by the desk and the wallboard: a WebSocket that signs in with a hello message and reconnects by
// itself with backoff, the server's clock (offers and wrap-ups carry server times), and small formatters.

/** The token from the page's fragment (#token=...), which never reaches the server's logs. */
export function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : '';
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
 * A signed-in socket that reconnects. `onOpenMessage()` is sent on every (re)connect (the hello);
 * `onStatus(status, detail)` gets 'connecting' | 'open' | 'lost' | 'closed'.
 */
export function liveSocket({ path, hello, onMessage, onStatus }) {
  let ws;
  let attempt = 0;
  let stopped = false;
  let retryTimer;
  let pingTimer;
  let dropped = false;

  const open = () => {
    let greeted = false;
    clearTimeout(retryTimer);
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
    onStatus(dropped ? 'reconnecting' : 'connecting', { attempt });
    ws = new WebSocket(url);
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify(hello()));
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
      }, 20000);
    });
    ws.addEventListener('message', (ev) => {
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
    ws.addEventListener('close', (ev) => {
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

/** 75 → "1:15", 3700 → "1:01:40". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** 0.8123 → "81%", null → "—". */
export function percent(x) {
  return x === null || x === undefined ? '—' : `${Math.round(x * 100)}%`;
}

/** Set an element's text by id (no HTML is ever built from server data). */
export function setText(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== String(text)) el.textContent = String(text);
}
