// Playback: pick a camera and a date, see the hours with recordings, play an hour or jump to an event.
import { api, apiPage } from "../api.js";
import { playHls } from "../player.js";
import { cameraSelect, emptyState, errorState, formatTime, h, loading, toast, utcDate } from "../ui.js";

const HOURS = Array.from({ length: 24 }, (_, i) => String(i).padStart(2, "0"));

// The events API has no upper time bound: a past day is reached by paging back from now, so this many
// pages (of 100) bound the walk; a day further back than that shows its recordings without markers.
const MAX_EVENT_PAGES = 20;

/** The events of one camera on one UTC day, oldest first, and whether the walk stopped before reaching them all. */
async function dayEvents(cameraId, date) {
  const dayStart = new Date(`${date}T00:00:00Z`);
  const dayEnd = new Date(dayStart.getTime() + 86400000);
  const events = [];
  let cursor = null;
  for (let pages = 0; pages < MAX_EVENT_PAGES; pages++) {
    const page = await apiPage("events", { camera_id: cameraId, since: dayStart.toISOString(), limit: 100, before: cursor });
    events.push(...page.items.filter((e) => new Date(e.ts) < dayEnd));
    cursor = page.next;
    if (!cursor) break;
  }
  return { events: events.reverse(), truncated: Boolean(cursor) };
}

export function renderPlayback(root, { arg, params }) {
  const body = h("div", { class: "card" }, loading());
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Playback")), body);
  let stop = () => {};

  const video = h("video", { class: "video", controls: true, muted: true, playsinline: true });
  const notice = h("p", { class: "notice", hidden: true });
  const caption = h("p", { class: "muted caption" }, "Choose an hour or an event to play.");
  const hourBar = h("div", { class: "hours", role: "group", "aria-label": "Hours with recordings" });
  const track = h("div", { class: "event-track", "aria-label": "Events in this hour" });
  const eventList = h("ul", { class: "event-rows" });

  function play(url, startAt, label) {
    stop();
    notice.hidden = true;
    caption.textContent = label;
    stop = playHls(video, url, {
      startAt,
      onError: (message) => {
        notice.textContent = message;
        notice.hidden = false;
      },
    });
  }

  /** Plays a GET /v2/api/playback/event/{id} answer: the event's hour playlist, from its offset. */
  function playTarget(target, event) {
    play(target.playlist_url, target.offset, `${event ? event.type : "Event"} · ${formatTime(target.ts)}`);
    video.dataset.event = target.event_id;
  }

  async function playEvent(event) {
    try {
      playTarget(await api(`playback/event/${encodeURIComponent(event.id)}`), event);
    } catch (err) {
      notice.textContent = err.status === 404 ? "No recording covers this event." : err.message;
      notice.hidden = false;
    }
  }

  function showHour(hour, events) {
    for (const cell of hourBar.children) cell.classList.toggle("active", Number(cell.dataset.hour) === hour.hour);
    const inHour = events.filter((e) => new Date(e.ts).getUTCHours() === hour.hour);
    track.replaceChildren(
      ...inHour.map((e) => {
        const d = new Date(e.ts);
        const left = ((d.getUTCMinutes() * 60 + d.getUTCSeconds()) / 3600) * 100;
        return h("button", {
          type: "button",
          class: "marker",
          style: { left: `${left.toFixed(3)}%` },
          title: `${e.type} · ${formatTime(e.ts)}`,
          dataset: { event: e.id },
          onclick: () => playEvent(e),
        });
      }),
    );
    eventList.replaceChildren(
      ...inHour.map((e) =>
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: "link", dataset: { event: e.id }, onclick: () => playEvent(e) },
            h("span", { class: `badge badge-${e.type}` }, e.type.replace("_", " ")),
            ` ${formatTime(e.ts)} · ${Math.round(e.confidence * 100)}%`,
          ),
        ),
      ),
    );
    if (!inHour.length) eventList.replaceChildren(h("li", { class: "muted" }, "No events in this hour."));
  }

  async function loadDay(cameraId, date, target = null) {
    stop();
    const day = h("div", { class: "day" }, loading("Loading the timeline…"));
    body.querySelector(".day")?.replaceWith(day);
    try {
      const [timeline, { events, truncated }] = await Promise.all([
        api("playback/timeline", { params: { camera_id: cameraId, date } }),
        dayEvents(cameraId, date),
      ]);
      // Another camera or date was picked meanwhile: that newer load owns the screen.
      if (!day.isConnected) return;
      if (truncated) toast("This day is too far back to mark all of its events.", "info");
      const recorded = new Map(timeline.hours.map((hour) => [HOURS[hour.hour], hour]));
      hourBar.replaceChildren(
        ...HOURS.map((hh) => {
          const hour = recorded.get(hh);
          const count = events.filter((e) => new Date(e.ts).getUTCHours() === Number(hh)).length;
          return h(
            "button",
            {
              type: "button",
              class: `hour${hour ? " has-video" : ""}${count ? " has-events" : ""}`,
              disabled: !hour,
              dataset: { hour: hh },
              title: hour ? `${hh}:00 – ${count} event(s)` : `${hh}:00 – no recording`,
              onclick: () => {
                showHour(hour, events);
                play(hour.playlist_url, 0, `${date} ${hh}:00 UTC`);
              },
            },
            hh,
          );
        }),
      );
      if (!recorded.size) {
        day.replaceChildren(emptyState("No recordings on this day", "Pick another date or camera."));
        return;
      }
      day.replaceChildren(hourBar, h("div", { class: "player" }, video, notice), caption, track, eventList);
      const first = recorded.get(target ? HOURS[new Date(target.ts).getUTCHours()] : [...recorded.keys()][0]);
      if (first) showHour(first, events);
      if (target) playTarget(target, events.find((e) => e.id === target.event_id));
    } catch (err) {
      if (err.status !== 401 && day.isConnected) day.replaceChildren(errorState(err, () => loadDay(cameraId, date, target)));
    }
  }

  async function start() {
    try {
      const cameras = await api("cameras");
      if (!cameras.length) {
        body.replaceChildren(emptyState("No cameras yet", "Add a camera on the Cameras page first."));
        return;
      }
      // A deep link to an event (from the Events page) opens its day and plays it from its offset.
      const eventId = params.get("event") || "";
      const target = eventId ? await api(`playback/event/${encodeURIComponent(eventId)}`).catch(() => null) : null;
      const camera = cameras.find((c) => c.id === (target ? target.camera_id : arg)) || cameras[0];
      const select = cameraSelect(cameras, { selected: camera.id });
      const dateInput = h("input", { type: "date", name: "date", value: target ? utcDate(new Date(target.ts)) : params.get("date") || utcDate() });
      const reload = () => loadDay(select.value, dateInput.value);
      select.addEventListener("change", reload);
      dateInput.addEventListener("change", reload);
      body.replaceChildren(
        h("div", { class: "toolbar" }, select, h("label", { class: "inline" }, "Date (UTC)", dateInput)),
        h("div", { class: "day" }),
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
