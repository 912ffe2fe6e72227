// The operator console: a hash router that mounts one screen at a time and tears the last one down.
import { session, signOut } from "./api.js";
import { renderCameras } from "./views/cameras.js";
import { renderEvents } from "./views/events.js";
import { renderLive } from "./views/live.js";
import { renderLogin } from "./views/login.js";
import { renderPlayback } from "./views/playback.js";

const screens = {
  cameras: renderCameras,
  live: renderLive,
  events: renderEvents,
  playback: renderPlayback,
};

const root = document.getElementById("app");
const topbar = document.querySelector(".topbar");
let teardown = null;
let signedOutReason = "";

/** "#/playback/cam-1?event=evt-1" -> {name: "playback", arg: "cam-1", params: URLSearchParams}. */
function parseHash() {
  const [path, search = ""] = window.location.hash.replace(/^#\/?/, "").split("?");
  const [name, arg = ""] = path.split("/");
  return { name: name || "cameras", arg: decodeURIComponent(arg), params: new URLSearchParams(search) };
}

function mount() {
  if (teardown) teardown();
  teardown = null;
  root.replaceChildren();
  const claims = session.current();
  const route = parseHash();
  if (!claims) {
    topbar.hidden = true;
    const reason = signedOutReason || (session.token ? "Your session has expired." : "");
    session.clear();
    signedOutReason = "";
    teardown = renderLogin(root, { reason });
    return;
  }
  const render = screens[route.name];
  if (!render) {
    window.location.hash = "#/cameras";
    return;
  }
  topbar.hidden = false;
  topbar.querySelector("[data-tenant]").textContent = claims.tenant_id;
  for (const link of topbar.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === route.name);
  }
  teardown = render(root, route) || null;
}

window.addEventListener("hashchange", mount);
window.addEventListener("vms:signed-in", mount);
window.addEventListener("vms:signed-out", (event) => {
  signedOutReason = event.detail || "";
  mount();
});
topbar.querySelector("[data-logout]").addEventListener("click", () => signOut(""));
// A token that expires while a screen stays open still sends the user back to login.
setInterval(() => {
  if (!topbar.hidden && !session.current()) signOut("Your session has expired. Please sign in again.");
}, 15000);
mount();
