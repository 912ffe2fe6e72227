// Aim editor (#/aim/<camera id>): draw the camera's zones, masks and lines over its latest picture, set their flags
// and labels, per-label filters and alert labels, and save them with one PATCH; the server's geometry errors are
// shown next to the shape they name.
import { api, ApiError, mediaUrl } from "../api.js";
import { aimLayer, drawAim, percent } from "../overlay.js";
import { errorState, h, loading, toast } from "../ui.js";

// What a detector labels an object with (the tenant catalogue's features, less motion).
const LABELS = ["person", "vehicle", "license_plate"];
const DIRECTIONS = [
  ["both", "Both ways"],
  // As the detector counts it (events/detection/aim.py): a_to_b is crossing from the right of the arrow A→B to its
  // left, e.g. left to right across a line drawn from top (A) to bottom (B).
  ["a_to_b", "A → B (from its right to its left)"],
  ["b_to_a", "B → A (from its left to its right)"],
];
const FILTER_KEYS = [
  ["min_score", "Min score"],
  ["min_area", "Min area"],
  ["max_area", "Max area"],
];
const TOOLS = [
  ["zones", null, "Add zone"],
  ["masks", "object", "Add object mask"],
  ["masks", "motion", "Add motion mask"],
  ["lines", null, "Add line"],
];
const KIND_NAMES = { zones: "Zone", lines: "Line" };
// The server's error path of a shape ("zones[2].points: ...") or of a filter ("filters.person.min_area: ...").
const SHAPE_PATH = /\b(zones|masks|lines)\[(\d+)\]/;
const FILTER_PATH = /\bfilters\.([a-z_]+)/;

const round = (value) => Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000;
const labelText = (label) => label.replace("_", " ");

/** The five aim fields of a camera, copied so edits stay local until saved. */
function aimOf(camera) {
  return structuredClone({
    zones: camera.zones || [],
    masks: camera.masks || [],
    lines: camera.lines || [],
    filters: camera.filters || {},
    alert_labels: camera.alert_labels || ["person", "vehicle"],
  });
}

