// Small DOM helpers shared by the screens; no framework, so each screen stays plain to read.

/** Builds an element: h("button", {class: "btn", onclick: fn, style: {left: "5%"}}, "Save"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    // Through the CSSOM: the page's Content-Security-Policy refuses inline style attributes.
    else if (key === "style") Object.assign(el.style, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** Downloads `blob` as the file `name`. */
export function saveBlob(blob, name) {
  const link = h("a", { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

export function toast(message, kind = "info") {
  const box = h("div", { class: `toast toast-${kind}` }, message);
  document.querySelector(".toasts").append(box);
  setTimeout(() => box.remove(), 4000);
}

export function emptyState(title, hint = "") {
  return h("div", { class: "state state-empty" }, h("strong", {}, title), hint && h("p", {}, hint));
}

export function errorState(error, retry) {
  return h(
    "div",
    { class: "state state-error", role: "alert" },
    h("strong", {}, "Something went wrong"),
    h("p", {}, error?.message || String(error)),
    retry && h("button", { type: "button", class: "btn", onclick: retry }, "Try again"),
  );
}

export function loading(text = "Loading…") {
  return h("div", { class: "state state-loading" }, h("span", { class: "spinner" }), text);
}

export function statusPill(status) {
  return h("span", { class: `pill pill-${status}` }, status);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });

export function formatTime(iso) {
  return `${timeFormat.format(new Date(iso))} UTC`;
}

/** Today's date (UTC) as YYYY-MM-DD, the form the playback API and the recordings use. */
export function utcDate(date = new Date()) {
  return date.toISOString().slice(0, 10);
}

// The event types (events.catalogue.EVENT_CATEGORIES), for filters: the events list's and the reports'.
const EVENT_TYPES = [
  "person", "vehicle", "license_plate", "line_crossing", "motion", "camera_offline", "camera_online", "watchlist_match",
];

/** A <select> of the event types, with an "All types" choice. */
export function typeSelect() {
  return h(
    "select",
    { name: "type", "aria-label": "Type" },
    h("option", { value: "" }, "All types"),
    EVENT_TYPES.map((t) => h("option", { value: t }, t.replace("_", " "))),
  );
}

/** A <select> of the tenant's cameras; `withAll` adds an "All cameras" choice. */
export function cameraSelect(cameras, { selected = "", withAll = false, name = "camera" } = {}) {
  return h(
    "select",
    { name, "aria-label": "Camera" },
    withAll && h("option", { value: "" }, "All cameras"),
    cameras.map((c) => h("option", { value: c.id, selected: c.id === selected }, `${c.name} (${c.id})`)),
  );
}

/** Shows an ApiError's `fields` messages next to the form's `.field[data-field]` boxes, anything else in its
 *  `.form-error`; `null` clears them. */
export function showFieldErrors(form, err) {
  let shown = false;
  for (const box of form.querySelectorAll(".field")) {
    const messages = err?.fields?.[box.dataset.field];
    const slot = box.querySelector(".field-error");
    slot.hidden = !messages;
    slot.textContent = messages ? [].concat(messages).join(" ") : "";
    box.classList.toggle("invalid", Boolean(messages));
    shown ||= Boolean(messages);
  }
  const formError = form.querySelector(".form-error");
  formError.hidden = !err || shown;
  formError.textContent = err && !shown ? err.message : "";
}
