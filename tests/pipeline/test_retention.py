"""Recording retention: by each tenant's recording_retention_days, by each tenant's storage quota, then oldest first
under the free-disk floor, fairly between tenants."""

import math
from datetime import timedelta
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from playback.models import Export, ExportFile, Segment
from playback.retention import GB, MB, free_bytes, purge_recordings
from playback.tasks import purge_recordings_task

from ..factories import CameraFactory, SegmentFactory, TenantFactory


def segment_on_disk(camera, age: timedelta, size: int = 1000, indexed: int | None = None) -> Segment:
    """A segment `age` old: a file of `size` bytes, indexed as `indexed` bytes (quotas and shares count the index)."""
    segment = SegmentFactory(camera=camera, start=timezone.now() - age, bytes=indexed or size)
    file = Path(settings.VMS_RECORDINGS_ROOT) / segment.path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(b"\x47" * size)
    return segment


def held_export(camera, segments: list[Segment], file_bytes: int = 0) -> Export:
    """A legally held export of `segments` (its file indexed as `file_bytes`): they must be kept."""
    export = Export.objects.create(
        tenant=camera.tenant, start=segments[0].start, end=segments[-1].start + timedelta(seconds=2),
        legal_hold=True, state=Export.State.DONE, expires=timezone.now(),
    )  # fmt: skip
    ExportFile.objects.create(export=export, camera=camera, camera_slug=camera.slug, size=file_bytes)
    return export


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
    assert "Would delete 2 expired, 0 over quota and 0 oldest segments" in out.getvalue()
    assert Segment.objects.count() == 4 and all(map(on_disk, [old_a, new_a, kept_b, old_b]))

    out = StringIO()
    call_command("purge_recordings", stdout=out)
    assert "Deleted 2 expired, 0 over quota and 0 oldest segments" in out.getvalue()
    assert set(Segment.objects.all()) == {new_a, kept_b}
    assert not on_disk(old_a) and not on_disk(old_b)
    assert on_disk(new_a) and on_disk(kept_b)
    # The emptied hour and day folders went with the files; the camera's other folders stay.
    assert not (Path(settings.VMS_RECORDINGS_ROOT) / old_a.path).parent.parent.exists()
    assert (Path(settings.VMS_RECORDINGS_ROOT) / new_a.path).parent.exists()
    assert purge_recordings_task() == {"by_age": 0, "by_quota": 0, "by_disk": 0, "bytes": 0}


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


def test_a_tenant_over_its_storage_quota_loses_its_own_oldest_unheld_recordings(tenant_a, tenant_b, settings):
    settings.VMS_RECORDINGS_MIN_FREE_MB = 0
    tenant_a.storage_quota_gb = 1
    tenant_a.save()
    cam_a, cam_b = CameraFactory(tenant=tenant_a), CameraFactory(tenant=tenant_b)  # tenant B has no quota
    # A: 5 x 400 MB in the index (2000 MB against 1024 MB), the oldest legally held.
    a = [segment_on_disk(cam_a, timedelta(hours=h), indexed=400 * MB) for h in (5, 4, 3, 2, 1)]
    held_export(cam_a, a[:1])
    b = [segment_on_disk(cam_b, timedelta(hours=h), indexed=400 * MB) for h in (9, 8, 7, 6)]  # older than all of A's

    planned = purge_recordings(dry_run=True)
    assert (planned.by_age, planned.by_quota, planned.by_disk) == (0, 3, 0) and Segment.objects.count() == 9

    report = purge_recordings()
    assert (report.by_age, report.by_quota, report.by_disk) == (0, 3, 0)
    # A's held one counts (it is on A's disk) but stays; then A's oldest go until A is within 1 GB: 800 MB left.
    assert set(Segment.objects.filter(tenant=tenant_a)) == {a[0], a[4]}
    assert set(Segment.objects.filter(tenant=tenant_b)) == set(b)
    assert not any(map(on_disk, a[1:4])) and all(map(on_disk, [a[0], a[4], *b]))
    assert purge_recordings().by_quota == 0


def test_under_the_floor_a_tenant_s_held_data_costs_its_own_recordings_not_other_tenants(tenant_a, tenant_b, settings):
    """Tenant A holds much (held exports and the recordings they keep); B and C recorded less, and longer ago. Under
    the floor, A's unheld recordings go; B's and C's, within their fair share, stay though the floor is not met."""
    tenant_c = TenantFactory(id="tenant-c")
    cam_a, cam_b, cam_c = (CameraFactory(tenant=t) for t in (tenant_a, tenant_b, tenant_c))
    size = 100 * MB  # in the index; the files are small, so deleting them frees (next to) nothing on this disk
    others = [
        segment_on_disk(cam, timedelta(hours=h), indexed=size) for cam in (cam_b, cam_c) for h in range(10, 5, -1)
    ]
    unheld_a = [segment_on_disk(cam_a, timedelta(hours=h), indexed=size) for h in range(5, 0, -1)]
    held_a = [segment_on_disk(cam_a, timedelta(minutes=m), indexed=size) for m in range(50, 30, -2)]
    for i in range(0, 10, 2):  # five held exports of two segments each, 400 MB of MP4 apiece
        held_export(cam_a, held_a[i : i + 2], file_bytes=400 * MB)
    # A uses 500 + 1000 + 2000 MB, B and C 500 MB each: 800 MB short, A alone is over its fair share.
    settings.VMS_RECORDINGS_MIN_FREE_MB = math.ceil(free_bytes() / MB) + 800

    planned = purge_recordings(dry_run=True)
    assert planned.by_disk == len(unheld_a) and Segment.objects.count() == 25

    report = purge_recordings()
    assert report.by_disk == len(unheld_a) and report.held_only
    assert set(Segment.objects.all()) == {*others, *held_a}
    assert all(map(on_disk, [*others, *held_a])) and not any(map(on_disk, unheld_a))


def test_under_the_floor_tenants_over_their_fair_share_give_back_down_to_it(tenant_a, tenant_b, settings):
    """Without held data the disk is shared max-min: B (small) keeps all; A and C (large) come down to one level."""
    tenant_c = TenantFactory(id="tenant-c")
    cam_a, cam_b, cam_c = (CameraFactory(tenant=t) for t in (tenant_a, tenant_b, tenant_c))
    b = [segment_on_disk(cam_b, timedelta(hours=30 + h), indexed=GB) for h in range(2)]  # the oldest of all
    a = [segment_on_disk(cam_a, timedelta(hours=20 - h), indexed=GB) for h in range(8)]
    c = [segment_on_disk(cam_c, timedelta(hours=10 - h), indexed=GB) for h in range(6)]
    # 16 GB in all, 5.5 GB short: 10.5 GB stay, B's 2 and 4.25 each for A and C (the fair level).
    settings.VMS_RECORDINGS_MIN_FREE_MB = math.ceil(free_bytes() / MB) + 5632

    planned = purge_recordings(dry_run=True)
    assert planned.by_disk == 6 and Segment.objects.count() == 16

    report = purge_recordings()
    assert report.by_disk == 6 and not report.held_only
    assert set(Segment.objects.all()) == {*b, *a[4:], *c[2:]}
    assert not any(map(on_disk, [*a[:4], *c[:2]]))
