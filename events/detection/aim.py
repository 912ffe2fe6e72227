"""A camera's aim compiled for its detector: masks, per-label filters, zones and lines (cameras/aim.py checks them).

Labels are the camera's features: "person", "vehicle" (car, truck, bus, motorcycle, bicycle) and "license_plate",
which follows its vehicle (a plate event has its vehicle's place, zones and track). An object is placed by its
box's bottom centre (where it stands), in 0-1 frame coordinates, 0 at the top left.

- Object masks: a detection whose bottom centre is in a mask for its label is ignored (no event, no crossing).
- Filters: a detection counts only with min_score <= confidence (default 0.5) and min_area <= box area / frame
  area <= max_area.
- Zones: a track is in a zone once its bottom centre has been in it ZONE_INERTIA frames in a row, and out once it
  has been out as many (a box jittering on an edge does not flicker in and out). A track's event names the zones it
  entered. With required zones for its label, a track makes no event until it is in one of them, and its event's
  box and snapshot come from a detection inside.
- Lines: a track whose bottom centre moves across a line from one of its detections to the next crosses it.
  `a_to_b` is a crossing in the direction of the arrow a->b turned a quarter turn anticlockwise as seen on the
  picture, `b_to_a` the other way: a line drawn top to bottom (a above b) counts a walker going left to right
  as a_to_b; a line drawn left to right counts one going up the picture as a_to_b. One crossing counts per track
  and line, in the line's direction (`both`: either).

Geometry is shapely's, prepared once per configuration: a few microseconds per object and frame.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import LineString, Polygon

from cameras.aim import AIM_FIELDS, DEFAULT_ALERT_LABELS, is_alert

DEFAULT_MIN_SCORE = 0.5  # a track's event waits until one of its detections is at least this sure
ZONE_INERTIA = 2  # frames in a row in (or out of) a zone before a track counts as in (or out)


def bottom_centre(box: list[int], width: int, height: int) -> tuple[float, float]:
    x1, _, x2, y2 = box
    return (x1 + x2) / 2 / width, y2 / height


def box_area(box: list[int], width: int, height: int) -> float:
    x1, y1, x2, y2 = box
    return max(0, x2 - x1) * max(0, y2 - y1) / (width * height)


def _applies(labels: frozenset[str] | None, label: str) -> bool:
    return labels is None or label in labels


def _labels(item: dict[str, Any]) -> frozenset[str] | None:
    return frozenset(item["labels"]) if item.get("labels") else None


def _polygon(points: list[list[float]]) -> Polygon:
    polygon = Polygon(points)
    shapely.prepare(polygon)
    return polygon


@dataclass(frozen=True)
class Zone:
    name: str
    area: Polygon
    labels: frozenset[str] | None
    required: bool
    alert: bool
    source: dict[str, Any]


@dataclass(frozen=True)
class Line:
    name: str
    segment: LineString
    a: tuple[float, float]
    b: tuple[float, float]
    direction: str
    labels: frozenset[str] | None

    def side(self, point: tuple[float, float]) -> float:
        """The cross product (b - a) x (point - a) in picture coordinates (y down): > 0 on the side a_to_b leaves."""
        (ax, ay), (bx, by) = self.a, self.b
        return (bx - ax) * (point[1] - ay) - (by - ay) * (point[0] - ax)

    def crossing(self, before: tuple[float, float], after: tuple[float, float]) -> str | None:
        """ "a_to_b" or "b_to_a" when the move from `before` to `after` crosses the segment, else None.

        Reaching the line counts as crossing it; leaving it does not (that move was counted on the way there).
        """
        start, end = self.side(before), self.side(after)
        if start == 0 or (end != 0 and (start > 0) == (end > 0)):
            return None
        if not self.segment.intersects(LineString([before, after])):
            return None  # crossed the line's extension, beside the segment
        return "a_to_b" if start > 0 else "b_to_a"


class Aim:
    """One configuration of a camera's aim, compiled. `source` is the five fields as stored (to spot a change)."""

    def __init__(self, source: dict[str, Any]) -> None:
        self.source = {name: source.get(name) for name in AIM_FIELDS}
        zones = source.get("zones") or []
        masks = source.get("masks") or []
        self.zones = [
            Zone(z["name"], _polygon(z["points"]), _labels(z), bool(z.get("required")), bool(z.get("alert")), z)
            for z in zones
        ]
        self.object_masks = [(_polygon(m["points"]), _labels(m)) for m in masks if m.get("kind") == "object"]
        self.motion_masks = [m["points"] for m in masks if m.get("kind") == "motion"]
        self.filters: dict[str, dict[str, float]] = dict(source.get("filters") or {})
        self.lines = [
            Line(ln["name"], LineString([ln["a"], ln["b"]]), tuple(ln["a"]), tuple(ln["b"]), ln["direction"],
                 _labels(ln))
            for ln in source.get("lines") or []
        ]  # fmt: skip
        for line in self.lines:
            shapely.prepare(line.segment)
        alert_labels = source.get("alert_labels")
        self.alert_labels = list(DEFAULT_ALERT_LABELS if alert_labels is None else alert_labels)

    @classmethod
    def of(cls, camera: Any) -> "Aim":
        """The camera's aim; fields the camera lacks count as their defaults."""
        return cls({name: getattr(camera, name, None) for name in AIM_FIELDS})

    def masked(self, label: str, point: tuple[float, float]) -> bool:
        return any(_applies(labels, label) and shapely.contains_xy(area, *point) for area, labels in self.object_masks)

    def passes(self, label: str, score: float, area: float) -> bool:
        limits = self.filters.get(label, {})
        return score >= limits.get("min_score", DEFAULT_MIN_SCORE) and limits.get(
            "min_area", 0.0
        ) <= area <= limits.get("max_area", 1.0)

    def zones_at(self, label: str, point: tuple[float, float]) -> set[str]:
        return {z.name for z in self.zones if _applies(z.labels, label) and shapely.contains_xy(z.area, *point)}

    def required(self, label: str) -> set[str]:
        """The required zones of `label` (empty: it needs none)."""
        return {z.name for z in self.zones if z.required and _applies(z.labels, label)}

    def zone_names(self, label: str, entered: Iterable[str]) -> list[str]:
        """`entered` in the camera's order of zones, for an event's payload."""
        entered = set(entered)
        return [z.name for z in self.zones if z.name in entered and _applies(z.labels, label)]

    def severity(self, label: str, entered: Iterable[str]) -> str:
        zones = [z.source for z in self.zones if _applies(z.labels, label)]
        return "alert" if is_alert(label, entered, zones, self.alert_labels) else "detection"

    def lines_for(self, label: str) -> list[Line]:
        return [line for line in self.lines if _applies(line.labels, label)]


