// Audit: the tenant's audit trail for its admins (tokens with audit:read), newest first with keyset paging, filtered
// by time, actor, action and camera, and the same filters as a CSV download.
import { api, apiBlob, apiPage } from "../api.js";
import { cameraSelect, emptyState, errorState, formatTime, h, loading, saveBlob, toast } from "../ui.js";

const AUDIT_READ = "audit:read";
const PAGE_SIZE = 50;
const HEAD = ["Time", "Actor", "Action", "Object", "Camera", "Address", "Outcome"];
// Suggestions for the action filter (any text is sent as typed); the README lists every action.
const ACTIONS = [
  "auth.login", "auth.login_failed", "token.issue", "camera.create", "camera.update", "camera.delete", "camera.aim",
  "live.view", "live.end", "playback.view", "snapshot.view", "export.create", "export.download", "export.hold",
  "export.release", "export.delete", "subscription.create", "subscription.update", "subscription.delete",
  "admin.add", "admin.change", "admin.delete",
];

/** Whether the session's token may read the audit trail (its `scope` claim is space-separated). */
export function canReadAudit(claims) {
  return String(claims?.scope || "").split(" ").includes(AUDIT_READ);
}

function entryRow(entry) {
  const object = [entry.object_type, entry.object_id].filter(Boolean).join(" ");
  return h(
    "tr",
    { dataset: { entry: entry.id, action: entry.action } },
    h("td", { class: "nowrap" }, formatTime(entry.ts)),
    h("td", { class: "mono" }, entry.actor),
    h("td", { class: "mono" }, entry.action),
    h("td", {}, object || "—"),
    h("td", { class: "mono" }, entry.camera_id || "—"),
    h("td", { class: "mono hide-sm" }, entry.address || "—"),
    h("td", {}, h("span", { class: `pill pill-${entry.outcome === "ok" ? "online" : "offline"}` }, entry.outcome)),
  );
}

/** The datetime-local value (read as UTC, like every time the console shows) as ISO 8601, or "". */
function utcInput(value) {
  return value ? new Date(`${value}Z`).toISOString() : "";
}

function readFilters(form) {
  const data = new FormData(form);
  return {
    since: utcInput(data.get("since")),
    until: utcInput(data.get("until")),
    actor: data.get("actor").trim(),
    action: data.get("action").trim(),
    camera_id: data.get("camera") || "",
  };
}

async function download(filters, button) {
  button.disabled = true;
  try {
    saveBlob(await apiBlob("audit", { ...filters, format: "csv" }), "audit.csv");
  } catch (err) {
    if (err.status !== 401) toast(err.message, "error");
  } finally {
    button.disabled = false;
  }
}

/** What the server's last hourly walk of the chain found: intact, broken at an entry, or not checked yet. */
function chainState(state) {
  if (state.intact === null) return ["", "Chain not checked yet: it is walked every hour."];
  const when = `checked ${formatTime(state.checked_at)}`;
  if (state.intact) return ["ok", `Chain intact: ${state.entries} entries, ${when}.`];
  return ["broken", `Chain broken at entry ${state.broken_entry}: ${state.problem} (${when}).`];
}

function chainLine() {
  const line = h("p", { class: "chain-state muted", role: "status" }, "Checking the chain…");
  api("audit/chain")
    .then((state) => {
      const [kind, text] = chainState(state);
      line.dataset.chain = kind;
      line.className = kind === "broken" ? "chain-state form-error" : "chain-state muted";
      line.textContent = text;
    })
    .catch((err) => {
      if (err.status !== 401) line.textContent = `Chain state unavailable: ${err.message}`;
    });
  return line;
}

export function renderAudit(root) {
  let filters = {};
  let cursor = null;
  let shown = 0;
  const csv = h("button", { type: "button", class: "btn", onclick: () => download(filters, csv) }, "Download CSV");
  const rows = h("tbody");
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const body = h("div", { class: "card" }, loading());
  const form = h(
    "form",
    { class: "toolbar filters" },
    h("label", { class: "inline" }, "Since (UTC)", h("input", { type: "datetime-local", name: "since", step: 1 })),
    h("label", { class: "inline" }, "Until (UTC)", h("input", { type: "datetime-local", name: "until", step: 1 })),
    h("input", { name: "actor", placeholder: "Actor, e.g. user:olivia", "aria-label": "Actor" }),
    h("input", { name: "action", placeholder: "Action", list: "audit-actions", "aria-label": "Action" }),
    h("datalist", { id: "audit-actions" }, ACTIONS.map((a) => h("option", { value: a }))),
  );
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Audit"), csv), chainLine(), form, body);

  async function loadPage() {
    more.disabled = true;
    const query = filters;
    try {
      const page = await apiPage("audit", { ...query, limit: PAGE_SIZE, before: cursor });
      // Filters changed while this page was on its way: its entries belong to the old query.
      if (query !== filters) return;
      rows.append(...page.items.map(entryRow));
      shown += page.items.length;
      cursor = page.next;
      more.hidden = !cursor;
      if (!shown) body.replaceChildren(emptyState("No entries", "Nothing in the audit trail matches these filters."));
    } catch (err) {
      if (err.status !== 401 && query === filters) body.replaceChildren(errorState(err, reload));
    } finally {
      more.disabled = false;
    }
  }

  function reload() {
    filters = readFilters(form);
    cursor = null;
    shown = 0;
    rows.replaceChildren();
    body.replaceChildren(
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "table audit" },
          h("thead", {}, h("tr", {}, HEAD.map((t) => h("th", { class: t === "Address" ? "hide-sm" : null }, t)))),
          rows,
        ),
      ),
      h("div", { class: "more" }, more),
    );
    loadPage();
  }

  more.addEventListener("click", loadPage);
  form.addEventListener("change", reload);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });

  api("cameras")
    .then((cameras) => {
      form.append(cameraSelect(cameras, { withAll: true }));
      reload();
    })
    .catch((err) => {
      if (err.status !== 401) body.replaceChildren(errorState(err, () => window.location.reload()));
    });
}
