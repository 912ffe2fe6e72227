"""Recording retention: segments older than their tenant's recording_retention_days go, files and index rows;
while free disk is under VMS_RECORDINGS_MIN_FREE_MB the oldest segments of all tenants go first.
A deleted camera's folder goes whole: moved to the trash at once, deleted from there in the background.
Exports past their `expires` go too, unless on legal hold; a held export's cameras keep their segments of its range
(by age and by disk alike), and when only such segments are left the purge report says so (`held_only`)."""

import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from cameras.models import Camera
from tenants.models import Tenant

from .exports import LONGEST_SEGMENT, delete_export
from .models import Export, ExportFile, Segment

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
    exports: int = 0
    held_only: bool = False  # free disk is under the floor and only legally held recordings are left
    floor_bytes: int = field(default_factory=lambda: settings.VMS_RECORDINGS_MIN_FREE_MB * MB)


def free_bytes() -> int:
    return shutil.disk_usage(settings.VMS_RECORDINGS_ROOT).free


def held_segments() -> Q:
    """The segments legal holds keep: those of a held export's cameras that overlap its range."""
    held = Q(pk__in=[])
    files = ExportFile.objects.filter(export__legal_hold=True, camera__isnull=False)
    for camera_id, start, end in files.values_list("camera_id", "export__start", "export__end"):
        held |= Q(camera_id=camera_id, start__lt=end, start__gt=start - LONGEST_SEGMENT)
    return held


def expired_segments(tenant: Tenant, now: datetime, held: Q | None = None) -> QuerySet[Segment]:
    expired = Segment.objects.filter(tenant=tenant, start__lt=now - timedelta(days=tenant.recording_retention_days))
    return expired.exclude(held if held is not None else held_segments())


def purge_exports(now: datetime | None = None) -> int:
    """Delete exports past their `expires` (never a held one): folder first, then the rows."""
    expired = list(Export.objects.filter(legal_hold=False, expires__lt=now or timezone.now()))
    for export in expired:
        delete_export(export)
    return len(expired)


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
    held = held_segments()
    for tenant in Tenant.objects.all():
        expired = expired_segments(tenant, now, held)
        if dry_run:
            totals = expired.aggregate(n=Count("pk"), size=Sum("bytes"))
            report.by_age, report.bytes = report.by_age + totals["n"], report.bytes + (totals["size"] or 0)
            continue
        while ids := list(expired.order_by("start").values_list("pk", flat=True)[:BATCH_SIZE]):
            count, size = delete_segments(Segment.objects.filter(pk__in=ids))
            report.by_age, report.bytes = report.by_age + count, report.bytes + size
    if dry_run:
        _plan_disk_purge(report, now, held)
        return report
    report.exports = purge_exports(now)
    while free_bytes() < report.floor_bytes:
        oldest = list(Segment.objects.exclude(held).order_by("start").values_list("pk", flat=True)[:BATCH_SIZE])
        if not oldest:
            report.held_only = Segment.objects.exists()
            break
        count, size = delete_segments(Segment.objects.filter(pk__in=oldest))
        report.by_disk, report.bytes = report.by_disk + count, report.bytes + size
    report.free_bytes = free_bytes()
    return report


def _plan_disk_purge(report: PurgeReport, now: datetime, held: Q) -> None:
    """Count the oldest unexpired segments a real purge would delete to get back above the floor."""
    missing = report.floor_bytes - report.free_bytes - report.bytes
    cutoffs = {t.pk: now - timedelta(days=t.recording_retention_days) for t in Tenant.objects.all()}
    segments = Segment.objects.exclude(held).order_by("start").values_list("tenant_id", "start", "bytes")
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
