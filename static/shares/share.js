// A share link's page: gets a share token for the link (with its password, when it asks for one), then plays the
// shared clip or the camera live with it. When the share ends (revoked, expired) the video stops and the page says
// why: live, from the socket's error; a clip, from its playlist's answer, asked again now and then and at expiry.
import { playLive } from "../spa/js/livestream.js";
import { playHls } from "../spa/js/player.js";

// How often a playing clip asks whether its share still holds (a player has the whole clip's URLs from the start).
const CHECK_MS = 10000;
const CANNOT_VIEW = "This share link can no longer be viewed.";

const view = document.querySelector("[data-share]");
const form = view.querySelector("[data-password]");
const formError = view.querySelector("[data-password-error]");
const player = view.querySelector("[data-player]");
const video = player.querySelector("video");
const notice = view.querySelector("[data-notice]");
const endedBox = view.querySelector("[data-ended]");
const pagePath = window.location.pathname;

let stopPlayer = () => {};
let timers = [];

function say(text, { error = false } = {}) {
  notice.textContent = text || "";
  notice.hidden = !text;
  notice.classList.toggle("notice-error", error);
}

function end(reason) {
  stopPlayer();
  timers.forEach(clearTimeout);
  timers = [];
  form?.remove();
  player.hidden = true;
  endedBox.textContent = reason;
  endedBox.hidden = false;
}

/** POSTs the password (or nothing) to the page's URL: the body of the answer, and whether it was a success. */
async function open(password) {
  let response;
  try {
    response = await fetch(pagePath, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(password === undefined ? {} : { password }),
    });
  } catch {
    return { ok: false, status: 0, body: { detail: "The server cannot be reached. Check the connection." } };
  }
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

/** Ends the page when the clip's playlist is refused (the share revoked, or expired); true when it was. */
async function clipEnded(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } }).catch(() => null);
  if (!response || response.ok) return false;
  const body = await response.json().catch(() => ({}));
  end(body.detail || CANNOT_VIEW);
  return true;
}

function playClip(url) {
  stopPlayer = playHls(video, url, {
    onError: async (message) => {
      if (!(await clipEnded(url))) say(message, { error: true });
    },
  });
  const check = async () => {
    if (!(await clipEnded(url))) timers.push(setTimeout(check, CHECK_MS));
  };
  timers.push(setTimeout(check, CHECK_MS));
}

function playCamera(cameraId, token) {
  const query = `?token=${encodeURIComponent(token)}`;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  stopPlayer = playLive(video, cameraId, {
    socketUrl: async (path) => `${scheme}://${window.location.host}${path}${query}`,
    hlsUrl: `/v2/hls/${encodeURIComponent(cameraId)}/live.m3u8${query}`,
    onMode: () => say(""),
    onNotice: (text, { error = false } = {}) => (error ? end(text) : say(text)),
  });
}

function play(share) {
  form?.remove();
  player.hidden = false;
  if (share.live) playCamera(share.camera_id, share.token);
  else playClip(share.playlist_url);
  // The token stops working then: say so rather than wait for the player to fail.
  const left = Date.parse(share.expires) - Date.now();
  timers.push(setTimeout(() => end("This share link has expired."), Math.max(left, 0)));
}

async function start(password) {
  const { ok, status, body } = await open(password);
  if (ok) play(body);
  else if (form && (status === 401 || status === 429 || status === 400)) {
    formError.textContent = body.detail || "The password was not accepted.";
    formError.hidden = false;
    form.querySelector("input").select();
  } else end(body.detail || CANNOT_VIEW);
}

if (form) {
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    formError.hidden = true;
    start(form.elements.password.value);
  });
} else {
  start();
}
