// A camera's live picture: fragmented MP4 over its WebSocket (/v2/ws/live/<id>) into Media Source Extensions
// (ManagedMediaSource where MediaSource is missing, as on iPhone Safari), kept within a second of live; the camera's
// live HLS playlist where MSE cannot play it or the socket cannot be opened.
import { playHls } from "./player.js";
import { socketUrl as sessionSocketUrl } from "./realtime.js";

// Jumping to live, not speeding up: Safari rebuffers on every playbackRate change.
const MAX_LAG_S = 1.5;
const LIVE_EDGE_S = 0.2;
// What stays buffered behind the playhead: older media is removed (the buffer stays small; a live view that jumps
// ahead when 1.5 s behind has no use for it), in one go once TRIM_EVERY_S more has piled up, not at each segment.
const KEEP_S = 10;
const TRIM_EVERY_S = 5;
// The WebSocket close codes of the live consumer: an unknown (or another tenant's) camera, an expired token.
const NOT_FOUND = 4404;
const TOKEN_EXPIRED = 4401;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
// An HLS stream that failed (the camera not streaming yet, a token in its URL that expired) starts again after this.
const HLS_RETRY_MS = 10000;

const NOT_STREAMING = "No video yet: the camera is not streaming.";

const liveUrl = (id) => `/v2/hls/${encodeURIComponent(id)}/live.m3u8`;

/**
 * A Media Source on `video` with one source buffer of `mime` in "segments" mode, fed in order from a queue (an
 * append waits while the buffer is updating). `onFailure()` once when the browser cannot take or decode the media.
 * Returns {append(data), close()}: close() before the video gets another source.
 */
function mediaSourcePlayer(MediaSourceType, video, mime, onFailure) {
  const mediaSource = new MediaSourceType();
  const url = URL.createObjectURL(mediaSource);
  const queue = [];
  let buffer = null;
  let startAt = null; // where the playhead was sent to start; past it, the video plays
  let closed = false;

  const fail = () => {
    if (closed) return;
    close();
    onFailure();
  };
  // Keeps the playhead near the newest frame, and the buffer short: KEEP_S behind the playhead, and behind a
  // paused playhead no more than KEEP_S older than the newest frame (which would keep growing otherwise).
  const follow = () => {
    const { buffered } = video;
    if (!buffered.length) return;
    const end = buffered.end(buffered.length - 1);
    if (startAt === null || video.currentTime <= startAt) {
      // Until it plays, the playhead goes to the newest frame at each append (after the segments since the latest
      // key frame, which come at once): playback starts at live, not where the video was when its first data came.
      if (queue.length) return;
      startAt = Math.max(buffered.start(0), end - LIVE_EDGE_S);
      video.currentTime = startAt;
      video.play().catch(() => {}); // muted autoplay is allowed; a refusal leaves the play button
    } else if (!video.paused && (end - video.currentTime > MAX_LAG_S || video.currentTime < buffered.start(buffered.length - 1))) {
      // Too far behind, or held before a gap: a new viewer's first picture is the camera's latest key frame, and its
      // full stream comes from the next one on (live/feed.py), so playing on from the gap's far side would keep the
      // whole wait as delay.
      video.currentTime = end - LIVE_EDGE_S;
    }
    const oldest = Math.max(video.currentTime, end - KEEP_S) - KEEP_S;
    const start = buffer.buffered.length ? buffer.buffered.start(0) : oldest;
    if (oldest - start > TRIM_EVERY_S) buffer.remove(start, oldest);
  };
  const pump = () => {
    if (closed || !buffer || buffer.updating || !queue.length) return;
    try {
      buffer.appendBuffer(queue.shift());
    } catch {
      fail(); // a QuotaExceededError with the buffer trimmed, or media it cannot parse
    }
  };

  mediaSource.addEventListener(
    "sourceopen",
    () => {
      URL.revokeObjectURL(url);
      if (closed) return;
      try {
        buffer = mediaSource.addSourceBuffer(mime);
      } catch {
        fail();
        return;
      }
      buffer.mode = "segments";
      buffer.addEventListener("updateend", () => {
        if (closed) return;
        if (!buffer.updating) follow();
        pump();
      });
      buffer.addEventListener("error", fail);
      pump();
    },
    { once: true },
  );
  video.addEventListener("error", fail);
  // Safari plays a ManagedMediaSource only with AirPlay off.
  if (!window.MediaSource) video.disableRemotePlayback = true;
  video.src = url;

  function close() {
    closed = true;
    queue.length = 0;
    video.removeEventListener("error", fail);
  }
  return {
    append(data) {
      queue.push(data);
      pump();
    },
    close,
  };
}

