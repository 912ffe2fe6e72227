// The operator console: a hash router that mounts one screen at a time and tears the last one down.
import { refreshSession, session, signOut } from "./api.js";
import { renderAim } from "./views/aim.js";
import { canReadAudit, renderAudit } from "./views/audit.js";
import { renderCameras } from "./views/cameras.js";
import { renderEvent } from "./views/event.js";
import { renderEvents } from "./views/events.js";
import { renderExports } from "./views/exports.js";
import { renderLive } from "./views/live.js";
import { renderLogin } from "./views/login.js";
import { renderPlayback } from "./views/playback.js";
import { renderReports } from "./views/reports.js";

const screens = {
  cameras: renderCameras,
  live: renderLive,
  events: renderEvents,
  event: renderEvent,
  playback: renderPlayback,
  aim: renderAim,
  exports: renderExports,
  reports: renderReports,
  audit: renderAudit,
};
// Screens that only some tokens may open: their nav item is hidden and their route leads to the cameras.
const guards = { audit: canReadAudit };

const root = document.getElementById("app");
const topbar = document.querySelector(".topbar");
let teardown = null;
let signedOutReason = "";
let mounting = 0;
let refreshTimer = null;
const EXPIRED = "Your session has expired. Please sign in again.";

/** "#/playback/cam-1?event=evt-1" -> {name: "playback", arg: "cam-1", params: URLSearchParams}. */
function parseHash() {
  const [path, search = ""] = window.location.hash.replace(/^#\/?/, "").split("?");
  const [name, arg = ""] = path.split("/");
  return { name: name || "cameras", arg: decodeURIComponent(arg), params: new URLSearchParams(search) };
}

/** Renews the access token before it expires (and again after each renewal); a refused renewal signs out. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const delay = session.refreshDelay();
  if (delay === null) return;
  refreshTimer = setTimeout(() => {
    refreshSession().then(
      (renewed) => renewed || signOut(EXPIRED),
      () => {
        refreshTimer = setTimeout(scheduleRefresh, 10000); // offline: try again soon
      },
    );
  }, delay);
}

/** Whether a session exists, renewing an expired access token first (a page opened after a break). */
async function ensureSession() {
  if (session.current() || !session.refreshToken) return Boolean(session.current());
  return refreshSession().catch(() => false);
}

async function mount() {
  const ticket = ++mounting;
  await ensureSession();
  if (ticket !== mounting) return; // the route changed while the token was renewed
  if (teardown) teardown();
  teardown = null;
  root.replaceChildren();
  const claims = session.current();
  const route = parseHash();
  if (!claims) {
    clearTimeout(refreshTimer);
    topbar.hidden = true;
    const reason = signedOutReason || (session.token ? "Your session has expired." : "");
    session.clear();
    signedOutReason = "";
    teardown = renderLogin(root, { reason });
    return;
  }
  const allowed = (name) => !guards[name] || guards[name](claims);
  const render = allowed(route.name) && screens[route.name];
  if (!render) {
    window.location.hash = "#/cameras";
    return;
  }
  topbar.hidden = false;
  topbar.querySelector("[data-tenant]").textContent = claims.tenant_id;
  for (const link of topbar.querySelectorAll("[data-nav]")) {
    link.hidden = !allowed(link.dataset.nav);
    link.classList.toggle("active", link.dataset.nav === route.name);
  }
  scheduleRefresh();
  teardown = render(root, route) || null;
}

window.addEventListener("hashchange", mount);
window.addEventListener("vms:signed-in", mount);
window.addEventListener("vms:token-refreshed", scheduleRefresh);
window.addEventListener("vms:signed-out", (event) => {
  signedOutReason = event.detail || "";
  mount();
});
topbar.querySelector("[data-logout]").addEventListener("click", () => signOut(""));
// A token that expired while timers slept (a suspended laptop) is renewed, or the user goes back to login; the
// login screen keeps the route in the address, and signing in returns to it.
setInterval(async () => {
  if (!topbar.hidden && !(await ensureSession())) signOut(EXPIRED);
}, 15000);
mount();
