// Exports: the tenant's download list, newest first, with each job's and each file's progress (pushed over the
// WebSocket, polled while the socket says nothing), the files' sizes, durations, gaps and SHA-256, legal hold and
// delete. A job is made from the playback screen's Export dialog.
import { api, apiPage, mediaUrl } from "../api.js";
import { subscribeExports } from "../realtime.js";
import { clock } from "../timeline.js";
import { emptyState, errorState, formatTime, h, loading, toast } from "../ui.js";

const PAGE_SIZE = 50;
// An unfinished job the socket has not updated for this long is read from the API.
const POLL_MS = 2000;
const ACTIVE = new Set(["queued", "running"]);

/** "1.4 MB" */
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** "1:02:03" or "2:03" of seconds. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const total = Math.round(seconds);
  const [hh, mm, ss] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

function progressBar(percent, label) {
  const value = Math.max(0, Math.min(100, Math.round(percent || 0)));
  return h(
    "div",
    { class: "progress", role: "progressbar", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": value },
    h("div", { class: "progress-fill", style: { width: `${value}%` } }),
  );
}

function copyHash(sha256, code) {
  const copied = () => toast("SHA-256 copied.", "success");
  // The clipboard needs a secure context; elsewhere the hash is selected for the user to copy.
  const select = () => {
    window.getSelection().selectAllChildren(code);
    toast("Press Ctrl+C to copy the selected hash.", "info");
  };
  if (navigator.clipboard?.writeText) navigator.clipboard.writeText(sha256).then(copied, select);
  else select();
}

function gapList(gaps) {
  if (!gaps?.length) return h("span", { class: "muted" }, "none");
  return h(
    "ul",
    { class: "gaps" },
    gaps.map((g) => h("li", { title: `${formatTime(g.start)} – ${formatTime(g.end)}` }, `${clock(Date.parse(g.start))} – ${clock(Date.parse(g.end))}`)),
  );
}

/** "2020-03-12 04:00:00 – 04:00:16 UTC" (the end's date too when the range crosses midnight). */
function formatRange(start, end) {
  if (!start || !end) return "";
  const [from, to] = [new Date(start).toISOString(), new Date(end).toISOString()];
  const sameDay = from.slice(0, 10) === to.slice(0, 10);
  return `${from.slice(0, 10)} ${from.slice(11, 19)} – ${sameDay ? "" : `${to.slice(0, 10)} `}${to.slice(11, 19)} UTC`;
}

function fileRow(job, file, cameraName) {
  const code = file.sha256 ? h("code", { class: "mono sha" }, file.sha256) : null;
  const done = job.state === "done" && file.url;
  return h(
    "tr",
    { dataset: { camera: file.camera_id } },
    h("td", {}, h("strong", {}, cameraName(file.camera_id)), h("div", { class: "muted mono" }, file.camera_id)),
    h(
      "td",
      { class: "export-file-progress" },
      done ? "Ready" : job.state === "failed" ? "—" : progressBar(file.progress ?? job.progress, `Progress of ${file.camera_id}`),
    ),
    h("td", { dataset: { size: "" } }, formatSize(file.size)),
    h("td", { dataset: { duration: "" } }, formatDuration(file.duration)),
    h("td", { dataset: { gaps: "" } }, gapList(file.gaps)),
    h(
      "td",
      { class: "hash" },
      code
        ? h("div", { class: "hash-row" }, code, h("button", { type: "button", class: "btn btn-small", onclick: () => copyHash(file.sha256, code) }, "Copy"))
        : h("span", { class: "muted" }, "—"),
    ),
    h(
      "td",
      {},
      done && h("a", { class: "btn btn-small btn-primary", href: mediaUrl(file.url), download: "", dataset: { download: file.camera_id } }, "Download"),
    ),
  );
}

function jobCard(job, { onHold, onDelete, cameraName }) {
  const hold = h("input", { type: "checkbox", name: "legal_hold", checked: job.legal_hold });
  hold.addEventListener("change", () => onHold(job, hold));
  const expiry = job.legal_hold ? "Legal hold: never expires" : job.expires ? `Expires ${formatTime(job.expires)}` : "";
  return h(
    "article",
    { class: "card export", dataset: { export: job.id, state: job.state } },
    h(
      "div",
      { class: "export-head" },
      h(
        "div",
        { class: "export-title" },
        h("strong", {}, job.name || "Export"),
        h("span", { class: "export-range-text" }, formatRange(job.start, job.end)),
        h("span", { class: "muted" }, `Created ${formatTime(job.created_at)}`),
      ),
      h("span", { class: `pill pill-export-${job.state}`, dataset: { exportState: job.state } }, job.state),
      h("label", { class: "check export-hold", title: "A held export and its recordings are kept until released" }, hold, "Legal hold"),
      h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => onDelete(job) }, "Delete"),
    ),
    ACTIVE.has(job.state) &&
      h(
        "div",
        { class: "export-progress" },
        progressBar(job.progress, `Progress of ${job.name || "the export"}`),
        h("span", { class: "muted" }, `${Math.round(job.progress || 0)}%`),
      ),
    job.state === "failed" && h("p", { class: "form-error", role: "alert" }, job.error || "The export failed."),
    expiry && h("p", { class: "muted export-expiry" }, expiry),
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "table export-files" },
        h("thead", {}, h("tr", {}, ["Camera", "Progress", "Size", "Duration", "Gaps", "SHA-256", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, (job.files || []).map((f) => fileRow(job, f, cameraName))),
      ),
    ),
  );
}

