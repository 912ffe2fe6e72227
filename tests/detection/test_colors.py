"""Colour attributes of synthetic crops of known colours, and their place in the detector's events (no model)."""

import time
from types import SimpleNamespace

import numpy as np
import pytest

from cameras.models import Camera
from events.detection.colors import PALETTE, attributes
from events.detection.detector import CameraDetector
from events.detection.vision import Frame
from tenants.models import Tenant

BGR = {
    "black": (20, 20, 20),
    "white": (240, 240, 240),
    "grey": (128, 128, 128),
    "red": (30, 30, 200),
    "orange": (0, 130, 250),
    "yellow": (0, 220, 230),
    "green": (40, 160, 30),
    "blue": (200, 90, 10),
    "purple": (150, 40, 120),
    "brown": (40, 70, 120),
    "pink": (200, 170, 255),
}
W, H = 640, 480
PERSON_BOX = [300, 60, 400, 360]  # standing at y 0.75, on the line's height
DOWN_THE_MIDDLE = {"name": "door", "a": [0.5, 0.2], "b": [0.5, 0.8], "direction": "a_to_b"}


def noisy(image: np.ndarray, sigma: float = 12) -> np.ndarray:
    """`image` with the sensor and compression noise of a real crop."""
    noise = np.random.default_rng(0).normal(0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def car(body: str, background: str = "grey") -> np.ndarray:
    """A car-like block in its box: a body, dark windows on top and two black tyres under it, background around."""
    image = np.full((100, 200, 3), BGR[background], np.uint8)
    image[8:85, 6:194] = BGR[body]
    image[12:35, 50:150] = BGR["black"]
    for x in (40, 140):
        image[78:98, x : x + 25] = BGR["black"]
    return noisy(image)


def person(top: str, trousers: str, background: str = "grey") -> np.ndarray:
    """A person-like figure filling the middle of its box: head, torso in `top`, two legs in `trousers`."""
    image = np.full((300, 100, 3), BGR[background], np.uint8)
    image[5:45, 35:65] = (140, 170, 220)  # skin
    image[45:160, 20:80] = BGR[top]
    image[160:290, 25:48] = image[160:290, 52:75] = BGR[trousers]
    return noisy(image)


def test_palette_is_fixed_and_ordered():
    assert PALETTE == ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "brown", "pink")


@pytest.mark.parametrize("name", PALETTE)
def test_an_even_crop_is_named_by_its_palette_colour(name):
    crop = noisy(np.full((60, 90, 3), BGR[name], np.uint8), sigma=6)
    assert attributes(crop, "car") == {"color": [name]}


def test_a_red_car_on_grey_is_red_despite_windows_tyres_and_background():
    assert attributes(car("red"), "car") == {"color": ["red"]}
    assert attributes(car("black", background="white"), "car") == {"color": ["black"]}  # half-weighted, still black


def test_a_vehicle_of_two_colours_names_both_most_dominant_first():
    bus = np.full((200, 300, 3), BGR["white"], np.uint8)
    bus[80:, :] = BGR["blue"]
    assert attributes(noisy(bus), "bus") == {"color": ["blue", "white"]}
    bus[:150, :] = BGR["white"]  # the blue is now a stripe too thin to be named
    assert attributes(noisy(bus), "bus") == {"color": ["white"]}


def test_a_person_has_upper_and_lower_colours():
    found = attributes(person("red", "black"), "person")
    assert found["upper_color"] == "red" and found["lower_color"] == "black"
    assert sorted(found["color"]) == ["black", "red"]
    found = attributes(person("white", "blue", background="green"), "person")
    assert (found["upper_color"], found["lower_color"]) == ("white", "blue")


@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 50, 3), (5, 200, 3), (200, 7, 3), (40, 40)])
def test_an_empty_tiny_or_colourless_crop_has_no_attributes(shape):
    assert attributes(np.zeros(shape, np.uint8), "person") == {}
    assert attributes(np.zeros(shape, np.uint8), "car") == {}


def test_a_label_that_is_no_person_or_vehicle_has_no_attributes():
    assert attributes(car("red"), "dog") == {}


def test_the_track_event_and_its_crossings_carry_its_colours(settings, tmp_path):
    settings.VMS_RECORDINGS_ROOT = tmp_path
    camera = Camera(tenant=Tenant(id="t"), slug="cam", features=["person"], lines=[DOWN_THE_MIDDLE])
    events: list[dict] = []
    detector = CameraDetector(camera, SimpleNamespace(version="fake"), emit=lambda **kw: events.append(kw))
    x1, y1, x2, y2 = PERSON_BOX
    for index, shift in enumerate((-60, 0, 60)):  # walking left to right across the line
        image = np.full((H, W, 3), BGR["grey"], np.uint8)
        image[y1:y2, x1 + shift : x2 + shift] = person("red", "black")
        box = [x1 + shift, y1, x2 + shift, y2]
        frame = Frame(image=image, ts=time.time(), mono=float(index))
        detector._observe(frame, {"track_id": 1, "label": "person", "confidence": 0.9, "box": box})
    track_event, crossing = events
    assert track_event["type"] == "person" and crossing["type"] == "line_crossing"
    assert track_event["payload"]["attributes"]["upper_color"] == "red"
    assert track_event["payload"]["attributes"]["lower_color"] == "black"
    assert crossing["payload"]["attributes"] == track_event["payload"]["attributes"]
