// One HLS player for live view and playback: hls.js where Media Source works, native HLS otherwise.
import { mediaUrl } from "./api.js";

/**
 * Plays `url` (a /v2/hls playlist) in `video`, from `startAt` seconds.
 * `onError(message)` is called once on a fatal error. Returns a function that stops and frees the player.
 */
export function playHls(video, url, { startAt = 0, onError = () => {} } = {}) {
  const source = mediaUrl(url);
  const Hls = window.Hls;
  const start = () => {
    if (startAt) video.currentTime = startAt;
    // Autoplay of muted video is allowed; a refusal only means the user presses play.
    video.play().catch(() => {});
  };
  if (Hls && Hls.isSupported()) {
    const hls = new Hls({ startPosition: startAt || -1 });
    let destroyed = false;
    const destroy = () => {
      if (!destroyed) hls.destroy();
      destroyed = true;
    };
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      const status = data.response?.code;
      // An empty playlist is a live one whose camera sends no video now (offline, or not started yet).
      const nothingYet = status === 404 || data.details === "levelEmptyError";
      onError(nothingYet ? "No video yet: the camera is not streaming." : `The video cannot be played (${data.details}).`);
      destroy();
    });
    hls.loadSource(source);
    hls.attachMedia(video);
    return destroy;
  }
  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = source;
    video.addEventListener("loadedmetadata", start, { once: true });
    video.addEventListener("error", () => onError("The video cannot be played."), { once: true });
    return () => {
      video.removeAttribute("src");
      video.load();
    };
  }
  onError("This browser cannot play HLS video.");
  return () => {};
}
