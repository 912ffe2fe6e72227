// Events: a live feed over the WebSocket on top of the REST history, with filters and keyset paging.
import { api, apiPage, mediaUrl } from "../api.js";
import { subscribeEvents } from "../realtime.js";
import { cameraSelect, emptyState, errorState, formatTime, h, loading, typeSelect } from "../ui.js";

const PAGE_SIZE = 25;
// The colours the detector names (events.detection.colors.PALETTE).
const COLORS = ["black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "brown", "pink"];
// Filters the socket applies itself (the server alone judges colours and plates read with a mistake).
const FEED_FILTERS = ["severity", "color", "plate"];

function eventCard(event, cameraName, filters) {
  const noSnapshot = () => h("div", { class: "thumb thumb-empty" }, "No snapshot");
  const thumb = event.snapshot_url
    ? h("img", { class: "thumb", src: mediaUrl(event.snapshot_url), alt: `${event.type} snapshot`, loading: "lazy" })
    : noSnapshot();
  // A snapshot purged by retention is a 404: show the placeholder instead of a broken image.
  if (event.snapshot_url) thumb.addEventListener("error", () => thumb.replaceWith(noSnapshot()));
  // The detail's older/newer buttons walk the list this card is in: its camera and type filters go along.
  const scope = new URLSearchParams(
    Object.entries({ camera: filters.camera_id, type: filters.type, severity: filters.severity }).filter(([, v]) => v),
  );
  const zones = Array.isArray(event.payload?.zones) ? event.payload.zones : [];
  const href = `#/event/${encodeURIComponent(event.id)}${scope.size ? `?${scope}` : ""}`;
  return h(
    "a",
    { class: "event", href, dataset: { event: event.id }, title: "Open this event: its snapshot and recording" },
    thumb,
    h(
      "div",
      { class: "event-body" },
      h(
        "span",
        { class: "event-tags" },
        h("span", { class: `badge badge-${event.type}` }, event.type.replace("_", " ")),
        event.severity && h("span", { class: `severity severity-${event.severity}`, dataset: { severity: event.severity } }, event.severity),
      ),
      h("strong", {}, cameraName(event.camera_id)),
      zones.length > 0 && h("span", { class: "event-zones", title: "Zones entered" }, zones.join(", ")),
      h("span", { class: "muted" }, `${Math.round(event.confidence * 100)}% · ${formatTime(event.ts)}`),
    ),
  );
}

function readFilters(form) {
  const data = new FormData(form);
  const since = data.get("since");
  return {
    camera_id: data.get("camera") || "",
    type: data.get("type") || "",
    // The input is read as UTC, like every time the console shows.
    since: since ? new Date(`${since}Z`).toISOString() : "",
    severity: data.get("severity") || "",
    color: data.get("color") || "",
    plate: data.get("plate").trim(),
  };
}

function feedFilters(filters) {
  return Object.fromEntries(FEED_FILTERS.map((name) => [name, filters[name] || ""]));
}

function matches(event, filters) {
  return (
    (!filters.camera_id || event.camera_id === filters.camera_id) &&
    (!filters.type || event.type === filters.type) &&
    (!filters.severity || event.severity === filters.severity) &&
    (!filters.since || new Date(event.ts) >= new Date(filters.since))
  );
}

export function renderEvents(root) {
  const state = h("span", { class: "live-state", dataset: { state: "connecting" } }, "Connecting…");
  const list = h("div", { class: "event-list" });
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const body = h("div", { class: "card" }, loading());
  const form = h("form", { class: "toolbar filters" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Events"), state), form, body);
  let filters = {};
  let names = new Map();
  const cameraName = (id) => names.get(id) || id;
  let cursor = null;
  const seen = new Set();

  function add(events, { atTop = false } = {}) {
    const cards = events.filter((e) => !seen.has(e.id)).map((e) => eventCard(e, cameraName, filters));
    for (const e of events) seen.add(e.id);
    if (atTop) {
      for (const card of cards) card.classList.add("event-new");
      list.prepend(...cards);
    } else list.append(...cards);
    if (seen.size) body.querySelector(".state-empty")?.remove();
  }

  async function loadPage() {
    more.disabled = true;
    const query = filters;
    try {
      const page = await apiPage("events", { ...query, limit: PAGE_SIZE, before: cursor });
      // Filters changed while this page was on its way: its events belong to the old query.
      if (query !== filters) return;
      add(page.items);
      cursor = page.next;
      more.hidden = !cursor;
      if (!seen.size) body.replaceChildren(emptyState("No events", "Events appear here as soon as a camera sees something."), list);
    } catch (err) {
      if (err.status !== 401 && query === filters) body.replaceChildren(errorState(err, reload));
    } finally {
      more.disabled = false;
    }
  }

  function reload() {
    const feed = JSON.stringify(feedFilters(filters));
    filters = readFilters(form);
    // The server pushes only what matches a socket's filters (e.g. only alerts): new ones need a new socket.
    if (JSON.stringify(feedFilters(filters)) !== feed) subscribe();
    cursor = null;
    seen.clear();
    list.replaceChildren();
    body.replaceChildren(list, h("div", { class: "more" }, more));
    loadPage();
  }

  more.addEventListener("click", loadPage);
  form.addEventListener("change", reload);
  form.addEventListener("submit", (event) => event.preventDefault());

  let closeFeed = () => {};
  function subscribe() {
    closeFeed();
    closeFeed = subscribeEvents(
      (event) => {
        if (matches(event, filters)) add([event], { atTop: true });
      },
      (name) => {
        state.dataset.state = name;
        state.textContent = { live: "Live", connecting: "Connecting…", offline: "Reconnecting…" }[name];
      },
      feedFilters(filters),
    );
  }
  subscribe();

  api("cameras")
    .then((cameras) => {
      names = new Map(cameras.map((c) => [c.id, c.name]));
      form.append(
        cameraSelect(cameras, { withAll: true }),
        typeSelect(),
        h(
          "select",
          { name: "color", "aria-label": "Colour" },
          h("option", { value: "" }, "Any colour"),
          COLORS.map((c) => h("option", { value: c }, c)),
        ),
        h("input", { name: "plate", placeholder: "Plate, e.g. 51A-12345", "aria-label": "Plate", maxlength: 16 }),
        h("label", { class: "inline" }, "Since (UTC)", h("input", { type: "datetime-local", name: "since", step: 1 })),
        h("label", { class: "check alerts-only" }, h("input", { type: "checkbox", name: "severity", value: "alert" }), "Alerts only"),
      );
      reload();
    })
    .catch((err) => {
      if (err.status !== 401) body.replaceChildren(errorState(err, () => window.location.reload()));
    });
  return () => closeFeed();
}
