// The realtime event feed: /v2/ws/events?token=...[&severity=&zone=&camera_id=], envelopes {"v":2,"data":{event}}, reconnect with backoff.
import { session, signOut } from "./api.js";

/**
 * Calls onEvent(event) for each pushed event and onState("live"|"connecting"|"offline"); returns close().
 * `filters` (camera_id, zone, severity) are the server's: only matching events are pushed.
 */
export function subscribeEvents(onEvent, onState, filters = {}) {
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
      const envelope = JSON.parse(message.data);
      if (envelope.v === 2 && envelope.data) onEvent(envelope.data);
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
