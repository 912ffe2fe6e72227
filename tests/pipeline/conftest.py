"""Pipeline fixtures: this run's own Redis database emptied, and a recorder running in a thread of the test."""

import threading

import pytest
from django.db import connections

from cameras.pipeline.lease import client
from playback.recording.recorder import run_recorder

from ..factories import CameraFactory, TenantFactory


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


class RecorderThread:
    """run_recorder in a background thread, stopped by stop() (which waits for it and its ffmpeg)."""

    def __init__(self, camera) -> None:
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(camera,), daemon=True)
        self.thread.start()

    def _run(self, camera) -> None:
        try:
            run_recorder(camera, self.stopping.is_set)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the recorder did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def start_recorder():
    recorders: list[RecorderThread] = []

    def start(camera) -> RecorderThread:
        recorders.append(RecorderThread(camera))
        return recorders[-1]

    yield start
    for recorder in recorders:
        if recorder.thread.is_alive():
            recorder.stop()
