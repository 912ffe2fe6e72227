// Event detail: the snapshot with the detector's boxes drawn over it, what was seen, the recording around it
// (the playback API's 5 s before the event to POST_ROLL after) and the older / newer event of the same list.
import { api, apiPage, mediaUrl } from "../api.js";
import { aimLayer, directionText, drawAim, hasAim } from "../overlay.js";
import { playHls } from "../player.js";
import { errorState, formatTime, h, loading } from "../ui.js";

// Seconds played after the event before the clip stops (the user can play on).
const POST_ROLL = 5;
// Windows after an event searched, widest last, for the next newer one (the list is newest first).
const NEWER_WINDOWS_S = [60, 3600, 86400, 30 * 86400, null];
const MAX_WINDOW_PAGES = 5;

const percent = (value) => `${(value * 100).toFixed(4)}%`;
const label = (type) => type.replace("_", " ");

function isBox(box) {
  return Array.isArray(box) && box.length === 4 && box.every(Number.isFinite) && box[2] > box[0] && box[3] > box[1];
}

/**
 * The snapshot with its boxes: payload.boxes (and a plate's vehicle_box) are [x1, y1, x2, y2] pixels of
 * payload.frame {width, height} (else of the image itself), placed in percent so they scale with the image.
 * The camera's zones, masks and lines (as configured now) are drawn under them.
 */
function snapshotFigure(event, camera) {
  const payload = event.payload || {};
  const boxes = [
    ...(Array.isArray(payload.boxes) ? payload.boxes : []).filter(isBox).map((box) => ({ box, kind: event.type })),
    ...(isBox(payload.vehicle_box) ? [{ box: payload.vehicle_box, kind: "vehicle" }] : []),
  ];
  const overlay = h("div", { class: "boxes" });
  const figure = h("figure", { class: "snap" });
  const noSnapshot = () => figure.replaceChildren(h("div", { class: "snap-empty" }, "No snapshot"));
  if (!event.snapshot_url) {
    noSnapshot();
    return figure;
  }
  const img = h("img", { class: "snap-img", src: mediaUrl(event.snapshot_url), alt: `${label(event.type)} snapshot` });
  const draw = (width, height) =>
    overlay.replaceChildren(
      ...boxes.map(({ box: [x1, y1, x2, y2], kind }, i) =>
        h(
          "div",
          {
            // A box at the top edge keeps its label inside, where the figure does not clip it.
            class: `box box-${kind}${y1 / height < 0.08 ? " box-top" : ""}`,
            dataset: { box: i },
            style: { left: percent(x1 / width), top: percent(y1 / height), width: percent((x2 - x1) / width), height: percent((y2 - y1) / height) },
          },
          h("span", { class: "box-label" }, i === 0 ? `${label(kind)} ${Math.round(event.confidence * 100)}%` : label(kind)),
        ),
      ),
    );
  const frame = payload.frame;
  if (frame && frame.width > 0 && frame.height > 0) draw(frame.width, frame.height);
  else img.addEventListener("load", () => draw(img.naturalWidth, img.naturalHeight), { once: true });
  // A snapshot purged by retention is a 404: a placeholder instead of a broken image.
  img.addEventListener("error", noSnapshot, { once: true });
  let aim = null;
  if (hasAim(camera)) {
    aim = aimLayer();
    drawAim(aim, camera);
  }
  figure.append(img, aim || "", overlay);
  return figure;
}

function facts(event, cameraName) {
  const payload = event.payload || {};
  const rows = [
    ["Type", h("span", { class: `badge badge-${event.type}` }, label(event.type))],
    ["Confidence", `${Math.round(event.confidence * 100)}%`],
    ["Time", formatTime(event.ts)],
    ["Camera", h("a", { href: `#/playback/${encodeURIComponent(event.camera_id)}?event=${encodeURIComponent(event.id)}` }, cameraName)],
    ["Track", payload.track_id ?? "—"],
    ["Label", payload.label || "—"],
    ["Model", event.model_version || "—"],
    ["Severity", event.severity ? h("span", { class: `severity severity-${event.severity}` }, event.severity) : null],
    ["Zones", Array.isArray(payload.zones) && payload.zones.length ? payload.zones.join(", ") : null],
    ["Line", payload.line ? `${payload.line} ${directionText(payload.direction)}` : null],
    ["Trace", h("span", { class: "mono" }, event.trace_id || "—")],
  ];
  return h(
    "dl",
    { class: "facts" },
    rows.filter(([, value]) => value !== null).flatMap(([name, value]) => [h("dt", {}, name), h("dd", { dataset: { fact: name.toLowerCase() } }, value)]),
  );
}

/** (ts, id) order of the events list: whether `a` comes after (is newer than) `b`. */
function newer(a, b) {
  const diff = Date.parse(a.ts) - Date.parse(b.ts);
  return diff > 0 || (diff === 0 && a.id > b.id);
}

/** The event just before `event` in the (scoped) list: one keyset page of one. */
async function olderThan(event, scope) {
  return (await apiPage("events", { ...scope, before: event.id, limit: 1 })).items[0] || null;
}

