// Reports: the tenant's activity (events per hour or day, per type or camera) and a camera's line counts (in/out per
// line and day) over a range of days, drawn with Chart.js (window.Chart, from npm like hls.js), each with a CSV of
// exactly what is drawn: the activity CSV is the API's own, the counts CSV is written here from the JSON drawn.
import { api, apiBlob } from "../api.js";
import { cameraSelect, emptyState, errorState, h, loading, saveBlob, toast, typeSelect, utcDate } from "../ui.js";

const DAY_MS = 86400000;
const STEP_MS = { hour: 3600000, day: DAY_MS };
const DEFAULT_DAYS = 7;
// Drawn at once: a report is redrawn on every filter change, and a chart that animates hides its numbers meanwhile.
const CHART_OPTIONS = {
  animation: false,
  maintainAspectRatio: false,
  interaction: { mode: "index", intersect: false },
  scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
};
// The activity's series are stacked: a bar's height is the bucket's events.
const STACKED = { scales: { x: { stacked: true }, y: { ...CHART_OPTIONS.scales.y, stacked: true } } };

/** One CSV line; the cells are dates, line and label names or numbers, quoted where they hold a quote or a comma. */
function csvLine(cells) {
  return cells.map((c) => (/[",\n\r]/.test(String(c)) ? `"${String(c).replace(/"/g, '""')}"` : String(c))).join(",");
}

/** The form's filters: from/to are whole UTC days, `to` included (the activity API's `to` is the next midnight). */
function readFilters(form) {
  const data = new FormData(form);
  return {
    from: data.get("from"),
    to: data.get("to"),
    bucket: data.get("bucket"),
    camera_id: data.get("camera") || "",
    type: data.get("type") || "",
    by: data.get("by"),
  };
}

function activityQuery(filters) {
  const end = new Date(Date.parse(`${filters.to}T00:00:00Z`) + DAY_MS);
  return {
    from: `${filters.from}T00:00:00Z`,
    to: end.toISOString(),
    bucket: filters.bucket,
    camera_id: filters.camera_id,
    type: filters.type,
  };
}

/** Every bucket start of the query's range, in ms: buckets without events are drawn as zeros. */
function bucketStarts(query) {
  const starts = [];
  for (let t = Date.parse(query.from); t < Date.parse(query.to); t += STEP_MS[query.bucket]) starts.push(t);
  return starts;
}

function bucketLabel(ms, bucket) {
  const iso = new Date(ms).toISOString();
  return bucket === "day" ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** Every day from `from` to `to` (YYYY-MM-DD, both included). */
function daysOf(from, to) {
  const days = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS) {
    days.push(utcDate(new Date(t)));
  }
  return days;
}

function dayInput(name, value) {
  return h("input", { type: "date", name, value, required: true });
}

function chartBox(name, label) {
  return h("div", { class: "chart-box" }, h("canvas", { dataset: { chart: name }, role: "img", "aria-label": label }));
}

export function renderReports(root, route) {
  const charts = new Map();
  let filters = {};
  let activityRows = [];
  let counts = null;
  let countsCamera = null;
  const today = utcDate();
  const from = route.params.get("from") || utcDate(new Date(Date.now() - (DEFAULT_DAYS - 1) * DAY_MS));
  const to = route.params.get("to") || today;

  const form = h(
    "form",
    { class: "toolbar filters" },
    h("label", { class: "inline" }, "From (UTC)", dayInput("from", from)),
    h("label", { class: "inline" }, "To (UTC)", dayInput("to", to)),
    h(
      "select",
      { name: "bucket", "aria-label": "Bucket" },
      h("option", { value: "day" }, "Per day"),
      h("option", { value: "hour" }, "Per hour"),
    ),
  );
  const activityCsv = h("button", { type: "button", class: "btn", disabled: true }, "Download CSV");
  const countsCsv = h("button", { type: "button", class: "btn", disabled: true }, "Download CSV");
  const activityBody = h("div", {}, loading());
  const countsBody = h("div", {}, loading());
  const countsHead = h("div", { class: "report-head" }, h("h2", {}, "Line counts"), countsCsv);
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Reports")),
    form,
    h(
      "section",
      { class: "card report", dataset: { report: "activity" } },
      h("div", { class: "report-head" }, h("h2", {}, "Activity"), activityCsv),
      activityBody,
    ),
    h("section", { class: "card report", dataset: { report: "counts" } }, countsHead, countsBody),
  );

  function draw(name, body, config) {
    charts.get(name)?.destroy();
    const box = chartBox(name, name === "activity" ? "Events per bucket" : "Line crossings per day");
    body.replaceChildren(box);
    charts.set(name, new window.Chart(box.firstChild, { ...config, options: { ...CHART_OPTIONS, ...config.options } }));
  }

  function clear(name, body, ...children) {
    charts.get(name)?.destroy();
    charts.delete(name);
    body.replaceChildren(...children);
  }

  async function loadActivity() {
    const query = activityQuery(filters);
    const asked = filters;
    activityCsv.disabled = true;
    try {
      const rows = await api("reports/activity", { params: query });
      if (asked !== filters) return; // the filters changed while this report was on its way
      activityRows = rows;
      if (!rows.length) {
        clear("activity", activityBody, emptyState("No events", "Nothing happened in this range with these filters."));
        return;
      }
      const starts = bucketStarts(query);
      const index = new Map(starts.map((t, i) => [t, i]));
      const series = new Map();
      for (const row of rows) {
        const name = row[filters.by];
        if (!series.has(name)) series.set(name, new Array(starts.length).fill(0));
        series.get(name)[index.get(Date.parse(row.bucket))] += row.count;
      }
      draw("activity", activityBody, {
        type: "bar",
        data: {
          labels: starts.map((t) => bucketLabel(t, query.bucket)),
          datasets: [...series].map(([label, data]) => ({ label: label.replace("_", " "), data })),
        },
        options: STACKED,
      });
      activityCsv.disabled = false;
    } catch (err) {
      if (err.status !== 401 && asked === filters) clear("activity", activityBody, errorState(err, loadActivity));
    }
  }

  async function loadCounts() {
    const camera = countsCamera?.value;
    const asked = filters;
    countsCsv.disabled = true;
    if (!camera) {
      clear("counts", countsBody, emptyState("No cameras", "Line counts need a camera with lines."));
      return;
    }
    try {
      const body = await api(`cameras/${encodeURIComponent(camera)}/counts`, {
        params: { from: filters.from, to: filters.to },
      });
      if (asked !== filters || camera !== countsCamera.value) return;
      counts = body;
      const lines = Object.entries(body.lines);
      if (!lines.some(([, days]) => days.length)) {
        const hint = lines.length ? "No line was crossed in this range." : "This camera has no lines (see Aim).";
        clear("counts", countsBody, emptyState("No line crossings", hint));
        return;
      }
      const days = daysOf(body.from, body.to);
      const datasets = [];
      for (const [line, perDay] of lines) {
        const byDay = new Map(perDay.map((d) => [d.date, d]));
        for (const side of ["in", "out"]) {
          datasets.push({ label: `${line} ${side}`, data: days.map((day) => byDay.get(day)?.[side] || 0) });
        }
      }
      draw("counts", countsBody, { type: "bar", data: { labels: days, datasets } });
      countsCsv.disabled = false;
    } catch (err) {
      if (err.status !== 401 && asked === filters) clear("counts", countsBody, errorState(err, loadCounts));
    }
  }

  function reload() {
    if (!form.reportValidity()) return;
    filters = readFilters(form);
    loadActivity();
    loadCounts();
  }

  activityCsv.addEventListener("click", async () => {
    activityCsv.disabled = true;
    try {
      saveBlob(await apiBlob("reports/activity", { ...activityQuery(filters), format: "csv" }), "activity.csv");
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    } finally {
      activityCsv.disabled = !activityRows.length;
    }
  });
  countsCsv.addEventListener("click", () => {
    const lines = [csvLine(["date", "line", "in", "out"])];
    for (const [line, days] of Object.entries(counts.lines)) {
      for (const day of days) lines.push(csvLine([day.date, line, day.in, day.out]));
    }
    saveBlob(new Blob([`${lines.join("\n")}\n`], { type: "text/csv" }), `counts-${counts.camera_id}.csv`);
  });
  form.addEventListener("change", reload);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    reload();
  });

  api("cameras")
    .then((cameras) => {
      // The first camera with lines, to start with.
      const withLines = cameras.find((c) => c.lines?.length)?.id;
      countsCamera = cameraSelect(cameras, { name: "counts_camera", selected: withLines });
      countsCamera.setAttribute("aria-label", "Counts camera");
      countsCamera.addEventListener("change", loadCounts);
      form.append(
        cameraSelect(cameras, { withAll: true }),
        typeSelect(),
        h(
          "select",
          { name: "by", "aria-label": "Series" },
          h("option", { value: "type" }, "A series per type"),
          h("option", { value: "camera_id" }, "A series per camera"),
        ),
      );
      countsHead.insertBefore(countsCamera, countsCsv);
      reload();
    })
    .catch((err) => {
      if (err.status !== 401) activityBody.replaceChildren(errorState(err, () => window.location.reload()));
    });

  return () => {
    for (const chart of charts.values()) chart.destroy();
  };
}
