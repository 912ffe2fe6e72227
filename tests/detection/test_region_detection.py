"""Region detection on the real RTSP demo stream: the model looks at regions around the motion on most frames and
still finds the people and the bus."""

from collections import Counter

import pytest
from django.conf import settings

from events.detection.detector import CameraDetector
from events.detection.vision import load_detector, read_frames
from tests.factories import CameraFactory

FRAMES = 50  # 10 s at 5 fps: the clip's first scene (the bus and people)


@pytest.mark.django_db
def test_regions_find_the_people_and_the_bus_at_less_than_the_whole_frames_cost(tenant_a, rtsp_url):
    camera = CameraFactory(
        tenant=tenant_a, slug="cam-regions", rtsp_url=rtsp_url, fps=5, features=["person", "vehicle"]
    )
    detector = load_detector(settings.VMS_DETECTOR_MODEL)
    events: list[dict] = []
    pipeline = CameraDetector(camera, detector, emit=lambda **kw: events.append(kw))
    for frame in read_frames(rtsp_url, 5, lambda: pipeline.frames >= FRAMES):
        pipeline.process(frame)

    labels = Counter(e["payload"]["label"] for e in events)
    assert labels["person"] >= 3 and labels["bus"] >= 1, labels
    assert detector.regions > 0  # motion was looked at in regions, not only in whole frames
    # A region costs a quarter of an inference, a whole frame a half: cheaper than a whole frame each time.
    assert detector.regions + 2 * detector.whole_frames < 2 * pipeline.inferences
    for event in events:
        x1, y1, x2, y2 = event["payload"]["boxes"][0]
        assert 0 <= x1 < x2 <= 1280 and 0 <= y1 < y2 <= 720
