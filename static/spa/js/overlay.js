// A camera's aim drawn over its picture: zones, masks and lines in 0-1 frame coordinates (the camera API's shape).
// The layer is an SVG with viewBox 0 0 1 1 stretched over the shown frame (strokes keep their width through CSS
// vector-effect); names are HTML labels placed in percent, so text is not stretched with the frame.
import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element: svg("polygon", {points: "0,0 1,0 1,1", class: "zone"}). */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) el.setAttribute(key, value);
  }
  return el;
}

export const percent = (value) => `${(value * 100).toFixed(4)}%`;
const pointList = (points) => points.map(([x, y]) => `${x},${y}`).join(" ");

/**
 * The SVG shapes of one aim item: `kind` is "zones", "masks" or "lines". A polygon of fewer than 3 points (one
 * being drawn) is an open polyline. `key` ("zones:0") identifies it for an editor.
 */
export function shapeElements(kind, item, key) {
  const dataset = { "data-shape": key };
  if (kind === "lines") {
    const ends = [item.a, item.b].filter(Boolean);
    if (ends.length < 2) return [];
    const [[x1, y1], [x2, y2]] = ends;
    return [svg("line", { ...dataset, class: `aim-line dir-${item.direction || "both"}`, x1, y1, x2, y2 })];
  }
  const points = item.points || [];
  const className = kind === "zones" ? `aim-zone${item.alert ? " aim-zone-alert" : ""}` : `aim-mask aim-mask-${item.kind}`;
  const tag = points.length >= 3 ? "polygon" : "polyline";
  return [svg(tag, { ...dataset, class: className, points: pointList(points) })];
}

/** Classes that move a label at (x, y) inside the picture when it is near an edge, where the overlay clips it. */
function edgeClasses([x, y]) {
  return [y < 0.08 && "at-top", y > 0.92 && "at-bottom", x < 0.1 && "at-left", x > 0.9 && "at-right"].filter(Boolean);
}

/** Where an item's name is shown: the top-most point of a polygon, the middle of a line. */
export function labelAnchor(kind, item) {
  if (kind === "lines") return item.a && item.b ? [(item.a[0] + item.b[0]) / 2, (item.a[1] + item.b[1]) / 2] : null;
  const points = item.points || [];
  if (!points.length) return null;
  return points.reduce((top, p) => (p[1] < top[1] ? p : top));
}

/** A line's direction in words: "A → B", "B → A" or "A ↔ B" (its ends are labelled A and B). */
export function directionText(direction) {
  return { a_to_b: "A → B", b_to_a: "B → A" }[direction] || "A ↔ B";
}

/**
 * Draws the camera's zones, masks and lines into `layer` (made by aimLayer), replacing what was there;
 * `selected` ("zones:0") is drawn highlighted.
 */
export function drawAim(layer, camera, { selected = null } = {}) {
  const canvas = layer.querySelector("svg");
  const labels = layer.querySelector(".aim-labels");
  canvas.replaceChildren();
  labels.replaceChildren();
  for (const kind of ["masks", "zones", "lines"]) {
    (camera[kind] || []).forEach((item, index) => {
      const key = `${kind}:${index}`;
      for (const el of shapeElements(kind, item, key)) {
        if (key === selected) el.classList.add("aim-selected");
        canvas.append(el);
      }
      if (kind === "lines") {
        // The ends are named, so that "A → B" says which way is counted.
        for (const [end, point] of [["A", item.a], ["B", item.b]]) {
          if (!point) continue;
          const style = { left: percent(point[0]), top: percent(point[1]) };
          labels.append(h("span", { class: ["aim-end", ...edgeClasses(point)].join(" "), style }, end));
        }
      }
      const anchor = labelAnchor(kind, item);
      if (!anchor || !item.name) return;
      const text = kind === "lines" ? `${item.name} ${directionText(item.direction)}` : item.name;
      labels.append(
        h(
          "span",
          {
            class: ["aim-label", `aim-label-${kind}`, ...edgeClasses(anchor)].join(" "),
            dataset: { label: key },
            style: { left: percent(anchor[0]), top: percent(anchor[1]) },
          },
          text,
        ),
      );
    });
  }
}

/** An empty overlay layer (absolutely placed over its parent; see fitOverlay for letterboxed media). */
export function aimLayer() {
  const canvas = svg("svg", { class: "aim-svg", viewBox: "0 0 1 1", preserveAspectRatio: "none", "aria-hidden": "true" });
  return h("div", { class: "aim-layer" }, canvas, h("div", { class: "aim-labels" }));
}

/**
 * Keeps `layer` over the frame `media` (an <img> or <video>) actually shows: with object-fit: contain the picture
 * may be letterboxed inside the element's box. Returns stop().
 */
export function fitOverlay(layer, media) {
  const place = () => {
    const boxWidth = media.clientWidth;
    const boxHeight = media.clientHeight;
    const width = media.videoWidth || media.naturalWidth || 0;
    const height = media.videoHeight || media.naturalHeight || 0;
    const scale = width && height ? Math.min(boxWidth / width, boxHeight / height) : 0;
    const shownWidth = scale ? width * scale : boxWidth;
    const shownHeight = scale ? height * scale : boxHeight;
    Object.assign(layer.style, {
      left: `${media.offsetLeft + (boxWidth - shownWidth) / 2}px`,
      top: `${media.offsetTop + (boxHeight - shownHeight) / 2}px`,
      width: `${shownWidth}px`,
      height: `${shownHeight}px`,
    });
  };
  const observer = new ResizeObserver(place);
  observer.observe(media);
  const events = ["loadedmetadata", "resize", "load"];
  for (const name of events) media.addEventListener(name, place);
  place();
  return () => {
    observer.disconnect();
    for (const name of events) media.removeEventListener(name, place);
  };
}

/** Whether the camera has anything to draw. */
export function hasAim(camera) {
  return Boolean(camera && ["zones", "masks", "lines"].some((kind) => (camera[kind] || []).length));
}
