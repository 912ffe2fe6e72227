"""Recording retention: segments older than their tenant's recording_retention_days go, files and index rows;
while free disk is under VMS_RECORDINGS_MIN_FREE_MB the oldest segments of all tenants go first.
A deleted camera's folder goes whole: moved to the trash at once, deleted from there in the background."""

import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from cameras.models import Camera
from tenants.models import Tenant

from .models import Segment

BATCH_SIZE = 500
MB = 1024 * 1024
# Under the recordings root, so moving a folder there is a rename on the same disk; no tenant id starts with a dot.
TRASH = ".trash"
_TRASH_NAME = re.compile(r"[0-9a-f]{32}")


@dataclass
class PurgeReport:
    """What a purge deleted (or, for a dry run, would delete)."""

    by_age: int = 0
    by_disk: int = 0
    bytes: int = 0
    free_bytes: int = 0
    floor_bytes: int = field(default_factory=lambda: settings.VMS_RECORDINGS_MIN_FREE_MB * MB)


def free_bytes() -> int:
    return shutil.disk_usage(settings.VMS_RECORDINGS_ROOT).free


def expired_segments(tenant: Tenant, now: datetime) -> QuerySet[Segment]:
    return Segment.objects.filter(tenant=tenant, start__lt=now - timedelta(days=tenant.recording_retention_days))


def delete_segments(segments: QuerySet[Segment]) -> tuple[int, int]:
    """Delete the segments' files and rows (files first: a crash in between leaves rows the next run clears).

    Returns (segments, bytes) deleted; empty hour and day folders are removed too."""
    rows = list(segments.values_list("pk", "path", "bytes"))
    root = Path(settings.VMS_RECORDINGS_ROOT)
    folders = set()
    for _, path, _ in rows:
        file = root / path
        file.unlink(missing_ok=True)
        folders.add(file.parent)
    Segment.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
    for hour in folders:
        for folder in (hour, hour.parent):  # <date>/<hour>, then <date>, when nothing is left in them
            try:
                folder.rmdir()
            except OSError:
                break
    return len(rows), sum(size for _, _, size in rows)


def purge_recordings(dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Apply retention by age, then by free disk; with dry_run nothing is deleted, only counted."""
    now = now or timezone.now()
    report = PurgeReport(free_bytes=free_bytes())
    for tenant in Tenant.objects.all():
        expired = expired_segments(tenant, now)
        if dry_run:
            totals = expired.aggregate(n=Count("pk"), size=Sum("bytes"))
            report.by_age, report.bytes = report.by_age + totals["n"], report.bytes + (totals["size"] or 0)
            continue
        while ids := list(expired.order_by("start").values_list("pk", flat=True)[:BATCH_SIZE]):
            count, size = delete_segments(Segment.objects.filter(pk__in=ids))
            report.by_age, report.bytes = report.by_age + count, report.bytes + size
    if dry_run:
        _plan_disk_purge(report, now)
        return report
    while free_bytes() < report.floor_bytes:
        oldest = list(Segment.objects.order_by("start").values_list("pk", flat=True)[:BATCH_SIZE])
        if not oldest:
            break
        count, size = delete_segments(Segment.objects.filter(pk__in=oldest))
        report.by_disk, report.bytes = report.by_disk + count, report.bytes + size
    report.free_bytes = free_bytes()
    return report


def _plan_disk_purge(report: PurgeReport, now: datetime) -> None:
    """Count the oldest unexpired segments a real purge would delete to get back above the floor."""
    missing = report.floor_bytes - report.free_bytes - report.bytes
    cutoffs = {t.pk: now - timedelta(days=t.recording_retention_days) for t in Tenant.objects.all()}
    segments = Segment.objects.order_by("start").values_list("tenant_id", "start", "bytes")
    for tenant_id, start, size in segments.iterator():
        if missing <= 0:
            break
        if start >= cutoffs[tenant_id]:  # expired ones are already counted
            report.by_disk, report.bytes, missing = report.by_disk + 1, report.bytes + size, missing - size


def discard_camera_folder(tenant_id: str, camera_slug: str) -> str | None:
    """Move a deleted camera's folder (segments, snapshots) into the trash, unless a camera of that id exists
    (again): one rename, so from then on nothing of it is served. Returns its name in the trash, None if none."""
    if Camera.objects.filter(tenant_id=tenant_id, slug__iexact=camera_slug).exists():
        return None
    trash = Path(settings.VMS_RECORDINGS_ROOT) / TRASH
    trash.mkdir(exist_ok=True)
    name = uuid.uuid4().hex
    try:
        (Path(settings.VMS_RECORDINGS_ROOT) / tenant_id / camera_slug).rename(trash / name)
    except FileNotFoundError:
        return None
    return name


def empty_trash(name: str | None = None) -> None:
    """Delete one folder of the trash (by the name discard_camera_folder gave), or all of it."""
    trash = Path(settings.VMS_RECORDINGS_ROOT) / TRASH
    if name is None:
        shutil.rmtree(trash, ignore_errors=True)
    elif _TRASH_NAME.fullmatch(name):  # a task's argument: never a path that leads out of the trash
        shutil.rmtree(trash / name, ignore_errors=True)
