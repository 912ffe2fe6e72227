"""Run real detector pipelines (ffmpeg + OpenVINO YOLO + ByteTrack) on the RTSP demo stream, in threads."""

import threading
import time

import pytest
from django.db import connection

from events.detection import detector


def run_detectors(cameras, seconds: float) -> None:
    """Run each camera's `detect` runner for `seconds` of stream, concurrently; re-raise a runner's error."""
    errors: list[BaseException] = []
    deadline = time.monotonic() + seconds

    def target(camera) -> None:
        try:
            detector.run(camera, lambda: time.monotonic() > deadline)
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection; the test database must be droppable

    threads = [threading.Thread(target=target, args=(camera,)) for camera in cameras]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    assert not any(thread.is_alive() for thread in threads), "a runner ignored should_stop"
    if errors:
        raise errors[0]


@pytest.fixture
def stream_camera(rtsp_url):
    """Make a camera of `tenant` watching the demo stream at 5 fps with `features`."""
    from tests.factories import CameraFactory

    def make(tenant, slug: str, features: list[str]):
        return CameraFactory(tenant=tenant, slug=slug, rtsp_url=rtsp_url, fps=5, features=features)

    return make