function uniqueName(items, base) {
  const names = new Set(items.map((item) => item.name));
  let n = items.length + 1;
  while (names.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

function labelChecks(selected, onChange, name) {
  return h(
    "div",
    { class: "checks", role: "group", "aria-label": name },
    LABELS.map((label) =>
      h(
        "label",
        { class: "check" },
        h("input", {
          type: "checkbox",
          value: label,
          checked: (selected || []).includes(label),
          onchange: (event) => {
            const set = new Set(selected || []);
            if (event.target.checked) set.add(label);
            else set.delete(label);
            onChange(LABELS.filter((l) => set.has(l)));
          },
        }),
        labelText(label),
      ),
    ),
  );
}

/** Every message of an ApiError (its detail and each field's messages, with their keys) as one list. */
function messages(err) {
  const out = [err.message];
  const walk = (value, key) => {
    if (Array.isArray(value)) value.forEach((v) => walk(v, key));
    else if (value && typeof value === "object") Object.entries(value).forEach(([k, v]) => walk(v, key ? `${key}.${k}` : k));
    else if (value !== undefined && value !== null) out.push(key && !String(value).includes(key) ? `${key}: ${value}` : String(value));
  };
  walk(err.fields, "");
  return out;
}

export function renderAim(root, { arg: cameraId }) {
  const title = h("h1", {}, "Zones and lines");
  const body = h("div", {}, loading());
  root.append(
    h("div", { class: "page-head" }, h("div", { class: "crumbs" }, h("a", { href: "#/cameras" }, "‹ Cameras"), title)),
    body,
  );
  let closed = false;
  let camera = null;
  let aim = null;
  let selected = null; // "zones:0"
  let drawing = false; // clicks on the picture add points to the selected shape
  let drag = null; // {key, index}
  let errors = {}; // "zones:0" | "filters:person" | "form" -> message

  const layer = aimLayer();
  layer.classList.add("aim-edit-layer");
  const handles = h("div", { class: "aim-handles" });
  const stage = h("div", { class: "aim-stage", tabindex: "0", "aria-label": "Camera picture: click to add points" });
  const hint = h("p", { class: "muted aim-hint" });
  const doneButton = h("button", { type: "button", class: "btn btn-small btn-primary", hidden: true, onclick: () => finish() }, "Done");
  const undoButton = h("button", { type: "button", class: "btn btn-small", hidden: true, onclick: () => undoPoint() }, "Undo point");
  const shapesList = h("div", { class: "aim-shapes" });
  const filtersBox = h("div", { class: "aim-filters" });
  const alertsBox = h("div", { class: "aim-alerts" });
  const formError = h("p", { class: "form-error", role: "alert", hidden: true });
  const saveButton = h("button", { type: "button", class: "btn btn-primary", onclick: () => save() }, "Save");
  const revertButton = h("button", { type: "button", class: "btn", onclick: () => revert() }, "Revert");

  const itemOf = (key) => {
    if (!key) return null;
    const [kind, index] = key.split(":");
    return aim[kind]?.[Number(index)] || null;
  };
  const kindOf = (key) => key?.split(":")[0];

  /** Point [x, y] (0-1) of a pointer event over the picture. */
  function pointAt(event) {
    const rect = stage.getBoundingClientRect();
    return [round((event.clientX - rect.left) / rect.width), round((event.clientY - rect.top) / rect.height)];
  }

  function pointsOf(key) {
    const item = itemOf(key);
    if (!item) return [];
    return kindOf(key) === "lines" ? [item.a, item.b].filter(Boolean) : item.points;
  }

  function setPoint(key, index, point) {
    const item = itemOf(key);
    if (kindOf(key) === "lines") item[index === 0 ? "a" : "b"] = point;
    else item.points[index] = point;
  }

  function redraw() {
    drawAim(layer, aim, { selected });
    handles.replaceChildren(
      ...pointsOf(selected).map(([x, y], index) =>
        h("span", {
          class: "aim-handle",
          title: "Drag to move",
          dataset: { handle: index },
          style: { left: percent(x), top: percent(y) },
          onpointerdown: (event) => {
            event.preventDefault();
            event.stopPropagation();
            drag = { key: selected, index };
            stage.setPointerCapture(event.pointerId);
          },
        }),
      ),
    );
    const kind = kindOf(selected);
    const count = pointsOf(selected).length;
    doneButton.hidden = !(drawing && kind !== "lines");
    undoButton.hidden = !(drawing && count > 0);
    stage.classList.toggle("drawing", drawing);
    hint.textContent = drawing
      ? kind === "lines"
        ? `Click the line's ${count ? "end (B)" : "start (A)"} on the picture.`
        : `Click the picture to add points (${count} so far, at least 3), then Done.`
      : selected
        ? "Drag a point to move it."
        : "Add a zone, a mask or a line, then click its points on the picture.";
    renderShapes();
  }

  function select(key) {
    if (drawing && key !== selected) finish();
    selected = key;
    redraw();
  }

  function add(kind, maskKind) {
    if (drawing) finish();
    const base = kind === "masks" ? `${maskKind}-mask` : kind.slice(0, -1);
    const item =
      kind === "zones"
        ? { name: uniqueName(aim.zones, base), points: [], required: false, alert: false }
        : kind === "masks"
          ? { name: uniqueName(aim.masks, base), points: [], kind: maskKind }
          : { name: uniqueName(aim.lines, base), direction: "both" };
    aim[kind].push(item);
    selected = `${kind}:${aim[kind].length - 1}`;
    drawing = true;
    redraw();
  }

  /** Ends drawing; a polygon left with fewer than 3 points, or a line without both ends, is dropped. */
  function finish() {
    drawing = false;
    const item = itemOf(selected);
    const short = kindOf(selected) === "lines" ? !(item?.a && item?.b) : (item?.points.length || 0) < 3;
    if (item && short) remove(selected);
    else redraw();
  }

  function undoPoint() {
    const item = itemOf(selected);
    if (kindOf(selected) === "lines") delete item[item.b ? "b" : "a"];
    else item.points.pop();
    redraw();
  }

  function remove(key) {
    const [kind, index] = key.split(":");
    aim[kind].splice(Number(index), 1);
    if (selected === key) {
      selected = null;
      drawing = false;
    }
    errors = {};
    redraw();
  }

  stage.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    // Not drawing: a click on a shape selects it.
    const shape = event.target.closest?.("[data-shape]")?.dataset.shape;
    if (!drawing && shape) select(shape);
    if (!drawing) return;
    const item = itemOf(selected);
    const point = pointAt(event);
    if (kindOf(selected) === "lines") {
      item[item.a ? "b" : "a"] = point;
      if (item.b) drawing = false;
    } else item.points.push(point);
    redraw();
  });
  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    setPoint(drag.key, drag.index, pointAt(event));
    drawAim(layer, aim, { selected });
    const handle = handles.querySelector(`[data-handle="${drag.index}"]`);
    const [x, y] = pointsOf(drag.key)[drag.index];
    Object.assign(handle.style, { left: percent(x), top: percent(y) });
  });
  const endDrag = () => {
    if (!drag) return;
    drag = null;
    redraw();
  };
  stage.addEventListener("pointerup", endDrag);
  stage.addEventListener("pointercancel", endDrag);
  stage.addEventListener("keydown", (event) => {
    if (drawing && (event.key === "Enter" || event.key === "Escape")) finish();
  });

  function shapeCard(kind, item, index) {
    const key = `${kind}:${index}`;
    const set = (field, value) => {
      if (value === undefined) delete item[field];
      else item[field] = value;
      redraw();
    };
    const error = errors[key];
    const kindName = kind === "masks" ? `${item.kind === "motion" ? "Motion" : "Object"} mask` : KIND_NAMES[kind];
    const rows = [
      h(
        "div",
        { class: "shape-head" },
        h("span", { class: `shape-kind shape-kind-${kind}${kind === "masks" ? `-${item.kind}` : ""}` }, kindName),
        h("input", {
          class: "shape-name",
          value: item.name,
          "aria-label": `${kindName} name`,
          maxlength: 64,
          onchange: (event) => set("name", event.target.value.trim()),
          onclick: (event) => event.stopPropagation(),
        }),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small btn-danger",
            "aria-label": `Delete ${item.name}`,
            onclick: (event) => {
              event.stopPropagation();
              remove(key);
            },
          },
          "Delete",
        ),
      ),
    ];
    if (kind === "zones") {
      rows.push(
        h(
          "div",
          { class: "checks" },
          ["required", "alert"].map((flag) =>
            h(
              "label",
              { class: "check", title: flag === "required" ? "Objects that never enter a required zone make no event" : "Only objects that enter an alert zone make alerts" },
              h("input", { type: "checkbox", name: flag, checked: Boolean(item[flag]), onchange: (event) => set(flag, event.target.checked) }),
              flag,
            ),
          ),
        ),
      );
    }
    if (kind === "lines") {
      rows.push(
        h(
          "label",
          { class: "inline" },
          "Direction",
          h(
            "select",
            { name: "direction", onchange: (event) => set("direction", event.target.value) },
            DIRECTIONS.map(([value, text]) => h("option", { value, selected: item.direction === value }, text)),
          ),
        ),
      );
    }
    if (kind !== "masks" || item.kind === "object") {
      rows.push(
        h("small", { class: "muted" }, "Labels (none: all)"),
        labelChecks(item.labels, (labels) => set("labels", labels.length ? labels : undefined), `${item.name} labels`),
      );
    }
    rows.push(h("p", { class: "field-error shape-error", role: "alert", hidden: !error }, error || ""));
    return h(
      "div",
      {
        class: `shape-card${key === selected ? " selected" : ""}${error ? " invalid" : ""}`,
        dataset: { shape: key },
        onclick: () => key !== selected && select(key),
      },
      rows,
    );
  }

  function renderShapes() {
    const cards = ["zones", "masks", "lines"].flatMap((kind) => aim[kind].map((item, index) => shapeCard(kind, item, index)));
    shapesList.replaceChildren(...(cards.length ? cards : [h("p", { class: "muted" }, "No zones, masks or lines yet.")]));
    for (const row of filtersBox.querySelectorAll("tr[data-filter]")) {
      const error = errors[`filters:${row.dataset.filter}`];
      row.classList.toggle("invalid", Boolean(error));
      const slot = row.querySelector(".field-error");
      slot.hidden = !error;
      slot.textContent = error || "";
    }
    formError.hidden = !errors.form;
    formError.textContent = errors.form || "";
  }

  function renderFilters() {
    const input = (label, key) =>
      h("input", {
        type: "number",
        min: 0,
        max: 1,
        step: 0.01,
        name: `${label}.${key}`,
        "aria-label": `${labelText(label)} ${key.replace("_", " ")}`,
        value: aim.filters[label]?.[key] ?? "",
        onchange: (event) => {
          const value = event.target.value;
          const limits = { ...(aim.filters[label] || {}) };
          if (value === "") delete limits[key];
          else limits[key] = Number(value);
          if (Object.keys(limits).length) aim.filters[label] = limits;
          else delete aim.filters[label];
        },
      });
    filtersBox.replaceChildren(
      h("h2", {}, "Filters"),
      h("p", { class: "muted" }, "Per label; areas are fractions of the frame. Empty: no limit."),
      h(
        "table",
        { class: "table aim-filter-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Label"), FILTER_KEYS.map(([, text]) => h("th", {}, text)))),
        h(
          "tbody",
          {},
          LABELS.map((label) =>
            h(
              "tr",
              { dataset: { filter: label } },
              h("td", {}, labelText(label), h("p", { class: "field-error", role: "alert", hidden: true })),
              FILTER_KEYS.map(([key]) => h("td", {}, input(label, key))),
            ),
          ),
        ),
      ),
    );
    alertsBox.replaceChildren(
      h("h2", {}, "Alerts"),
      h("p", { class: "muted" }, "Events of these labels are alerts (in an alert zone, when a zone is marked alert)."),
      labelChecks(
        aim.alert_labels,
        (labels) => {
          aim.alert_labels = labels;
        },
        "Alert labels",
      ),
    );
  }

  function showErrors(err) {
    errors = {};
    let placed = false;
    for (const text of messages(err)) {
      const shape = SHAPE_PATH.exec(text);
      const filter = FILTER_PATH.exec(text);
      const key = shape ? `${shape[1]}:${shape[2]}` : filter ? `filters:${filter[1]}` : null;
      if (!key || errors[key]) continue;
      errors[key] = text.slice(shape ? shape.index : filter.index);
      placed = true;
      if (shape && itemOf(key)) selected = key;
    }
    if (!placed) errors.form = err.message;
    drawing = false;
    redraw();
    shapesList.querySelector(".shape-card.invalid")?.scrollIntoView({ block: "nearest" });
  }

  async function save() {
    if (drawing) finish();
    saveButton.disabled = true;
    const body = { zones: aim.zones, masks: aim.masks, lines: aim.lines, filters: aim.filters, alert_labels: aim.alert_labels };
    try {
      const saved = await api(`cameras/${encodeURIComponent(camera.id)}`, { method: "PATCH", body });
      if (closed) return;
      camera = { ...camera, ...saved };
      errors = {};
      toast(`Saved the zones of ${camera.name}.`, "success");
      redraw();
    } catch (err) {
      if (closed || err.status === 401) return;
      showErrors(err instanceof ApiError ? err : { message: String(err), fields: {} });
    } finally {
      saveButton.disabled = false;
    }
  }

  function revert() {
    aim = aimOf(camera);
    selected = null;
    drawing = false;
    errors = {};
    renderFilters();
    redraw();
  }

  function picture() {
    const empty = () => {
      stage.classList.add("aim-stage-empty");
      img.remove();
      stage.prepend(h("div", { class: "aim-no-picture" }, "No picture yet: the camera has not recorded."));
    };
    const img = h("img", { class: "aim-img", alt: `Latest picture of ${camera.name}`, draggable: "false" });
    img.addEventListener("error", empty, { once: true });
    img.addEventListener("load", () => stage.classList.add("aim-stage-ready"), { once: true });
    img.src = mediaUrl(`/v2/hls/${encodeURIComponent(camera.id)}/latest.jpg`);
    stage.replaceChildren(img, layer, handles);
  }

  async function start() {
    try {
      camera = await api(`cameras/${encodeURIComponent(cameraId)}`);
      if (closed) return;
      title.textContent = `Zones and lines · ${camera.name}`;
      aim = aimOf(camera);
      picture();
      renderFilters();
      body.replaceChildren(
        h(
          "div",
          { class: "aim" },
          h(
            "section",
            { class: "card aim-main" },
            h(
              "div",
              { class: "toolbar aim-tools" },
              TOOLS.map(([kind, maskKind, text]) =>
                h("button", { type: "button", class: "btn btn-small", dataset: { tool: maskKind || kind }, onclick: () => add(kind, maskKind) }, text),
              ),
            ),
            stage,
            h("div", { class: "aim-draw-bar" }, hint, undoButton, doneButton),
          ),
          h("section", { class: "card aim-side" }, h("h2", {}, "Shapes"), shapesList),
          h("section", { class: "card aim-settings" }, filtersBox, alertsBox),
        ),
        h("div", { class: "actions aim-actions" }, formError, revertButton, saveButton),
      );
      redraw();
    } catch (err) {
      if (err.status === 401 || closed) return;
      body.replaceChildren(
        err.status === 404
          ? h("div", { class: "card state state-empty" }, h("strong", {}, "No such camera"), h("p", {}, h("a", { href: "#/cameras" }, "Back to the cameras")))
          : errorState(err, start),
      );
    }
  }

  start();
  return () => {
    closed = true;
  };
}
