// Cameras: the tenant's list with live status and pipeline state, and a form that shows the server's field errors.
import { api, ApiError } from "../api.js";
import { emptyState, errorState, h, loading, showFieldErrors, statusPill, toast } from "../ui.js";

const FEATURES = ["person", "vehicle", "license_plate", "motion"];
const STATUS_REFRESH_MS = 10000;

function field(name, label, input, hint = "") {
  return h(
    "div",
    { class: "field", dataset: { field: name } },
    h("label", { for: `cam-${name}` }, label),
    input,
    hint && h("small", { class: "muted" }, hint),
    h("p", { class: "field-error", role: "alert", hidden: true }),
  );
}

// A camera's smaller stream (a substream URL), optional: the same checks and masking as its RTSP URL.
function substreamField(name, label, current, hint) {
  return field(name, label, h("input", { id: `cam-${name}`, name, value: current, placeholder: "rtsp://host:554/sub" }), hint);
}

function cameraForm(camera, onSaved, onCancel) {
  const editing = Boolean(camera);
  const value = (key, fallback = "") => (camera ? camera[key] : fallback);
  const form = h(
    "form",
    { class: "camera-form", novalidate: true },
    h("h2", {}, editing ? `Edit ${camera.name}` : "Add a camera"),
    field(
      "id",
      "Id",
      h("input", { id: "cam-id", name: "id", value: value("id"), readonly: editing, placeholder: "cam-front-01" }),
      editing ? "" : "Optional; lowercase letters, digits and hyphens. Generated when empty.",
    ),
    field("name", "Name", h("input", { id: "cam-name", name: "name", value: value("name"), required: true })),
    field(
      "rtsp_url",
      "RTSP URL",
      h("input", { id: "cam-rtsp_url", name: "rtsp_url", value: value("rtsp_url"), placeholder: "rtsp://host:554/stream" }),
      editing ? "The password is masked; leave it as is to keep it." : "",
    ),
    substreamField("detect_url", "Detection substream", value("detect_url"), "Decoded for detection instead; empty for none."),
    substreamField("live_url", "Live substream", value("live_url"), "What live viewers get instead; empty for none."),
    field(
      "features",
      "Detection",
      h(
        "div",
        { class: "checks", id: "cam-features" },
        FEATURES.map((f) =>
          h(
            "label",
            { class: "check" },
            h("input", { type: "checkbox", name: "features", value: f, checked: value("features", ["person"]).includes(f) }),
            f.replace("_", " "),
          ),
        ),
      ),
      "Features outside your plan are dropped by the server.",
    ),
    field("fps", "Frames per second", h("input", { id: "cam-fps", name: "fps", type: "number", value: value("fps", 5) })),
    h(
      "div",
      { class: "checks" },
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "enabled", checked: value("enabled", true) }), "Enabled"),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "record", checked: value("record", true) }), "Record"),
    ),
    h("p", { class: "form-error", role: "alert", hidden: true }),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "btn btn-ghost", onclick: onCancel }, "Cancel"),
      h("button", { type: "submit", class: "btn btn-primary" }, editing ? "Save" : "Add camera"),
    ),
  );

  const showErrors = (err) => showFieldErrors(form, err);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      name: data.get("name"),
      rtsp_url: data.get("rtsp_url"),
      detect_url: data.get("detect_url"),
      live_url: data.get("live_url"),
      features: data.getAll("features"),
      fps: Number(data.get("fps")),
      enabled: data.has("enabled"),
      record: data.has("record"),
    };
    if (!editing && data.get("id")) body.id = data.get("id");
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    try {
      const saved = editing
        ? await api(`cameras/${encodeURIComponent(camera.id)}`, { method: "PATCH", body })
        : await api("cameras", { method: "POST", body });
      showErrors(null);
      onSaved(saved);
    } catch (err) {
      showErrors(err instanceof ApiError ? err : { message: String(err) });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/**
 * The camera's pipelines (the list's `pipelines`: {record, detect}) as badges [tone, label, detail]: recording,
 * detecting, the detector's reported problems (its `detail`: a model that cannot be loaded, falling behind),
 * pipelines no worker node has room for, and failures with their last error. None while the server sends no pipelines.
 */
function pipelineBadges({ record, detect } = {}) {
  const badges = [];
  if (record?.state === "waiting") badges.push(["warn", "no room to record", record.detail]);
  if (detect?.state === "waiting") badges.push(["warn", "no room to detect", detect.detail]);
  if (record?.state === "failed") badges.push(["failed", "recording failed", record.last_error]);
  else if (record?.state === "running" && record.detail) badges.push(["warn", "recording interrupted", record.detail]);
  else if (record?.state === "running") badges.push(["ok", "recording", ""]);
  if (detect?.state === "failed") badges.push(["failed", "detection failed", detect.last_error]);
  else if (detect?.state === "running") {
    const detail = detect.detail || "";
    if (/model/i.test(detail)) badges.push(["warn", "model missing", detail]);
    if (detail.includes("falling behind")) badges.push(["warn", "falling behind", detail]);
    if (!detail) badges.push(["ok", "detecting", ""]);
  }
  return badges;
}

function pipelineState(camera) {
  const badges = pipelineBadges(camera.pipelines || {});
  if (!badges.length) return null;
  const errors = badges.filter(([tone, , detail]) => tone === "failed" && detail);
  return h(
    "div",
    { class: "pipelines" },
    badges.map(([tone, label, detail]) =>
      h("span", { class: `pipe pipe-${tone}`, title: detail || null, dataset: { pipe: label } }, label),
    ),
    errors.map(([, label, detail]) =>
      h("small", { class: "pipe-error", title: detail }, `${label.replace(" failed", "")}: ${detail}`),
    ),
  );
}

function cameraRow(camera, { onEdit, onDelete }) {
  return h(
    "tr",
    { dataset: { camera: camera.id } },
    h("td", {}, h("strong", {}, camera.name), h("div", { class: "muted mono nowrap" }, camera.id)),
    h("td", {}, statusPill(camera.enabled ? camera.status : "disabled"), pipelineState(camera)),
    h("td", { class: "mono hide-sm" }, camera.rtsp_url),
    h("td", { class: "hide-sm" }, camera.features.join(", ") || "—"),
    h("td", { class: "hide-sm" }, `${camera.fps} fps`, camera.record ? " · rec" : ""),
    // The flex box inside the cell: a flex <td> stops being a table cell and drops out of the row's height.
    h(
      "td",
      {},
      h(
        "div",
        { class: "row-actions" },
        h("a", { class: "btn btn-small", href: `#/live/${encodeURIComponent(camera.id)}` }, "Live"),
        h("a", { class: "btn btn-small", href: `#/playback/${encodeURIComponent(camera.id)}` }, "Playback"),
        h("a", { class: "btn btn-small", href: `#/aim/${encodeURIComponent(camera.id)}`, title: "Zones, masks and lines" }, "Zones"),
        h("button", { type: "button", class: "btn btn-small", onclick: () => onEdit(camera) }, "Edit"),
        h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => onDelete(camera) }, "Delete"),
      ),
    ),
  );
}

