// Playback: pick a camera and a date; a day bar shows what was recorded and what happened, and a click or a drag
// on it plays from that moment (hour playlists are swapped in the one player, the page never reloads).
import { api, ApiError, apiPage } from "../api.js";
import { playHls } from "../player.js";
import { clock, dayTimeline, HOUR_MS } from "../timeline.js";
import { cameraSelect, emptyState, errorState, formatTime, h, loading, showFieldErrors, toast, utcDate } from "../ui.js";

// One bounded query for the day's markers, paged with `before`; a day with more events than this shows the newest.
const MAX_EVENT_PAGES = 10;
// What GET /v2/api/playback/event/{id} plays before an event; a marker's click does the same.
const PRE_ROLL_MS = 5000;

/** The events of one camera on one UTC day, oldest first, and whether there were more than the pages read. */
async function dayEvents(cameraId, dayStart) {
  const params = {
    camera_id: cameraId,
    since: new Date(dayStart).toISOString(),
    until: new Date(dayStart + 24 * HOUR_MS).toISOString(),
    limit: 100,
  };
  const events = [];
  let cursor = null;
  for (let pages = 0; pages < MAX_EVENT_PAGES; pages++) {
    const page = await apiPage("events", { ...params, before: cursor });
    events.push(...page.items);
    cursor = page.next;
    if (!cursor) break;
  }
  return { events: events.reverse(), truncated: Boolean(cursor) };
}

/**
 * The day's recorded spans in ms. The timeline's `spans` are exact; an older server gives only each hour's
 * recorded seconds, taken then as one span from the top of the hour (its gaps do not show).
 */
function recordedSpans(timeline, dayStart) {
  if (Array.isArray(timeline.spans)) {
    return timeline.spans.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end) }));
  }
  return timeline.hours.map((hour) => {
    const start = dayStart + hour.hour * HOUR_MS;
    return { start, end: start + hour.seconds * 1000 };
  });
}

/** The parts of `spans` within the hour starting at `start`. */
function hourSpans(spans, start) {
  return spans
    .filter((s) => s.end > start && s.start < start + HOUR_MS)
    .map((s) => ({ start: Math.max(s.start, start), end: Math.min(s.end, start + HOUR_MS) }));
}

/**
 * Where moment `ms` plays: the recorded hour and the seconds into its playlist (recordings before `ms` in that
 * hour; gaps take no playback time). A moment in a gap plays from the next recording, one after the last
 * recording from shortly before its end. Gaps shorter than the server's tolerance (1 s) are not in `spans`,
 * and a segment that crosses the hour belongs to the playlist of the hour it started in, so the offset can be
 * off by up to one segment (2 s) there.
 */
function locate(spans, dayStart, ms) {
  const last = spans[spans.length - 1];
  if (!last) return null;
  const next = spans.find((s) => s.end > ms);
  const at = next ? Math.max(ms, next.start) : Math.max(last.start, last.end - 2000);
  const hour = Math.floor((at - dayStart) / HOUR_MS);
  const hourStart = dayStart + hour * HOUR_MS;
  const offset = hourSpans(spans, hourStart).reduce((sum, s) => sum + Math.max(0, Math.min(s.end, at) - s.start), 0);
  return { hour, at, offset: offset / 1000 };
}

/**
 * The Export dialog: a range of the day on screen (two UTC times, prefilled with the hour the bar shows, or the
 * hour of the playhead on the whole day), one or more cameras, a name and legal hold. POST /v2/api/exports; the
 * server's field errors show beside their fields, and a queued job opens the downloads list.
 */
