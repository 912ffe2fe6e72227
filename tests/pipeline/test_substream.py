"""A camera with a substream: the real detector decodes its `detect_url` (640x360) while the real recorder records
its `rtsp_url` (1280x720), both from one RTSP camera serving the two mounts in step. Boxes are in the pixels of the
frame detected on (the payload's `frame`), so in 0-1 of the picture they are where the main stream has the object."""

import cv2
import numpy as np
import pytest
from django.conf import settings

from events.detection.model import View, load_model
from events.models import Event
from playback.models import Segment
from playback.paths import recordings_path

from ..detection.conftest import run_detectors
from ..factories import CameraFactory
from ..shared import DEMO_CLIP
from .test_live import video_size
from .test_recorder import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# The bus is in the clip's first 10 s; a session of the substream starts at the shared timeline's next key frame,
# up to 2 s in, and the detector's probe and its decoder each start one.
STREAM_SECONDS = 12
THUMB = (160, 90)  # frames compared at this size to find which of the clip's frames a snapshot shows


def clip_frame_like(image: np.ndarray) -> np.ndarray:
    """The demo clip's frame (1280x720, as the main stream sends it) that `image` shows."""
    wanted = cv2.resize(image, THUMB).astype(int)
    clip = cv2.VideoCapture(DEMO_CLIP)
    best, best_error = None, None
    while (read := clip.read())[0]:
        error = np.abs(cv2.resize(read[1], THUMB).astype(int) - wanted).mean()
        if best_error is None or error < best_error:
            best, best_error = read[1], error
    clip.release()
    return best


def full_frame_box(image: np.ndarray, label: str) -> list[float]:
    """The box of the model's most confident `label` on the whole of `image`."""
    model = load_model(settings.VMS_DETECTOR_MODEL)
    [found] = model.detect([View(image, (0, 0, image.shape[1], image.shape[0]), whole=True)])
    ids = {name: class_id for class_id, name in model.names.items()}
    mine = np.flatnonzero(found.cls == ids[label])
    assert mine.size, f"no {label} on the main stream's frame"
    return found.xyxy[mine[np.argmax(found.conf[mine])]].tolist()


def test_detects_on_the_substream_while_recording_the_main_one(tenant_a, substream_server, start_recorder):
    camera = CameraFactory(
        tenant=tenant_a, slug="cam-sub", rtsp_url=substream_server.url, detect_url=substream_server.sub_url,
        fps=5, features=["vehicle"],
    )  # fmt: skip
    start_recorder(camera)
    run_detectors([camera], STREAM_SECONDS)

    recorded = wait_for(lambda: Segment.objects.filter(camera=camera).values_list("path", flat=True).first(), 30)
    assert video_size(recordings_path(recorded)) == (1280, 720)

    events = list(Event.objects.filter(camera_id="cam-sub"))
    assert events and all(event.payload["frame"] == {"width": 640, "height": 360} for event in events)
    for event in events:
        for x1, y1, x2, y2 in event.payload["boxes"]:
            assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    # Mostly one, but the tracker may lose the parked bus for a frame and follow it again as a new track: each of its
    # events is checked (one track, one event is tests/detection's).
    buses = [event for event in events if event.payload["label"] == "bus"]
    assert buses
    for bus in buses:
        snapshot = cv2.imread(str(recordings_path(bus.snapshot)))
        assert snapshot.shape == (360, 640, 3)
        # The same frame of the main stream, seen whole by the model: the bus is at the same place in 0-1 of the
        # picture.
        main = full_frame_box(clip_frame_like(snapshot), "bus")
        on_sub = np.array(bus.payload["boxes"][0]) / [640, 360, 640, 360]
        on_main = np.array(main) / [1280, 720, 1280, 720]
        assert np.abs(on_sub - on_main).max() < 0.03, (on_sub, on_main)
