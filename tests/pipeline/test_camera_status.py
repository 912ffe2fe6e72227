"""Camera status on the real RTSP camera: offline within 10 s of a cut, back online and recording on its return."""

import itertools
import time

import pytest
from django.db import connection

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


@pytest.fixture
def status_writes_refused():
    """PostgreSQL refuses every change of a camera row, as it refuses everything while it restarts (57P03:
    cannot_connect_now) and as a connection that a restart broke fails; segments are still stored. Undone by the
    returned function (and at the end)."""
    refuse = """
        CREATE FUNCTION test_refuse_camera_writes() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'the database system is shutting down' USING ERRCODE = '57P03'; END $$;
        CREATE TRIGGER test_refuse_camera_writes BEFORE UPDATE ON cameras_camera
        FOR EACH ROW EXECUTE FUNCTION test_refuse_camera_writes();
    """
    with connection.cursor() as cursor:
        cursor.execute(refuse)

    def accept() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP FUNCTION IF EXISTS test_refuse_camera_writes() CASCADE")

    yield accept
    accept()


@pytest.mark.django_db(transaction=True)
def test_a_status_write_the_database_refuses_is_retried_and_never_stops_the_recording(
    live_camera, start_recorder, status_writes_refused, caplog
):
    recorder = start_recorder(live_camera)
    wait_for(lambda: Segment.objects.filter(camera=live_camera).count() >= 3, timeout=30)
    assert "could not store that tenant-a/cam-live is online" in caplog.text
    assert Camera.objects.get(pk=live_camera.pk).status == "offline", "refused so far"

    status_writes_refused()
    wait_for(lambda: Camera.objects.get(pk=live_camera.pk).status == "online", timeout=10)
    count = Segment.objects.filter(camera=live_camera).count()
    wait_for(lambda: Segment.objects.filter(camera=live_camera).count() > count, timeout=10)
    recorder.stop()

    segments = list(Segment.objects.filter(camera=live_camera).order_by("start"))
    for prev, nxt in itertools.pairwise(segments):
        assert abs((nxt.start - prev.start).total_seconds() - prev.duration) < 0.05, "one recording, no gap"
    changes = list(StatusChange.objects.filter(camera=live_camera).values_list("status", flat=True))
    assert changes == ["online", "offline"]