function exportForm({ cameras, cameraId, date, range, onDone, onCancel }) {
  const field = (name, label, input) =>
    h("div", { class: "field", dataset: { field: name } }, h("label", {}, label, input), h("p", { class: "field-error", role: "alert", hidden: true }));
  const form = h(
    "form",
    { class: "export-form", novalidate: true },
    h("h2", {}, "Export video"),
    h("p", { class: "muted" }, `MP4 files of ${date} (UTC), one per camera, with a SHA-256 to verify them.`),
    field("name", "Name", h("input", { name: "name", required: true, value: `${date} ${clock(range.start).slice(0, 5)}` })),
    h(
      "div",
      { class: "export-range" },
      field("start", "From (UTC)", h("input", { type: "time", name: "start", step: 1, value: clock(range.start) })),
      field("end", "To (UTC)", h("input", { type: "time", name: "end", step: 1, value: clock(range.end) })),
    ),
    field(
      "camera_ids",
      "Cameras",
      h(
        "div",
        { class: "checks export-cameras" },
        cameras.map((c) =>
          h("label", { class: "check" }, h("input", { type: "checkbox", name: "camera_ids", value: c.id, checked: c.id === cameraId }), `${c.name} (${c.id})`),
        ),
      ),
    ),
    h(
      "label",
      { class: "check export-hold" },
      h("input", { type: "checkbox", name: "legal_hold" }),
      "Legal hold: keep the files and their recordings until released",
    ),
    h("p", { class: "form-error", role: "alert", hidden: true }),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "btn btn-ghost", onclick: onCancel }, "Cancel"),
      h("button", { type: "submit", class: "btn btn-primary" }, "Start export"),
    ),
  );

  const showErrors = (err) => showFieldErrors(form, err);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const moment = (name) => {
      const value = data.get(name);
      return value ? new Date(`${date}T${value.length === 5 ? `${value}:00` : value}Z`).toISOString() : "";
    };
    const body = {
      camera_ids: data.getAll("camera_ids"),
      start: moment("start"),
      end: moment("end"),
      name: data.get("name"),
      legal_hold: data.has("legal_hold"),
    };
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    try {
      const job = await api("exports", { method: "POST", body });
      showErrors(null);
      onDone(job);
    } catch (err) {
      if (err.status !== 401) showErrors(err instanceof ApiError ? err : { message: String(err) });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The moment `seconds` into the playlist of the hour starting at `hourStart` (the inverse of locate). */
function momentOf(spans, hourStart, seconds) {
  let left = seconds * 1000;
  const parts = hourSpans(spans, hourStart);
  for (const s of parts) {
    if (left <= s.end - s.start) return s.start + left;
    left -= s.end - s.start;
  }
  return parts.length ? parts[parts.length - 1].end : hourStart;
}

export function renderPlayback(root, { arg, params }) {
  const body = h("div", { class: "card" }, loading());
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Playback")), body);
  let stop = () => {};

  const video = h("video", { class: "video", controls: true, muted: true, playsinline: true });
  const notice = h("p", { class: "notice", hidden: true });
  const caption = h("p", { class: "muted caption" }, "Click the bar or an event to play.");
  const eventList = h("ul", { class: "event-rows" });
  const dialog = h("dialog", { class: "dialog" });
  // The day on screen: its spans, its hour playlists, and the hour the player has loaded.
  let day = null;
  let loadedHour = null;
  // The part of the day the bar shows ({start, end} in ms), and the playhead's moment.
  let view = null;
  let playhead = null;

  function showNotice(message) {
    notice.textContent = message;
    notice.hidden = !message;
  }

  /** Plays from moment `ms` of the day: a seek within the loaded hour, else that hour's playlist from its offset. */
  function seek(ms) {
    const target = locate(day.spans, day.start, ms);
    const hour = target && day.hours.get(target.hour);
    if (!hour) {
      showNotice("Nothing was recorded at this time.");
      return;
    }
    showNotice("");
    caption.textContent = `${day.date} ${clock(target.at)} UTC`;
    video.dataset.hour = String(target.hour).padStart(2, "0");
    day.timeline.setTime(target.at);
    playhead = target.at;
    if (loadedHour === target.hour) {
      video.currentTime = target.offset;
      video.play().catch(() => {});
      return;
    }
    stop();
    loadedHour = target.hour;
    stop = playHls(video, hour.playlist_url, { startAt: target.offset, onError: showNotice });
  }

  // The playhead follows the video; at the end of an hour the next recorded one plays on.
  video.addEventListener("timeupdate", () => {
    // A player that is switching playlists has no frame of the new hour yet: keep the head where it was sent.
    if (day && loadedHour !== null && video.readyState >= 2) day.timeline.setTime(momentOf(day.spans, day.start + loadedHour * HOUR_MS, video.currentTime));
  });
  video.addEventListener("ended", () => {
    const next = day && day.spans.find((s) => s.start >= day.start + (loadedHour + 1) * HOUR_MS);
    if (next) seek(next.start);
  });

  function playEvent(event) {
    seek(Date.parse(event.ts) - PRE_ROLL_MS);
    video.dataset.event = event.id;
  }

  function listEvents(events, { start, end }) {
    const shown = events.filter((e) => Date.parse(e.ts) >= start && Date.parse(e.ts) < end);
    eventList.replaceChildren(
      ...shown.map((e) =>
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: "link", dataset: { event: e.id }, onclick: () => playEvent(e) },
            h("span", { class: `badge badge-${e.type}` }, e.type.replace("_", " ")),
            ` ${formatTime(e.ts)} · ${Math.round(e.confidence * 100)}%`,
          ),
          " ",
          h("a", { href: `#/event/${encodeURIComponent(e.id)}`, class: "muted" }, "Details"),
        ),
      ),
    );
    if (!shown.length) eventList.replaceChildren(h("li", { class: "muted" }, "No events in this part of the day."));
  }

  async function loadDay(cameraId, date, target = null) {
    stop();
    stop = () => {};
    day = null;
    loadedHour = null;
    view = null;
    playhead = null;
    const box = h("div", { class: "day" }, loading("Loading the timeline…"));
    body.querySelector(".day")?.replaceWith(box);
    const dayStart = Date.parse(`${date}T00:00:00Z`);
    try {
      const [timeline, { events, truncated }] = await Promise.all([
        api("playback/timeline", { params: { camera_id: cameraId, date } }),
        dayEvents(cameraId, dayStart),
      ]);
      // Another camera or date was picked meanwhile: that newer load owns the screen.
      if (!box.isConnected) return;
      if (truncated) toast("This day has more events than the bar can mark; the newest are shown.", "info");
      const spans = recordedSpans(timeline, dayStart);
      const bar = dayTimeline({
        dayStart,
        spans,
        events,
        onSeek: seek,
        onEvent: playEvent,
        onView: (shown) => {
          view = shown;
          listEvents(events, shown);
        },
      });
      day = { date, start: dayStart, spans, hours: new Map(timeline.hours.map((hour) => [hour.hour, hour])), timeline: bar };
      if (!spans.length) {
        box.replaceChildren(bar.el, emptyState("No recordings on this day", "Pick another date or camera."));
        return;
      }
      box.replaceChildren(bar.el, h("div", { class: "player" }, video, notice), caption, eventList);
      if (target) {
        const ts = Date.parse(target.ts);
        bar.zoom(new Date(ts).getUTCHours());
        playEvent({ id: target.event_id, ts: target.ts });
      } else {
        bar.setTime(spans[0].start);
        playhead = spans[0].start;
      }
    } catch (err) {
      if (err.status !== 401 && box.isConnected) box.replaceChildren(errorState(err, () => loadDay(cameraId, date, target)));
    }
  }

  /** The range the dialog starts with: the hour the bar shows, or on the whole day the playhead's hour. */
  function exportRange(date) {
    const dayStart = Date.parse(`${date}T00:00:00Z`);
    const zoomed = view && view.end - view.start <= HOUR_MS;
    const hour = zoomed ? (view.start - dayStart) / HOUR_MS : Math.floor(((playhead ?? dayStart) - dayStart) / HOUR_MS);
    const start = dayStart + Math.min(23, Math.max(0, hour)) * HOUR_MS;
    // The time inputs hold one day: the last hour ends a second before midnight.
    return { start, end: Math.min(start + HOUR_MS, dayStart + 24 * HOUR_MS - 1000) };
  }

  function openExport(cameras, cameraId, date) {
    const close = () => dialog.close();
    dialog.replaceChildren(
      exportForm({
        cameras,
        cameraId,
        date,
        range: exportRange(date),
        onCancel: close,
        onDone: (job) => {
          close();
          toast(`Export "${job.name}" queued.`, "success");
          window.location.hash = "#/exports";
        },
      }),
    );
    dialog.showModal();
  }

  async function start() {
    try {
      const cameras = await api("cameras");
      if (!cameras.length) {
        body.replaceChildren(emptyState("No cameras yet", "Add a camera on the Cameras page first."));
        return;
      }
      // A deep link to an event (from the event's detail) opens its day and plays it from before it.
      const eventId = params.get("event") || "";
      const target = eventId ? await api(`playback/event/${encodeURIComponent(eventId)}`).catch(() => null) : null;
      const camera = cameras.find((c) => c.id === (target ? target.camera_id : arg)) || cameras[0];
      const select = cameraSelect(cameras, { selected: camera.id });
      const dateInput = h("input", { type: "date", name: "date", value: target ? utcDate(new Date(target.ts)) : params.get("date") || utcDate() });
      const reload = () => loadDay(select.value, dateInput.value);
      select.addEventListener("change", reload);
      dateInput.addEventListener("change", reload);
      const exportButton = h(
        "button",
        { type: "button", class: "btn export-open", title: "Make MP4 files of a time range", onclick: () => openExport(cameras, select.value, dateInput.value) },
        "Export",
      );
      body.replaceChildren(
        h("div", { class: "toolbar" }, select, h("label", { class: "inline" }, "Date (UTC)", dateInput), exportButton),
        h("div", { class: "day" }),
        dialog,
      );
      loadDay(camera.id, dateInput.value, target);
      if (eventId && !target) toast("No recording covers this event.", "error");
    } catch (err) {
      if (err.status !== 401) body.replaceChildren(errorState(err, start));
    }
  }

  start();
  return () => stop();
}