/**
 * Plays camera `cameraId` live in `video`. `onMode("MSE"|"HLS")` says how it plays once it does; `onNotice(text,
 * {error})` says why there is no picture (not streaming yet, refused, cannot be played). A page without the
 * console's session (a share link's) gives `socketUrl(path)` and `hlsUrl`, each carrying its own token. Returns
 * stop(), which closes the socket, frees the Media Source and empties the video.
 */
export function playLive(
  video,
  cameraId,
  { onMode = () => {}, onNotice = () => {}, socketUrl = sessionSocketUrl, hlsUrl = liveUrl(cameraId) } = {},
) {
  const MediaSourceType = window.MediaSource || window.ManagedMediaSource;
  let socket = null;
  let player = null;
  let stopHls = null;
  let timer = null;
  let retry = RETRY_FIRST_MS;
  let opened = false; // a socket that never opened sends the player to HLS; one that did is reopened
  let refused = false; // the server said why it will not stream: asking again gets the same answer
  let stopped = false;

  function hls() {
    closeSocket();
    player?.close();
    player = null;
    onMode("HLS");
    stopHls = playHls(video, hlsUrl, {
      onError: (message) => {
        onNotice(message);
        timer = setTimeout(hls, HLS_RETRY_MS);
      },
    });
  }

  function closeSocket() {
    if (!socket) return;
    const closing = socket;
    closing.onclose = null;
    closing.onmessage = null;
    // Closing a socket still connecting writes an error to Chrome's console: it is closed once open instead.
    if (closing.readyState === WebSocket.CONNECTING) closing.onopen = () => closing.close();
    else closing.close();
    socket = null;
  }

  function onText(message) {
    if (message.type === "waiting") onNotice(NOT_STREAMING);
    else if (message.type === "error") {
      refused = true;
      onNotice(message.detail, { error: true });
    }
    else if (message.type === "init") {
      // The first, or the camera's stream restarted: a new source buffer for its (maybe new) codecs.
      if (!MediaSourceType.isTypeSupported(message.mime)) {
        hls();
        return;
      }
      player?.close();
      player = mediaSourcePlayer(MediaSourceType, video, message.mime, hls);
      onMode("MSE");
    }
  }

  async function connect() {
    let url;
    try {
      url = await socketUrl(`/v2/ws/live/${encodeURIComponent(cameraId)}`);
    } catch {
      if (!stopped) reconnectLater(); // the server cannot be reached to renew the token: the session goes on
      return;
    }
    if (stopped || !url) return;
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      opened = true;
      retry = RETRY_FIRST_MS;
    };
    socket.onmessage = ({ data }) => {
      if (typeof data === "string") onText(JSON.parse(data));
      else player?.append(data);
    };
    socket.onclose = ({ code }) => {
      socket = null;
      // Its error message is on screen. The message, not only the close code, ends it: a close whose frame was lost
      // on a loaded machine (1006) must not look like a dropped connection.
      if (refused || code === NOT_FOUND) return;
      if (!opened) hls();
      else if (code === TOKEN_EXPIRED) connect(); // with the token renewed by socketUrl
      else reconnectLater();
    };
  }

  function reconnectLater() {
    timer = setTimeout(connect, retry);
    retry = Math.min(retry * 2, RETRY_MAX_MS);
  }

  if (MediaSourceType) connect();
  else hls();
  return () => {
    stopped = true;
    clearTimeout(timer);
    closeSocket();
    player?.close();
    stopHls?.();
    video.removeAttribute("src");
    video.load();
  };
}
