"""A camera's aim: where and what its detector looks for (zones, masks, per-label filters, lines, alert labels).

validate_aim checks the five fields as a client sends them (the camera API and the admin both call it) and returns
them as given; the detector reads them from the camera row. Points are (x, y) fractions of the frame, 0 at the
top left. Geometry is checked with shapely.
"""

from collections.abc import Callable, Iterable
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPoint, Polygon

from tenants.catalogue import FEATURES

AIM_FIELDS = ("zones", "masks", "filters", "lines", "alert_labels")
# What a detector labels an object with; "motion" is a feature, not an object's label.
LABELS = tuple(f for f in FEATURES if f != "motion")
DEFAULT_ALERT_LABELS = ["person", "vehicle"]
MASK_KINDS = ("object", "motion")
DIRECTIONS = ("a_to_b", "b_to_a", "both")
FILTER_KEYS = ("min_score", "min_area", "max_area")
MAX_SHAPES = 32  # zones, masks and lines each
MAX_POINTS = 100
MAX_NAME_LENGTH = 64


class InvalidAim(ValueError):
    """An aim field is wrong; `field` is its path (e.g. "zones[0].points") and the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def validate_aim(data: dict[str, Any]) -> dict[str, Any]:
    """The aim fields of `data` (any subset of AIM_FIELDS; other keys are ignored), checked and returned as given.

    Raises InvalidAim naming the first wrong field.
    """
    checks: dict[str, Callable[[Any], None]] = {
        "zones": _check_zones,
        "masks": _check_masks,
        "filters": _check_filters,
        "lines": _check_lines,
        "alert_labels": lambda value: _check_labels("alert_labels", value),
    }
    aim = {field: data[field] for field in AIM_FIELDS if field in data}
    for field, value in aim.items():
        checks[field](value)
    return aim


def _check_zones(zones: Any) -> None:
    for path, zone in _shapes("zones", zones, {"name", "points", "labels", "required", "alert"}):
        _check_polygon(f"{path}.points", zone.get("points"))
        if "labels" in zone:
            _check_labels(f"{path}.labels", zone["labels"])
        for flag in ("required", "alert"):
            if flag in zone and not isinstance(zone[flag], bool):
                raise InvalidAim(f"{path}.{flag}", "must be true or false")


def _check_masks(masks: Any) -> None:
    for path, mask in _shapes("masks", masks, {"name", "points", "kind", "labels"}):
        _check_polygon(f"{path}.points", mask.get("points"))
        if mask.get("kind") not in MASK_KINDS:
            raise InvalidAim(f"{path}.kind", f"must be one of: {', '.join(MASK_KINDS)}")
        if "labels" in mask:
            if mask["kind"] != "object":
                raise InvalidAim(f"{path}.labels", "only object masks have labels")
            _check_labels(f"{path}.labels", mask["labels"])


def _check_lines(lines: Any) -> None:
    for path, line in _shapes("lines", lines, {"name", "a", "b", "direction", "labels"}):
        for end in ("a", "b"):
            _check_point(f"{path}.{end}", line.get(end))
        if LineString([line["a"], line["b"]]).length == 0:
            raise InvalidAim(f"{path}.b", "must differ from a")
        if line.get("direction") not in DIRECTIONS:
            raise InvalidAim(f"{path}.direction", f"must be one of: {', '.join(DIRECTIONS)}")
        if "labels" in line:
            _check_labels(f"{path}.labels", line["labels"])


def _check_filters(filters: Any) -> None:
    if not isinstance(filters, dict):
        raise InvalidAim("filters", "must be an object of label: {min_score, min_area, max_area}")
    for label, limits in filters.items():
        path = f"filters.{label}"
        if label not in LABELS:
            raise InvalidAim(path, f"unknown label (known: {', '.join(LABELS)})")
        if not isinstance(limits, dict):
            raise InvalidAim(path, "must be an object with min_score, min_area or max_area")
        _check_keys(path, limits, set(FILTER_KEYS))
        for key, value in limits.items():
            if not _fraction(value):
                raise InvalidAim(f"{path}.{key}", "must be a number from 0 to 1")
        if limits.get("min_area", 0) > limits.get("max_area", 1):
            raise InvalidAim(f"{path}.max_area", "must not be less than min_area")


def _shapes(field: str, shapes: Any, keys: set[str]):
    """Yield (path, shape) for each named shape of a list, after checking the list, its keys and unique names."""
    if not isinstance(shapes, list):
        raise InvalidAim(field, "must be a list")
    if len(shapes) > MAX_SHAPES:
        raise InvalidAim(field, f"at most {MAX_SHAPES}")
    names = set()
    for index, shape in enumerate(shapes):
        path = f"{field}[{index}]"
        if not isinstance(shape, dict):
            raise InvalidAim(path, "must be an object")
        _check_keys(path, shape, keys)
        name = shape.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH or "\x00" in name:
            raise InvalidAim(f"{path}.name", f"must be text of 1-{MAX_NAME_LENGTH} characters")
        if name in names:
            raise InvalidAim(f"{path}.name", f"'{name}' is used twice")
        names.add(name)
        yield path, shape


def _check_keys(path: str, item: dict, known: set[str]) -> None:
    if unknown := sorted(set(item) - known):
        raise InvalidAim(f"{path}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})")


def _check_labels(path: str, labels: Any) -> None:
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise InvalidAim(path, "must be a list of labels")
    if unknown := [label for label in labels if label not in LABELS]:
        raise InvalidAim(path, f"unknown label '{unknown[0]}' (known: {', '.join(LABELS)})")
    if len(set(labels)) != len(labels):
        raise InvalidAim(path, "names a label twice")


def _check_point(path: str, point: Any) -> None:
    if not (isinstance(point, list) and len(point) == 2 and all(_fraction(v) for v in point)):
        raise InvalidAim(path, "must be [x, y] with x and y from 0 to 1")


def _check_polygon(path: str, points: Any) -> None:
    if not isinstance(points, list) or not 3 <= len(points) <= MAX_POINTS:
        raise InvalidAim(path, f"must be a list of 3 to {MAX_POINTS} points")
    for index, point in enumerate(points):
        _check_point(f"{path}[{index}]", point)
    if MultiPoint(points).convex_hull.area == 0:
        raise InvalidAim(path, "encloses no area (the points are on one line)")
    polygon = Polygon(points)
    if not polygon.is_valid:
        raise InvalidAim(path, f"self-intersecting ({shapely.is_valid_reason(polygon)})")


def _fraction(value: Any) -> bool:
    # Compared, not converted: float() of a 400-digit integer overflows, and NaN compares false.
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def save_camera(camera: Any, changed: Iterable[str]) -> None:
    """Save a changed camera. A change of aim fields only is written alone and keeps `updated_at`, so the
    supervisor does not restart the pipeline (the running detector polls the aim); nothing changed writes nothing."""
    changed = set(changed)
    if not changed <= set(AIM_FIELDS):
        camera.save()
    elif changed:
        updated_at = camera.updated_at
        camera.save(update_fields=sorted(changed))
        camera.updated_at = updated_at  # auto_now set it on the instance, not in the row


def is_alert(label: str, entered: Iterable[str], zones: list[dict], alert_labels: list[str]) -> bool:
    """Whether an event of `label` whose object entered the zones named `entered` is an alert: its label is one of
    the camera's alert labels and, when some zone is marked alert, it entered one of those."""
    alert_zones = {zone["name"] for zone in zones if zone.get("alert")}
    return label in alert_labels and (not alert_zones or not alert_zones.isdisjoint(entered))