export function renderExports(root) {
  const state = h("span", { class: "live-state", dataset: { state: "connecting" } }, "Connecting…");
  const list = h("div", { class: "export-list" });
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const body = h("div", {}, loading());
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Exports"), h("div", { class: "head-tools" }, state, h("a", { class: "btn", href: "#/playback" }, "New export from playback"))),
    body,
  );
  // The jobs on screen by id, and when each was last updated (by the socket or a poll).
  const jobs = new Map();
  const updated = new Map();
  let cursor = null;
  let socketLive = false;
  // Cameras by id for their names; a deleted camera's file shows its id.
  let names = new Map();

  const handlers = { onHold: setHold, onDelete: remove, cameraName: (id) => names.get(id) || id };

  /** Shows `job`: replaces its card, or adds it (at the top when it is new, else at the end of the list). */
  function show(job, { atTop = false } = {}) {
    const old = list.querySelector(`[data-export="${CSS.escape(String(job.id))}"]`);
    const card = jobCard(job, handlers);
    jobs.set(job.id, job);
    updated.set(job.id, Date.now());
    if (old) old.replaceWith(card);
    else if (atTop) list.prepend(card);
    else list.append(card);
    body.querySelector(".state-empty")?.remove();
  }

  function showEmpty() {
    if (!jobs.size && !body.querySelector(".state-empty")) {
      body.prepend(emptyState("No exports yet", "Open Playback, pick a day and press Export to make MP4 files of a time range."));
    }
  }

  async function loadPage() {
    more.disabled = true;
    try {
      const page = await apiPage("exports", { limit: PAGE_SIZE, before: cursor });
      for (const job of page.items) if (!jobs.has(job.id)) show(job);
      cursor = page.next;
      more.hidden = !cursor;
      showEmpty();
    } catch (err) {
      if (err.status !== 401) body.replaceChildren(errorState(err, restart));
    } finally {
      more.disabled = false;
    }
  }

  function restart() {
    jobs.clear();
    cursor = null;
    list.replaceChildren();
    body.replaceChildren(list, h("div", { class: "more" }, more));
    loadPage();
  }

  async function setHold(job, input) {
    input.disabled = true;
    try {
      show(await api(`exports/${encodeURIComponent(job.id)}`, { method: "PATCH", body: { legal_hold: input.checked } }));
      toast(input.checked ? `"${job.name}" is on legal hold.` : `Legal hold released on "${job.name}".`, "success");
    } catch (err) {
      input.checked = !input.checked;
      input.disabled = false;
      toast(err.message, "error");
    }
  }

  async function remove(job) {
    if (!window.confirm(`Delete the export "${job.name}" and its files?`)) return;
    try {
      await api(`exports/${encodeURIComponent(job.id)}`, { method: "DELETE" });
      list.querySelector(`[data-export="${CSS.escape(String(job.id))}"]`)?.remove();
      jobs.delete(job.id);
      toast(`Deleted "${job.name}".`, "success");
      showEmpty();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  /** The fallback for a quiet socket: unfinished jobs not updated for POLL_MS are read again. */
  let polling = false;
  async function poll() {
    if (polling) return; // the last round is still waiting for the server
    polling = true;
    const due = [...jobs.values()].filter((j) => ACTIVE.has(j.state) && (!socketLive || Date.now() - updated.get(j.id) >= POLL_MS));
    for (const job of due) {
      const asked = Date.now();
      try {
        const fresh = await api(`exports/${encodeURIComponent(job.id)}`);
        // A push that came while the request was out is newer than its answer.
        if (jobs.has(fresh.id) && updated.get(fresh.id) <= asked) show(fresh);
      } catch (err) {
        if (err.status === 404) {
          list.querySelector(`[data-export="${CSS.escape(String(job.id))}"]`)?.remove();
          jobs.delete(job.id);
        }
      }
    }
    polling = false;
  }

  more.addEventListener("click", loadPage);
  const closeFeed = subscribeExports(
    (job) => show(job, { atTop: !jobs.has(job.id) }),
    (name) => {
      socketLive = name === "live";
      state.dataset.state = name;
      state.textContent = { live: "Live", connecting: "Connecting…", offline: "Reconnecting…" }[name];
    },
  );
  const timer = setInterval(poll, POLL_MS);
  api("cameras")
    .then((cameras) => {
      names = new Map(cameras.map((c) => [c.id, c.name]));
    })
    .catch(() => {})
    .finally(restart);
  return () => {
    clearInterval(timer);
    closeFeed();
  };
}
