"""Real recordings for playback tests: demo-street.mp4 cut by ffmpeg into 2 s MPEG-TS segments, indexed."""

from datetime import UTC, datetime, timedelta

import pytest

from cameras.pipeline.lease import client

from ..factories import SegmentFactory
from ..processes import running_daphne, running_worker
from ..shared import place_segment

DEMO_FRAMES = 200  # 20 s at 10 fps
DEMO_SEGMENTS = 10
# A finished hour of the past: its playlist is VOD.
HOUR = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)


@pytest.fixture
def record(demo_segments):
    """record(camera, start, count=10, gap_after=None, gap=10): write and index `count` demo segments from `start`.

    With `gap_after=n`, `gap` seconds without recording follow the n-th segment.
    """

    def make(camera, start=HOUR, count=DEMO_SEGMENTS, gap_after=None, gap=10.0):
        segments, moment = [], start
        for i in range(count):
            source, duration = demo_segments[i % len(demo_segments)]
            relative, size = place_segment(source, camera.tenant_id, camera.slug, moment)
            segments.append(SegmentFactory(camera=camera, start=moment, duration=duration, bytes=size, path=relative))
            moment += timedelta(seconds=duration + (gap if i + 1 == gap_after else 0))
        return segments

    return make


@pytest.fixture
def daphne(transactional_db, tmp_path):
    """A real daphne on this test's database and recordings: `.url`, `.log`."""
    with running_daphne(tmp_path / "daphne.log") as server:
        yield server


@pytest.fixture
def default_worker(transactional_db, tmp_path):
    """A real Celery worker of the default queue, on a Redis database emptied of earlier tests' tasks."""
    client().flushdb()
    with running_worker(tmp_path / "worker.log"):
        yield
    client().flushdb()