@dataclass
class ZoneMembership:
    """Which zones one track is in, with ZONE_INERTIA frames of inertia, and every zone it has been in."""

    inside: set[str] = field(default_factory=set)
    entered: set[str] = field(default_factory=set)
    streaks: dict[str, int] = field(default_factory=dict)  # zone -> frames in a row against its current state

    def update(self, here: set[str]) -> None:
        for name in here ^ self.inside:  # where the box disagrees with the state
            self.streaks[name] = self.streaks.get(name, 0) + 1
            if self.streaks[name] >= ZONE_INERTIA:
                self.inside ^= {name}
                del self.streaks[name]
        for name in list(self.streaks):
            if name not in here ^ self.inside:
                del self.streaks[name]  # the streak broke
        self.entered |= self.inside


@dataclass
class LineState:
    """A track's last placed point and the lines it has crossed (one crossing per line)."""

    last: tuple[float, float] | None = None
    crossed: set[str] = field(default_factory=set)

    def move(self, lines: list[Line], point: tuple[float, float]) -> list[tuple[Line, str]]:
        """The new crossings (line, direction) of the move to `point`, in the lines' directions."""
        crossings = []
        if self.last is not None:
            for line in lines:
                if line.name in self.crossed:
                    continue
                direction = line.crossing(self.last, point)
                if direction and line.direction in (direction, "both"):
                    self.crossed.add(line.name)
                    crossings.append((line, direction))
        self.last = point
        return crossings
