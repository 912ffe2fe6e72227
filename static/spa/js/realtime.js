// The tenant's realtime feed: /v2/ws/events?token=...[&severity=&zone=&camera_id=][&after=], event envelopes
// {"v":2,"data":{event}} and other messages {"type":"export","data":{job}}; reconnect with backoff.
import { refreshSession, session, signOut } from "./api.js";

const EXPIRED = "Your session has expired. Please sign in again.";

// Live events of two writers can reach a socket swapped (each writer publishes its own in commit order), so the
// event received last is not always the newest: a reconnect resumes from one received this long before it, and the
// screens drop the repeats by id.
const RESUME_MARGIN_MS = 2000;

/**
 * Calls onEvent(event) for each pushed event and onState("live"|"connecting"|"offline"); returns close().
 * `filters` (camera_id, zone, severity) are the server's: only matching events are pushed. A reconnect resumes
 * (`after=`) a little before the last event received, so the server first sends the events that came meanwhile.
 */
export function subscribeEvents(onEvent, onState, filters = {}) {
  let recent = []; // {id, at} received, oldest first: the newest one older than the margin, then the rest
  const onMessage = (message) => {
    if (message.v === 2 && message.data) {
      const now = Date.now();
      recent.push({ id: message.data.id, at: now });
      while (recent.length > 1 && recent[1].at <= now - RESUME_MARGIN_MS) recent.shift();
      onEvent(message.data);
    } else if (message.type === "error") {
      recent = []; // that event is gone (retention): the socket closes, and the next one starts from now
    }
  };
  return subscribe(onMessage, onState, () => ({ ...filters, after: recent[0]?.id }));
}

/** Calls onJob(job) for each export job's progress pushed to the tenant ({"type":"export"}); returns close(). */
export function subscribeExports(onJob, onState) {
  return subscribe((message) => message.type === "export" && message.data && onJob(message.data), onState);
}

/** Whether the access token can open a socket, renewing it first when it has expired or is about to. */
async function tokenReady() {
  if (session.current() && session.refreshDelay() !== 0) return true;
  return (await refreshSession()) || Boolean(session.current());
}

/**
 * The ws(s):// URL of this site's socket `path` with the access token (renewed first when due) and the non-empty
 * `params`; null when the session cannot go on (the user is then signed out). Rejects when the server cannot be
 * reached to renew the token.
 */
export async function socketUrl(path, params = {}) {
  if (!(await tokenReady())) {
    signOut(EXPIRED);
    return null;
  }
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ token: session.token });
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  return `${scheme}://${window.location.host}${path}?${query}`;
}

function subscribe(onMessage, onState, params = () => ({})) {
  let socket = null;
  let closed = false;
  let retry = 1000;
  let timer = null;

  function reconnectLater() {
    onState("offline");
    timer = setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  }

  async function connect() {
    onState("connecting");
    let url;
    try {
      url = await socketUrl("/v2/ws/events", params());
    } catch {
      if (!closed) reconnectLater(); // the server cannot be reached: the session goes on
      return;
    }
    if (closed || !url) return;
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      retry = 1000;
      onState("live");
    });
    socket.addEventListener("message", (message) => {
      onMessage(JSON.parse(message.data));
    });
    socket.addEventListener("close", () => {
      if (!closed) reconnectLater();
    });
  }

  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    socket?.close();
  };
}
