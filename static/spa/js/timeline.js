// The day bar of playback: one camera's UTC day with its recorded spans (the gaps between them show as the bar's
// hatched ground), event markers coloured by type and a playhead. It zooms to an hour, and a click, a drag or the
// arrow keys choose a moment; the screen maps that moment to a playlist and an offset.
import { formatTime, h } from "./ui.js";

export const HOUR_MS = 3600000;
const DAY_MS = 24 * HOUR_MS;
const pad = (n) => String(n).padStart(2, "0");

/** "04:10:15" of a moment in ms (UTC). */
export function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * Builds the bar for the day starting at `dayStart` (ms). `spans`: [{start, end}] in ms, oldest first;
 * `events`: API events. `onSeek(ms)` gets a chosen moment, `onEvent(event)` a clicked marker, `onView({start,
 * end})` the shown window after each zoom. Returns {el, setTime(ms), zoom(hour|null)}.
 */
export function dayTimeline({ dayStart, spans, events, onSeek, onEvent = () => {}, onView = () => {} }) {
  let view = { start: dayStart, length: DAY_MS };
  let time = null;
  let dragging = false;

  const track = h("div", { class: "tl-track" });
  const head = h("div", { class: "tl-head", hidden: true });
  const tip = h("div", { class: "tl-tip", hidden: true });
  const bar = h(
    "div",
    { class: "tl-bar", role: "slider", tabindex: 0, "aria-label": "Time of day (UTC)", "aria-valuemin": 0 },
    track,
    head,
    tip,
  );
  const ticks = h("div", { class: "tl-ticks" });
  const title = h("strong", { class: "tl-title" });
  const dayButton = h("button", { type: "button", class: "btn btn-small", onclick: () => zoom(null) }, "Whole day");
  const prevButton = h("button", { type: "button", class: "btn btn-small", "aria-label": "Previous hour" }, "‹");
  const nextButton = h("button", { type: "button", class: "btn btn-small", "aria-label": "Next hour" }, "›");
  const zoomButton = h("button", { type: "button", class: "btn btn-small" }, "Zoom to hour");
  prevButton.addEventListener("click", () => zoom(hourOf(view.start) - 1));
  nextButton.addEventListener("click", () => zoom(hourOf(view.start) + 1));
  zoomButton.addEventListener("click", () => zoom(hourOf(time ?? spans[0]?.start ?? dayStart)));
  const legend = h(
    "span",
    { class: "tl-legend muted" },
    h("span", { class: "tl-key tl-key-span" }),
    "Recorded",
    h("span", { class: "tl-key tl-key-gap" }),
    "No recording",
  );
  const el = h(
    "div",
    { class: "timeline" },
    h("div", { class: "tl-head-row" }, title, h("span", { class: "tl-zoom" }, prevButton, zoomButton, dayButton, nextButton), legend),
    bar,
    ticks,
  );

  function hourOf(ms) {
    return Math.min(23, Math.max(0, Math.floor((ms - dayStart) / HOUR_MS)));
  }
  const percent = (ms) => `${(((ms - view.start) / view.length) * 100).toFixed(4)}%`;
  const inView = (ms) => ms >= view.start && ms <= view.start + view.length;

  function render() {
    const end = view.start + view.length;
    const zoomed = view.length < DAY_MS;
    title.textContent = zoomed ? `${clock(view.start).slice(0, 5)} – ${clock(end - 1).slice(0, 5)} UTC` : "Whole day (UTC)";
    dayButton.hidden = !zoomed;
    zoomButton.hidden = zoomed;
    prevButton.hidden = nextButton.hidden = !zoomed;
    prevButton.disabled = view.start <= dayStart;
    nextButton.disabled = end >= dayStart + DAY_MS;
    bar.setAttribute("aria-valuemax", view.length / 1000);
    track.replaceChildren(
      ...spans
        .filter((s) => s.end > view.start && s.start < end)
        .map((s) => {
          const from = Math.max(s.start, view.start);
          const to = Math.min(s.end, end);
          return h("div", {
            class: "tl-span",
            title: `Recorded ${clock(s.start)} – ${clock(s.end)}`,
            dataset: { start: new Date(s.start).toISOString(), end: new Date(s.end).toISOString() },
            style: { left: percent(from), width: `${(((to - from) / view.length) * 100).toFixed(4)}%` },
          });
        }),
      ...events
        .filter((e) => inView(Date.parse(e.ts)))
        .map((e) =>
          h("button", {
            type: "button",
            class: `tl-marker tl-marker-${e.type}`,
            title: `${e.type.replace("_", " ")} · ${formatTime(e.ts)}`,
            "aria-label": `${e.type.replace("_", " ")} at ${clock(Date.parse(e.ts))}`,
            dataset: { event: e.id },
            style: { left: percent(Date.parse(e.ts)) },
            onpointerdown: (event) => event.stopPropagation(),
            onclick: () => onEvent(e),
          }),
        ),
    );
    // A day shows its 24 hours (a click zooms into one); an hour its 10-minute marks.
    ticks.classList.toggle("tl-ticks-day", !zoomed);
    ticks.replaceChildren(
      ...(zoomed
        ? Array.from({ length: 6 }, (_, i) => h("span", { class: "tl-tick" }, clock(view.start + i * 600000).slice(0, 5)))
        : Array.from({ length: 24 }, (_, hour) =>
            h(
              "button",
              {
                type: "button",
                class: "tl-tick tl-hour",
                dataset: { hour: pad(hour) },
                title: `Zoom to ${pad(hour)}:00`,
                onclick: () => zoom(hour),
              },
              pad(hour),
            ),
          )),
    );
    setTime(time);
    onView({ start: view.start, end });
  }

  /** Shows the hour `hour` (0–23), or the whole day for null. */
  function zoom(hour) {
    view = hour === null ? { start: dayStart, length: DAY_MS } : { start: dayStart + hour * HOUR_MS, length: HOUR_MS };
    render();
  }

  /** Moves the playhead to `ms` (null hides it); ignored while the user drags it. */
  function setTime(ms) {
    if (dragging) return;
    time = ms;
    placeHead(ms);
  }

  function placeHead(ms) {
    head.hidden = ms === null || !inView(ms);
    if (ms === null) return;
    head.style.left = percent(ms);
    bar.setAttribute("aria-valuenow", Math.round((ms - view.start) / 1000));
    bar.setAttribute("aria-valuetext", `${clock(ms)} UTC`);
  }

  function momentAt(clientX) {
    const rect = bar.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return Math.min(view.start + fraction * view.length, dayStart + DAY_MS - 1);
  }

  function preview(ms) {
    placeHead(ms);
    tip.hidden = false;
    tip.textContent = clock(ms);
    tip.style.left = percent(ms);
  }

  bar.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    dragging = true;
    bar.setPointerCapture(event.pointerId);
    preview(momentAt(event.clientX));
  });
  bar.addEventListener("pointermove", (event) => {
    if (dragging) preview(momentAt(event.clientX));
  });
  const finish = (event, seek) => {
    if (!dragging) return;
    dragging = false;
    tip.hidden = true;
    const ms = momentAt(event.clientX);
    if (seek) {
      time = ms;
      onSeek(ms);
    } else placeHead(time);
  };
  bar.addEventListener("pointerup", (event) => finish(event, true));
  bar.addEventListener("pointercancel", (event) => finish(event, false));
  bar.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    if (!step || time === null) return;
    event.preventDefault();
    // 10 s in an hour, 5 min in the day.
    onSeek(Math.min(dayStart + DAY_MS - 1, Math.max(dayStart, time + step * (view.length < DAY_MS ? 10000 : 300000))));
  });

  render();
  return { el, setTime, zoom };
}
