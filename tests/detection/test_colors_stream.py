"""Colour attributes of the events the detector writes on the real RTSP demo stream, and their cost on its crops.

The clip's first scene: a blue and white city bus with people in dark coats and one in a beige coat in front of it.
"""

import time

import cv2
import numpy as np
import pytest

from events.detection.colors import PALETTE, attributes
from events.models import Event
from playback.paths import recordings_path

from .conftest import run_detectors

pytestmark = pytest.mark.django_db(transaction=True)

STREAM_SECONDS = 12  # the first scene (the bus), as tests/detection/test_detection_stream.py
MAX_MS_PER_EVENT = 2.0


def test_the_bus_and_the_people_of_the_demo_stream_carry_their_colours(tenant_a, stream_camera):
    camera = stream_camera(tenant_a, "cam-colors", ["person", "vehicle"])
    run_detectors([camera], STREAM_SECONDS)
    events = list(Event.objects.filter(camera_id=camera.slug))
    buses = [e for e in events if e.payload["label"] == "bus"]
    assert buses
    for bus in buses:
        print("bus:", bus.payload["attributes"])
        # Observed on every 10th frame of the scene: blue 34-36 % of the bus, then white and grey 17-19 % each; on
        # the frame where it is best seen its dark windows and shadow may come second (black counts half).
        assert "blue" in bus.payload["attributes"]["color"]
        assert set(bus.payload["attributes"]["color"]) <= {"blue", "black", "white", "grey"}
    people = [e for e in events if e.type == "person"]
    assert people
    for event in people:
        found = event.payload["attributes"]
        print("person:", found)
        assert set(found["color"]) | {found["upper_color"], found["lower_color"]} <= set(PALETTE)
    check_cost_on_the_events_crops([*buses, *people])


def check_cost_on_the_events_crops(events: list[Event]) -> None:
    crops = []
    for event in events:
        x1, y1, x2, y2 = event.payload["boxes"][0]
        crops.append((cv2.imread(str(recordings_path(event.snapshot)))[y1:y2, x1:x2], event.payload["label"]))
    costs = []
    for _ in range(20):
        for crop, label in crops:
            start = time.thread_time()  # CPU time: the suite shares two cores with other processes
            attributes(crop, label)
            costs.append((time.thread_time() - start) * 1000)
    p50, p99 = np.percentile(costs, [50, 99])
    print(f"attributes() on {len(crops)} event crops: p50 {p50:.2f} ms, p99 {p99:.2f} ms of CPU")
    assert p50 <= MAX_MS_PER_EVENT
