"""Camera status on the real RTSP camera: offline within 10 s of a cut, back online and recording on its return."""

import time

import pytest

from cameras.models import Camera, PipelineState, StatusChange
from playback.models import Segment

from ..factories import CameraFactory, TenantFactory
from .test_recorder import wait_for


@pytest.mark.django_db(transaction=True)
def test_cut_stream_goes_offline_then_recording_resumes(rtsp_server, start_recorder):
    camera = CameraFactory(tenant=TenantFactory(id="tenant-a"), slug="cam-cut", rtsp_url=rtsp_server.url, features=[])
    PipelineState.objects.create(camera=camera, kind="record", state="running")
    recorder = start_recorder(camera)
    wait_for(lambda: Segment.objects.filter(camera=camera).count() >= 2, timeout=30)
    assert Camera.objects.get(pk=camera.pk).status == "online"

    rtsp_server.stop()
    cut_at = time.monotonic()
    wait_for(lambda: Camera.objects.get(pk=camera.pk).status == "offline", timeout=10)
    assert time.monotonic() - cut_at < 10
    last_before = Segment.objects.filter(camera=camera).latest("start")
    # The operator sees why (the password is never shown).
    detail = wait_for(lambda: PipelineState.objects.get(camera=camera).detail, timeout=5)
    assert "stream ended" in detail or "no video" in detail

    time.sleep(3)  # a few seconds without a camera: a gap in the index
    rtsp_server.start()
    back_at = time.monotonic()
    wait_for(lambda: Camera.objects.get(pk=camera.pk).status == "online", timeout=30)
    resumed = wait_for(lambda: Segment.objects.filter(camera=camera, start__gt=last_before.start).first(), timeout=10)
    recorder.stop()
    assert time.monotonic() - back_at < 30

    gap = (resumed.start - last_before.start).total_seconds() - last_before.duration
    assert gap >= 3, "the outage stays a gap in the index"
    assert PipelineState.objects.get(camera=camera).detail == ""
    changes = list(StatusChange.objects.filter(camera=camera).values_list("status", flat=True))
    assert changes == ["online", "offline", "online", "offline"]
