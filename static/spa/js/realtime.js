// The tenant's realtime feed: /v2/ws/events?token=...[&severity=&zone=&camera_id=], event envelopes
// {"v":2,"data":{event}} and other messages {"type":"export","data":{job}}; reconnect with backoff.
import { session, signOut } from "./api.js";

/**
 * Calls onEvent(event) for each pushed event and onState("live"|"connecting"|"offline"); returns close().
 * `filters` (camera_id, zone, severity) are the server's: only matching events are pushed.
 */
export function subscribeEvents(onEvent, onState, filters = {}) {
  return subscribe((message) => message.v === 2 && message.data && onEvent(message.data), onState, filters);
}

/** Calls onJob(job) for each export job's progress pushed to the tenant ({"type":"export"}); returns close(). */
export function subscribeExports(onJob, onState) {
  return subscribe((message) => message.type === "export" && message.data && onJob(message.data), onState);
}

function subscribe(onMessage, onState, filters = {}) {
  let socket = null;
  let closed = false;
  let retry = 1000;
  let timer = null;

  function connect() {
    if (!session.current()) {
      signOut("Your session has expired. Please sign in again.");
      return;
    }
    onState("connecting");
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ token: session.token });
    for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
    socket = new WebSocket(`${scheme}://${window.location.host}/v2/ws/events?${query}`);
    socket.addEventListener("open", () => {
      retry = 1000;
      onState("live");
    });
    socket.addEventListener("message", (message) => {
      onMessage(JSON.parse(message.data));
    });
    socket.addEventListener("close", () => {
      if (closed) return;
      onState("offline");
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    socket?.close();
  };
}