export function renderCameras(root) {
  const list = h("div", { class: "card" }, loading());
  const dialog = h("dialog", { class: "dialog" });
  const addButton = h("button", { type: "button", class: "btn btn-primary", onclick: () => openForm(null) }, "Add camera");
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Cameras"), addButton), list, dialog);

  function openForm(camera) {
    const close = () => dialog.close();
    dialog.replaceChildren(
      cameraForm(
        camera,
        (saved) => {
          close();
          toast(camera ? `Saved ${saved.name}.` : `Added ${saved.name}.`, "success");
          refresh();
        },
        close,
      ),
    );
    dialog.showModal();
  }

  async function remove(camera) {
    if (!window.confirm(`Delete camera "${camera.name}"? Its recordings stop.`)) return;
    try {
      await api(`cameras/${encodeURIComponent(camera.id)}`, { method: "DELETE" });
      toast(`Deleted ${camera.name}.`, "success");
      refresh();
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async function refresh() {
    try {
      const cameras = await api("cameras");
      if (!cameras.length) {
        list.replaceChildren(emptyState("No cameras yet", "Add an RTSP camera to start recording and detecting."));
        return;
      }
      const head = ["Camera", "Status", "RTSP URL", "Detection", "Recording", ""];
      list.replaceChildren(
        h(
          "table",
          { class: "table" },
          h("thead", {}, h("tr", {}, head.map((t, i) => h("th", { class: i > 1 && i < 5 ? "hide-sm" : null }, t)))),
          h("tbody", {}, cameras.map((c) => cameraRow(c, { onEdit: openForm, onDelete: remove }))),
        ),
      );
    } catch (err) {
      if (err.status !== 401) list.replaceChildren(errorState(err, refresh));
    }
  }

  refresh();
  const timer = setInterval(() => {
    if (!dialog.open) refresh();
  }, STATUS_REFRESH_MS);
  return () => clearInterval(timer);
}