/** The event just after `event`: the oldest of a bounded window after it, widened until one is found. */
async function newerThan(event, scope) {
  const since = Date.parse(event.ts);
  for (const seconds of NEWER_WINDOWS_S) {
    const params = { ...scope, since: event.ts, until: seconds && new Date(since + seconds * 1000).toISOString(), limit: 100 };
    let found = null;
    let cursor = null;
    for (let pages = 0; pages < MAX_WINDOW_PAGES; pages++) {
      const page = await apiPage("events", { ...params, before: cursor });
      const after = page.items.filter((e) => newer(e, event));
      if (after.length) found = after[after.length - 1];
      // The page reached the event itself (or older ones): nothing newer lies further.
      if (!page.next || after.length < page.items.length) break;
      cursor = page.next;
    }
    if (found) return found;
  }
  return null;
}

export function renderEvent(root, { arg: id, params }) {
  // Next/previous stay in the list the user came from (its camera and type filters travel in the address).
  const scope = { camera_id: params.get("camera") || "", type: params.get("type") || "", severity: params.get("severity") || "" };
  const suffix = params.toString() ? `?${params}` : "";
  const link = (event) => `#/event/${encodeURIComponent(event.id)}${suffix}`;
  const older = h("a", { class: "btn btn-small disabled", "aria-disabled": "true", "aria-label": "Older event" }, "‹ Older");
  const newerLink = h("a", { class: "btn btn-small disabled", "aria-disabled": "true", "aria-label": "Newer event" }, "Newer ›");
  const title = h("h1", {}, "Event");
  const body = h("div", {}, loading());
  root.append(
    h("div", { class: "page-head" }, h("div", { class: "crumbs" }, h("a", { href: "#/events" }, "‹ Events"), title), h("div", { class: "event-nav" }, older, newerLink)),
    body,
  );
  let stop = () => {};
  let closed = false;

  function enable(anchor, event) {
    if (closed || !event) return;
    anchor.href = link(event);
    anchor.title = `${label(event.type)} · ${formatTime(event.ts)}`;
    anchor.classList.remove("disabled");
    anchor.removeAttribute("aria-disabled");
  }

  /** The recording from the playback API's offset (5 s before the event) to POST_ROLL after it, then a pause. */
  function clip(event) {
    const video = h("video", { class: "video", controls: true, muted: true, playsinline: true });
    const notice = h("p", { class: "notice", hidden: true });
    const replay = h("button", { type: "button", class: "btn btn-small", hidden: true }, "Replay the clip");
    const caption = h("p", { class: "muted caption" }, "Loading the recording…");
    const section = h("section", { class: "card clip" }, h("h2", {}, "Recording"), h("div", { class: "player" }, video, notice), h("div", { class: "clip-foot" }, caption, replay));
    const say = (message) => {
      notice.textContent = message;
      notice.hidden = false;
    };
    api(`playback/event/${encodeURIComponent(event.id)}`)
      .then((target) => {
        if (closed) return;
        const from = target.offset;
        let end = from + target.pre_roll + POST_ROLL;
        video.dataset.start = String(from);
        video.dataset.end = String(end);
        caption.textContent = `From ${Math.round(target.pre_roll)} s before the event to ${POST_ROLL} s after it.`;
        video.addEventListener("timeupdate", () => {
          if (video.currentTime < end) return;
          video.pause();
          end = Infinity; // stopped once: the user may play on
          replay.hidden = false;
        });
        replay.addEventListener("click", () => {
          end = from + target.pre_roll + POST_ROLL;
          video.currentTime = from;
          video.play().catch(() => {});
        });
        stop = playHls(video, target.playlist_url, { startAt: from, onError: say });
      })
      .catch((err) => {
        if (err.status === 401 || closed) return;
        caption.textContent = "";
        say(err.status === 404 ? "No recording covers this event." : err.message);
      });
    return section;
  }

  async function start() {
    try {
      const [event, cameras] = await Promise.all([api(`events/${encodeURIComponent(id)}`), api("cameras")]);
      if (closed) return;
      const camera = cameras.find((c) => c.id === event.camera_id);
      const cameraName = camera?.name || event.camera_id;
      const kind = label(event.type);
      title.textContent = `${kind[0].toUpperCase()}${kind.slice(1)} · ${cameraName}`;
      body.replaceChildren(
        h("div", { class: "detail" }, h("section", { class: "card" }, snapshotFigure(event, camera)), h("section", { class: "card" }, facts(event, cameraName))),
        clip(event),
      );
      const filters = Object.fromEntries(Object.entries(scope).filter(([, v]) => v));
      olderThan(event, filters).then((e) => enable(older, e), () => {});
      newerThan(event, filters).then((e) => enable(newerLink, e), () => {});
    } catch (err) {
      if (err.status === 401 || closed) return;
      body.replaceChildren(
        err.status === 404
          ? h("div", { class: "card state state-empty" }, h("strong", {}, "No such event"), h("p", {}, "It may have been removed by retention."))
          : errorState(err, start),
      );
    }
  }

  start();
  return () => {
    closed = true;
    stop();
  };
}
