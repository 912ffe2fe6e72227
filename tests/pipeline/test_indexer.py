"""The segment indexer: rows of all recorders stored together, kept through a PostgreSQL failure, never poisoned
by a deleted camera or a row already stored."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection

from playback.models import Segment
from playback.recording.indexer import SegmentIndexer, SegmentRow

from ..factories import CameraFactory
from ..rtsp_camera import free_port
from ..shared import one_part_row

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def row(camera, n: int) -> SegmentRow:
    start = START + timedelta(seconds=2 * n)
    return one_part_row(camera.tenant_id, camera.pk, start, 2.0, 1000 + n, f"{camera.tenant_id}/{camera.slug}/{n}.ts")


def stored() -> list[tuple]:
    return list(Segment.objects.order_by("path").values_list("camera_id", "start", "duration", "bytes", "path"))


def test_rows_of_several_cameras_are_stored_once_due(camera_a, settings):
    settings.VMS_SEGMENT_SECONDS = 60
    other = CameraFactory(tenant=camera_a.tenant, slug="cam-other")
    segments = SegmentIndexer()
    rows = [row(camera_a, 0), row(other, 0), row(camera_a, 1)]
    for r in rows:
        segments.add(r)
    segments.flush_if_due()
    assert stored() == [], "not due yet"
    segments.flush()
    assert stored() == sorted([(r.camera_id, r.start, r.duration, r.bytes, r.path) for r in rows], key=lambda s: s[4])

    settings.VMS_SEGMENT_SECONDS = 0
    segments.add(row(camera_a, 2))
    segments.flush_if_due()
    assert len(stored()) == 4


def test_a_deleted_cameras_rows_and_rows_already_stored_do_not_block_the_others(camera_a):
    doomed = CameraFactory(tenant=camera_a.tenant, slug="cam-doomed")
    segments = SegmentIndexer()
    segments.add(row(camera_a, 0))
    segments.flush()
    for r in (row(camera_a, 0), row(doomed, 0), row(camera_a, 1)):
        segments.add(r)
    doomed.delete()
    segments.flush()
    assert [s[4] for s in stored()] == [row(camera_a, 0).path, row(camera_a, 1).path]
    segments.flush()
    assert len(stored()) == 2, "nothing left queued"


def test_a_connection_postgresql_ended_is_replaced_at_once(camera_a, caplog):
    segments = SegmentIndexer()
    segments.add(row(camera_a, 0))
    connection.ensure_connection()
    db = connection.settings_dict
    # What a PostgreSQL restart does to the recorder's connection: the server ends it, and its next use fails.
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    segments.flush()
    assert [s[4] for s in stored()] == [row(camera_a, 0).path], "stored at once, on a new connection"
    assert "could not" not in caplog.text


def test_rows_are_kept_while_postgresql_is_unreachable_and_stored_after(camera_a, caplog, monkeypatch):
    segments = SegmentIndexer()
    segments.add(row(camera_a, 0))
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))  # nothing listens there
    segments.flush()
    assert "could not index 1 objects" in caplog.text
    monkeypatch.undo()
    assert stored() == []
    segments.flush()
    assert [s[4] for s in stored()] == [row(camera_a, 0).path], "stored on the next try"
