"""The dominant colours of a detected object, as names from a small fixed palette, from its best crop.

Each pixel of a small copy of the crop (at most MAX_SIDE a side: a sample of its pixels is enough to measure
shares) is named by fixed HSV thresholds, and the names with the largest shares win. The box's border is
left out: a detector's box is loose, and its edges are mostly background. A person has a colour for the torso
band and one for the legs band besides the overall ones. No model: a quarter of a millisecond per crop on one core,
so the detector names every event's object once, on its best frame.
"""

import cv2
import numpy as np

from .vision import FEATURE_CLASSES

PALETTE = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "brown", "pink")
MAX_SIDE = 64
MIN_SIDE = 8  # px of the original crop: smaller boxes hold too few pixels of the object to name a colour
SECOND_SHARE = 0.25  # a second colour is named only when it covers at least this share of the object
# Share of the box's width left out on each side, and of its height at the top and bottom: a person fills
# less of the width of their box than a vehicle does.
VEHICLE_MARGIN = (0.1, 0.1)
PERSON_MARGIN = (0.25, 0.0)
# Bands of a person's box height: below the head to the waist, then the legs above the feet.
TORSO = (0.15, 0.5)
LEGS = (0.55, 0.9)
VEHICLE_LABELS = frozenset(FEATURE_CLASSES["vehicle"])
# Windows, tyres and the shadow underneath are dark on a vehicle of any colour: its black pixels count half.
VEHICLE_BLACK_WEIGHT = 0.5

# OpenCV's 8-bit HSV: hue 0-179 (degrees / 2), saturation and value 0-255.
BLACK_MAX_V = 60
GREY_MAX_S = 50  # below this saturation a pixel is black, grey or white whatever its hue
WHITE_MIN_V = 170
BROWN_MAX_V = 150  # red and orange hues darker than this are brown
ORANGE_MIN_S = 100  # and so are orange hues less saturated than this: tan, beige, khaki
PINK_MAX_S = 130  # light red of at most this saturation is pink
PINK_MIN_V = 150  # and magenta darker than this is purple
# Upper hue bound of each chromatic name, in hue order; red wraps round past magenta back to 0.
HUES = (("red", 8), ("orange", 20), ("yellow", 34), ("green", 85), ("blue", 128), ("purple", 148), ("pink", 168))

_INDEX = {name: index for index, name in enumerate(PALETTE)}
_HUE_NAMES = np.array([_INDEX[name] for name, _ in HUES] + [_INDEX["red"]], dtype=np.uint8)
_HUE_BOUNDS = np.array([bound for _, bound in HUES])
_EVEN = np.ones(len(PALETTE))
_VEHICLE_WEIGHTS = np.where(np.array(PALETTE) == "black", VEHICLE_BLACK_WEIGHT, 1.0)


def attributes(crop: np.ndarray, label: str) -> dict[str, str | list[str]]:
    """`{"color": [1-2 names]}` of a vehicle's BGR crop; a person's adds `upper_color` and `lower_color`.

    `{}` for a crop smaller than MIN_SIDE a side, or a label that is neither a person nor a vehicle.
    """
    if crop.ndim != 3 or min(crop.shape[:2]) < MIN_SIDE:
        return {}
    if label in VEHICLE_LABELS:
        return {"color": _dominant(_names(_inner(crop, VEHICLE_MARGIN)), _VEHICLE_WEIGHTS)}
    if label != "person":
        return {}
    names = _names(_inner(crop, PERSON_MARGIN))
    rows = len(names)
    upper = names[int(rows * TORSO[0]) : int(rows * TORSO[1])]
    lower = names[int(rows * LEGS[0]) : int(rows * LEGS[1])]
    return {
        "color": _dominant(np.concatenate([upper, lower])),
        "upper_color": _dominant(upper)[0],
        "lower_color": _dominant(lower)[0],
    }


def _inner(crop: np.ndarray, margin: tuple[float, float]) -> np.ndarray:
    """The crop less its border, downscaled to at most MAX_SIDE a side."""
    height, width = crop.shape[:2]
    dx, dy = int(width * margin[0]), int(height * margin[1])
    inner = crop[dy : height - dy, dx : width - dx]
    scale = MAX_SIDE / max(inner.shape[:2])
    if scale >= 1:
        return inner
    size = (max(1, round(inner.shape[1] * scale)), max(1, round(inner.shape[0] * scale)))
    # Sampling, not INTER_AREA's averaging: 100 times faster, and it blends no colours at the object's edges.
    return cv2.resize(inner, size, interpolation=cv2.INTER_LINEAR)


def _names(image: np.ndarray) -> np.ndarray:
    """The PALETTE index of each pixel of a BGR image, in the image's shape."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    names = _HUE_NAMES[np.searchsorted(_HUE_BOUNDS, hue, side="right")]
    warm = (names == _INDEX["red"]) | (names == _INDEX["orange"])
    dull = (names == _INDEX["orange"]) & (saturation < ORANGE_MIN_S)
    names[(warm & (value < BROWN_MAX_V)) | dull] = _INDEX["brown"]
    names[(names == _INDEX["red"]) & (saturation <= PINK_MAX_S) & (value >= PINK_MIN_V)] = _INDEX["pink"]
    names[(names == _INDEX["pink"]) & (value < PINK_MIN_V)] = _INDEX["purple"]
    grey = saturation < GREY_MAX_S
    names[grey] = np.where(value[grey] >= WHITE_MIN_V, _INDEX["white"], _INDEX["grey"])
    names[value < BLACK_MAX_V] = _INDEX["black"]
    return names


def _dominant(names: np.ndarray, weights: np.ndarray = _EVEN) -> list[str]:
    """The most common name, and the second when its share reaches SECOND_SHARE (pixels counted by `weights`)."""
    counts = np.bincount(names.ravel(), minlength=len(PALETTE)) * weights
    shares = counts / counts.sum()
    first, second = np.argsort(shares)[::-1][:2]
    return [PALETTE[first]] + ([PALETTE[second]] if shares[second] >= SECOND_SHARE else [])
