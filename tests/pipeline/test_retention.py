"""Recording retention: by each tenant's recording_retention_days, then oldest first under the free-disk floor."""

import math
from datetime import timedelta
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from playback.models import Segment
from playback.retention import MB, free_bytes, purge_recordings
from playback.tasks import purge_recordings_task

from ..factories import CameraFactory, SegmentFactory


def segment_on_disk(camera, age: timedelta, size: int = 1000) -> Segment:
    segment = SegmentFactory(camera=camera, start=timezone.now() - age, bytes=size)
    file = Path(settings.VMS_RECORDINGS_ROOT) / segment.path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(b"\x47" * size)
    return segment


def on_disk(segment: Segment) -> bool:
    return (Path(settings.VMS_RECORDINGS_ROOT) / segment.path).exists()


def test_purge_by_each_tenants_retention(tenant_a, tenant_b, settings):
    settings.VMS_RECORDINGS_MIN_FREE_MB = 0
    tenant_a.recording_retention_days = 1
    tenant_a.save()
    cam_a, cam_b = CameraFactory(tenant=tenant_a), CameraFactory(tenant=tenant_b)  # tenant B keeps 7 days
    old_a = segment_on_disk(cam_a, timedelta(days=3))
    new_a = segment_on_disk(cam_a, timedelta(hours=2))
    kept_b = segment_on_disk(cam_b, timedelta(days=3))
    old_b = segment_on_disk(cam_b, timedelta(days=8))

    out = StringIO()
    call_command("purge_recordings", "--dry-run", stdout=out)
    assert "Would delete 2 expired and 0 oldest segments" in out.getvalue()
    assert Segment.objects.count() == 4 and all(map(on_disk, [old_a, new_a, kept_b, old_b]))

    out = StringIO()
    call_command("purge_recordings", stdout=out)
    assert "Deleted 2 expired and 0 oldest segments" in out.getvalue()
    assert set(Segment.objects.all()) == {new_a, kept_b}
    assert not on_disk(old_a) and not on_disk(old_b)
    assert on_disk(new_a) and on_disk(kept_b)
    # The emptied hour and day folders went with the files; the camera's other folders stay.
    assert not (Path(settings.VMS_RECORDINGS_ROOT) / old_a.path).parent.parent.exists()
    assert (Path(settings.VMS_RECORDINGS_ROOT) / new_a.path).parent.exists()
    assert purge_recordings_task() == {"by_age": 0, "by_disk": 0, "bytes": 0}


def test_oldest_go_first_while_disk_is_below_the_floor(tenant_a, tenant_b, settings):
    cam_a, cam_b = CameraFactory(tenant=tenant_a), CameraFactory(tenant=tenant_b)
    size = 2 * MB
    # Oldest first across tenants: b 5 h, a 4 h, b 3 h, a 2 h, b 1 h.
    segments = [segment_on_disk(cam, timedelta(hours=h), size) for cam, h in [(cam_b, 5), (cam_a, 4), (cam_b, 3)]]
    segments += [segment_on_disk(cam, timedelta(hours=h), size) for cam, h in [(cam_a, 2), (cam_b, 1)]]
    # A floor 3 MB above today's free space: at least the two oldest files must go.
    settings.VMS_RECORDINGS_MIN_FREE_MB = math.ceil((free_bytes() + 3 * MB) / MB)

    planned = purge_recordings(dry_run=True)
    assert (planned.by_age, planned.by_disk) == (0, 2) and Segment.objects.count() == 5

    report = purge_recordings()
    assert report.by_age == 0 and report.by_disk >= 2
    remaining = list(Segment.objects.order_by("start"))
    deleted = [s for s in segments if s not in remaining]
    assert deleted == segments[: len(deleted)], "only the oldest are deleted"
    assert not any(map(on_disk, deleted)) and all(map(on_disk, remaining))
    assert report.free_bytes >= settings.VMS_RECORDINGS_MIN_FREE_MB * MB or not remaining
