"""Pipeline fixtures: this run's own Redis database emptied, and a camera for the recorder (`start_recorder`, in
tests/conftest.py, runs it in a thread of the test)."""

import pytest

from cameras.pipeline.lease import client

from ..factories import CameraFactory, TenantFactory
from ..rtsp_camera import RtspCamera


@pytest.fixture(autouse=True)
def _empty_redis():
    """Leases and queued tasks of an earlier run would name the same camera primary keys: start empty."""
    client().flushdb()
    yield
    client().flushdb()


@pytest.fixture
def live_camera(transactional_db, rtsp_url):
    """A recording camera of tenant A on the session's RTSP camera (committed, so other threads see it).

    No detection features: only the recorder pipeline is wanted for it."""
    return CameraFactory(tenant=TenantFactory(id="tenant-a"), slug="cam-live", rtsp_url=rtsp_url, features=[])


@pytest.fixture
def substream_server():
    """An RTSP camera of this test that also serves a 640x360 substream (`sub_url`), in step with its `url`."""
    camera = RtspCamera(substream=True)
    camera.start()
    try:
        yield camera
    finally:
        camera.stop()
