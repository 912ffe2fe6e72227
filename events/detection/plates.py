"""Licence plates read from vehicle crops with RapidOCR (ONNX Runtime, models shipped in the wheel: offline).

A plate is the best-scored OCR line that looks like one: 4-10 letters/digits once spaces, dots and dashes
are dropped, at least two of them digits. OCR costs ~0.1-0.3 s per crop on this CPU, so the detector reads
each vehicle once, on its best frame.
"""

import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

MIN_SCORE = 0.6
_SEPARATORS = re.compile(r"[\s.\-·_]+")
_PLATE = re.compile(r"^[A-Z0-9]{4,10}$")
_lock = threading.Lock()  # one OCR engine per process; onnxruntime sessions are shared between cameras


@dataclass(frozen=True)
class Plate:
    text: str  # as printed, e.g. "51F-123.45"
    normalized: str  # letters and digits only, e.g. "51F12345"
    confidence: float
    box: list[int]  # x1, y1, x2, y2 in the coordinates of the image given to read_plate


@cache
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def normalize(text: str) -> str | None:
    """Letters and digits of `text` if it looks like a plate, else None."""
    compact = _SEPARATORS.sub("", text.upper())
    if _PLATE.match(compact) and sum(c.isdigit() for c in compact) >= 2:
        return compact
    return None


def read_plate(image: np.ndarray) -> Plate | None:
    """The most confident plate-like text in `image` (BGR), or None."""
    with _lock:
        lines, _ = _engine()(image)
    best = None
    for points, text, score in lines or []:
        compact = normalize(text)
        if compact is None or float(score) < MIN_SCORE or (best and best.confidence >= float(score)):
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = [round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))]
        best = Plate(text=text.strip(), normalized=compact, confidence=float(score), box=box)
    return best
