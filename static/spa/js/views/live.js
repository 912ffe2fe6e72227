// Live view: a grid of the tenant's cameras (1/4/9/16 a page) and one camera enlarged (#/live/<id>), each playing
// the camera live (livestream.js: MSE over a WebSocket, else HLS), with a badge that says which. A tile streams only
// while it is on screen: off screen, or in a hidden tab, its player is stopped and the video emptied.
import { api } from "../api.js";
import { playLive } from "../livestream.js";
import { aimLayer, drawAim, fitOverlay, hasAim } from "../overlay.js";
import { subscribeEvents } from "../realtime.js";
import { cameraSelect, emptyState, errorState, formatTime, h, loading, statusPill } from "../ui.js";

const LAYOUTS = [1, 4, 9, 16];
const LAYOUT_KEY = "vms_v2_live_layout";
// How often the tiles' "time ago" and status pills are brought up to date.
const REFRESH_MS = 15000;

/** Plays the camera live, showing the mode on `badge` and why there is no picture on `notice`; returns stop(). */
function liveStream(video, cameraId, notice, badge) {
  const stop = playLive(video, cameraId, {
    onMode: (mode) => {
      badge.textContent = mode;
      badge.hidden = false;
    },
    onNotice: (message, { error = false } = {}) => {
      notice.textContent = message;
      notice.classList.toggle("notice-error", error);
      notice.hidden = false;
    },
  });
  return () => {
    stop();
    badge.hidden = true;
  };
}

function modeBadge() {
  return h("span", { class: "live-mode", hidden: true, title: "How the live video reaches this screen" });
}

function liveVideo(className) {
  const video = h("video", { class: className, muted: true, playsinline: true, autoplay: true });
  video.muted = true; // the attribute alone does not mute an element made by script, and autoplay needs it
  return video;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
function timeAgo(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

function cameraStatus(camera) {
  return camera.enabled ? camera.status : "disabled";
}

/** One camera of the grid: its picture (a link to the enlarged view), name, status and last event. */
function cameraTile(camera) {
  const video = liveVideo("tile-video");
  const notice = h("p", { class: "tile-notice" }, camera.enabled ? "Waiting for video…" : "Camera disabled");
  const badge = modeBadge();
  video.addEventListener("playing", () => {
    notice.hidden = true;
  });
  const pill = h("span", {}, statusPill(cameraStatus(camera)));
  const lastEvent = h("span", { class: "tile-event" });
  const el = h(
    "article",
    { class: "tile", dataset: { camera: camera.id } },
    h(
      "a",
      { class: "tile-screen", href: `#/live/${encodeURIComponent(camera.id)}`, title: `Enlarge ${camera.name}` },
      video,
      notice,
      badge,
    ),
    h("div", { class: "tile-info" }, h("strong", { class: "tile-name" }, camera.name), pill, lastEvent),
  );
  const tile = { el, camera, event: null, visible: false, stop: null };
  tile.showEvent = (event) => {
    if (event) tile.event = event;
    if (!tile.event) {
      lastEvent.replaceChildren(h("span", { class: "muted" }, "No events"));
      return;
    }
    const { type, ts } = tile.event;
    lastEvent.replaceChildren(
      h("span", { class: `badge badge-${type}` }, type.replace("_", " ")),
      h("time", { class: "muted", datetime: ts, title: formatTime(ts) }, timeAgo(ts)),
    );
  };
  tile.showStatus = (current) => {
    tile.camera = current;
    pill.replaceChildren(statusPill(cameraStatus(current)));
  };
  /** Streams while the tile is on screen in a visible tab, and not otherwise. */
  tile.sync = () => {
    const wanted = tile.visible && !document.hidden && tile.camera.enabled;
    if (wanted && !tile.stop) tile.stop = liveStream(video, camera.id, notice, badge);
    if (!wanted && tile.stop) {
      tile.stop();
      tile.stop = null;
      notice.hidden = false;
    }
  };
  return tile;
}

function layoutPicker(current, choose) {
  return h(
    "div",
    { class: "layout-picker", role: "group", "aria-label": "Cameras per page" },
    LAYOUTS.map((n) =>
      h(
        "button",
        {
          type: "button",
          class: `btn btn-small${n === current ? " active" : ""}`,
          "aria-pressed": String(n === current),
          title: `${n} per page`,
          dataset: { layout: n },
          onclick: () => choose(n),
        },
        String(n),
      ),
    ),
  );
}

function renderGrid(root, params) {
  const asked = Number(params.get("layout"));
  const saved = Number(localStorage.getItem(LAYOUT_KEY));
  const layout = LAYOUTS.includes(asked) ? asked : LAYOUTS.includes(saved) ? saved : 4;
  const go = (size, page) => {
    window.location.hash = `#/live?layout=${size}&page=${page}`;
  };
  const choose = (size) => {
    localStorage.setItem(LAYOUT_KEY, String(size));
    go(size, 1);
  };
  const body = h("div", {}, h("div", { class: "card" }, loading()));
  const feed = h("span", { class: "live-state", dataset: { state: "connecting" }, title: "New events" }, "Connecting…");
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Live view"), h("div", { class: "head-tools" }, feed, layoutPicker(layout, choose))),
    body,
  );

  const tiles = new Map();
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const tile = tiles.get(entry.target.dataset.camera);
        if (!tile) continue;
        tile.visible = entry.isIntersecting;
        tile.sync();
      }
    },
    { threshold: 0.1 },
  );
  const onVisibility = () => tiles.forEach((tile) => tile.sync());
  document.addEventListener("visibilitychange", onVisibility);
  let closeFeed = () => {};
  let timer = null;
  let closed = false;

  async function refresh() {
    try {
      const cameras = await api("cameras");
      for (const camera of cameras) tiles.get(camera.id)?.showStatus(camera);
    } catch {
      // The tiles keep their last status; a lost session is handled by the API client.
    }
    tiles.forEach((tile) => tile.showEvent());
  }

  async function load() {
    try {
      const cameras = await api("cameras");
      if (closed) return;
      if (!cameras.length) {
        body.replaceChildren(h("div", { class: "card" }, emptyState("No cameras yet", "Add a camera on the Cameras page first.")));
        return;
      }
      const pages = Math.ceil(cameras.length / layout);
      const page = Math.min(Math.max(1, parseInt(params.get("page"), 10) || 1), pages);
      const shown = cameras.slice((page - 1) * layout, page * layout);
      const grid = h("div", { class: "live-grid", dataset: { layout } });
      for (const camera of shown) {
        const tile = cameraTile(camera);
        tiles.set(camera.id, tile);
        grid.append(tile.el);
      }
      const pager =
        pages > 1 &&
        h(
          "nav",
          { class: "pager", "aria-label": "Pages" },
          h("button", { type: "button", class: "btn btn-small", disabled: page === 1, onclick: () => go(layout, page - 1) }, "‹ Previous"),
          h("span", { class: "muted" }, `Page ${page} of ${pages} · ${cameras.length} cameras`),
          h("button", { type: "button", class: "btn btn-small", disabled: page === pages, onclick: () => go(layout, page + 1) }, "Next ›"),
        );
      body.replaceChildren(grid, pager || "");
      tiles.forEach((tile) => observer.observe(tile.el));
      // The last event of each camera shown, then each new one as it is pushed.
      await Promise.all(
        shown.map((camera) =>
          api("events", { params: { camera_id: camera.id, limit: 1 } })
            .then(([event]) => tiles.get(camera.id)?.showEvent(event))
            .catch(() => tiles.get(camera.id)?.showEvent()),
        ),
      );
      if (closed) return;
      closeFeed = subscribeEvents(
        (event) => {
          const tile = tiles.get(event.camera_id);
          if (tile && (!tile.event || event.ts >= tile.event.ts)) tile.showEvent(event);
        },
        (name) => {
          feed.dataset.state = name;
          feed.textContent = { live: "Events live", connecting: "Connecting…", offline: "Reconnecting…" }[name];
        },
      );
      timer = setInterval(refresh, REFRESH_MS);
    } catch (err) {
      if (err.status !== 401) body.replaceChildren(h("div", { class: "card" }, errorState(err, load)));
    }
  }

  load();
  return () => {
    closed = true;
    clearInterval(timer);
    closeFeed();
    observer.disconnect();
    document.removeEventListener("visibilitychange", onVisibility);
    tiles.forEach((tile) => {
      tile.visible = false;
      tile.sync();
    });
  };
}

