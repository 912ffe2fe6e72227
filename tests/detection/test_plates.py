"""Plate reading with the offline OCR, on rendered plate text (the demo clip shows no readable plate)."""

import cv2
import numpy as np
import pytest

from events.detection.plates import normalize, read_plate


def vehicle_crop(text: str | None) -> np.ndarray:
    """A grey 'vehicle' with a white plate carrying `text` (None: a blank plate)."""
    image = np.full((240, 420, 3), 90, np.uint8)
    cv2.rectangle(image, (100, 150), (330, 205), (255, 255, 255), -1)
    if text:
        cv2.putText(image, text, (110, 192), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (0, 0, 0), 3)
    return image


def test_reads_rendered_plate():
    plate = read_plate(vehicle_crop("51F-123.45"))
    assert plate is not None
    assert plate.normalized == "51F12345"
    assert plate.confidence >= 0.6
    x1, y1, x2, y2 = plate.box
    assert 95 <= x1 < x2 <= 340 and 140 <= y1 < y2 <= 210


def test_blank_plate_reads_nothing():
    assert read_plate(vehicle_crop(None)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("51F-123.45", "51F12345"), ("ab 1234", "AB1234"), ("MERCEDES", None), ("7", None), ("12345678901", None)],
)
def test_normalize_accepts_only_plate_like_text(text, expected):
    assert normalize(text) == expected