/**
 * One camera, large (with its zones, masks and lines over the picture; muted like every live picture, with the
 * video's controls to turn the sound on), a choice of camera, a way back to the grid. An id that is not among the
 * tenant's cameras is still asked for: the server refuses it, and the refusal is shown.
 */
function renderSingle(root, cameraId) {
  const body = h("div", { class: "card" }, loading());
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Live view"), h("a", { class: "btn", href: "#/live" }, "All cameras")),
    body,
  );
  let stop = () => {};
  let closed = false;

  async function load() {
    try {
      const cameras = await api("cameras");
      if (closed) return;
      if (!cameras.length) {
        body.replaceChildren(emptyState("No cameras yet", "Add a camera on the Cameras page first."));
        return;
      }
      const camera = cameras.find((c) => c.id === cameraId);
      const select = cameraSelect(cameras, { selected: cameraId });
      if (!camera) select.selectedIndex = -1;
      select.addEventListener("change", () => {
        window.location.hash = `#/live/${encodeURIComponent(select.value)}`;
      });
      const video = liveVideo("video");
      video.controls = true;
      const notice = h("p", { class: "notice" }, "Waiting for video… Live video appears while the camera records.");
      const badge = modeBadge();
      video.addEventListener("playing", () => {
        notice.hidden = true;
      });
      const layer = camera && hasAim(camera) && aimLayer();
      const unfit = layer ? fitOverlay(layer, video) : () => {};
      if (layer) drawAim(layer, camera);
      const showZones =
        layer &&
        h(
          "label",
          { class: "check" },
          h("input", { type: "checkbox", name: "zones", checked: true, onchange: (event) => (layer.hidden = !event.target.checked) }),
          "Zones",
        );
      const stopStream = liveStream(video, cameraId, notice, badge);
      stop = () => {
        unfit();
        stopStream();
      };
      body.replaceChildren(
        h("div", { class: "toolbar" }, select, camera && statusPill(cameraStatus(camera)), showZones),
        h("div", { class: "player" }, video, layer, notice, badge),
      );
    } catch (err) {
      if (err.status !== 401) body.replaceChildren(errorState(err, load));
    }
  }

  load();
  return () => {
    closed = true;
    stop();
  };
}

export function renderLive(root, { arg, params }) {
  return arg ? renderSingle(root, arg) : renderGrid(root, params);
}
