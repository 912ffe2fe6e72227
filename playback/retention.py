"""Recording retention, in three steps:
1. by age: segments older than their tenant's recording_retention_days go;
2. by quota: a tenant whose indexed recordings pass its plan's storage_quota_gb loses its own oldest ones;
3. by disk (without a bucket; with one, each record node keeps its own floor: recording/keeper.py): while free disk
   is under VMS_RECORDINGS_MIN_FREE_MB, fairly between tenants (`fair_level`): the oldest
   segments go, but only of tenants that use more than the fair level of the disk, and each only down to it. What a
   tenant uses is counted from the index: its segments (held ones too) and its export files. So a tenant's legal holds
   and exports count against its own share: its unheld recordings go first, and never another tenant's for them.
A deleted camera's folder goes whole: moved to the trash at once, deleted from there in the background.
Exports past their `expires` go too, unless on legal hold; a held export's cameras keep their segments of its range
(by age, quota and disk alike), and when the floor cannot be kept for them the purge report says so (`held_only`)."""

import heapq
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from cameras.models import Camera
from tenants.models import Tenant

from . import storage
from .exports import delete_export
from .models import Export, ExportFile, Segment
from .playlists import LONGEST_OBJECT

BATCH_SIZE = 500
MB = 1024 * 1024
GB = 1024 * MB  # the unit of the plan's storage_quota_gb and export_quota_gb
# Under the recordings root, so moving a folder there is a rename on the same disk; no tenant id starts with a dot.
TRASH = ".trash"
_TRASH_NAME = re.compile(r"[0-9a-f]{32}")


@dataclass
class PurgeReport:
    """What a purge deleted (or, for a dry run, would delete)."""

    by_age: int = 0
    by_quota: int = 0
    by_disk: int = 0
    bytes: int = 0
    free_bytes: int = 0
    exports: int = 0
    held_only: bool = False  # free disk stays under the floor: what is left is held, or within others' fair share
    floor_bytes: int = field(default_factory=lambda: settings.VMS_RECORDINGS_MIN_FREE_MB * MB)


def free_bytes() -> int:
    return shutil.disk_usage(settings.VMS_RECORDINGS_ROOT).free


def held_segments() -> Q:
    """The segments legal holds keep: those of a held export's cameras that overlap its range."""
    held = Q(pk__in=[])
    files = ExportFile.objects.filter(export__legal_hold=True, camera__isnull=False)
    for camera_id, start, end in files.values_list("camera_id", "export__start", "export__end"):
        held |= Q(camera_id=camera_id, start__lt=end, start__gt=start - LONGEST_OBJECT)
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
    """Delete the objects (from this node's disk and the bucket), then their rows: a crash in between leaves rows
    that the next run clears. Returns (objects, bytes) deleted; empty hour and day folders are removed too."""
    rows = list(segments.values_list("pk", "path", "bytes", "uploaded_at"))
    remove_local_files([path for _, path, _, _ in rows])
    if uploaded := [path for _, path, _, uploaded_at in rows if uploaded_at is not None]:
        storage.bucket().delete(uploaded)
    Segment.objects.filter(pk__in=[pk for pk, *_ in rows]).delete()
    return len(rows), sum(size for _, _, size, _ in rows)


def remove_local_files(paths: list[str]) -> None:
    """Delete these files (relative to the recordings root) from this node's disk, and the hour and day folders
    they leave empty."""
    root = Path(settings.VMS_RECORDINGS_ROOT)
    folders = set()
    for path in paths:
        file = root / path
        file.unlink(missing_ok=True)
        folders.add(file.parent)
    for hour in folders:
        for folder in (hour, hour.parent):  # <date>/<hour>, then <date>, when nothing is left in them
            try:
                folder.rmdir()
            except OSError:
                break


def purge_recordings(dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Apply retention by age, by storage quota, then by free disk; with dry_run nothing is deleted, only counted."""
    now = now or timezone.now()
    report = PurgeReport(free_bytes=free_bytes())
    if not dry_run:
        report.exports = purge_exports(now)
    purge = _Purge(report, dry_run, now)
    for tenant in purge.tenants.values():
        purge.by_age(tenant)
    for tenant in purge.tenants.values():
        purge.by_quota(tenant)
    if storage.bucket() is None:  # with a bucket, each record node keeps its own disk floor (recording/keeper.py)
        purge.by_disk()
    if not dry_run:
        report.free_bytes = free_bytes()
    return report


def fair_level(usage: Iterable[int], budget: float) -> float:
    """The max-min fair share of `budget` bytes between tenants using `usage`: the level L at which the usages, each
    capped at L, add up to the budget. A tenant using no more than L keeps all; the others come down to L."""
    usage = sorted(usage)
    for i, used in enumerate(usage):
        share = budget / (len(usage) - i)
        if used > share:
            return max(share, 0.0)
        budget -= used
    return float("inf")


class _Purge:
    """One run: what each tenant uses, kept as its steps take segments, so a dry run plans what a real run deletes."""

    def __init__(self, report: PurgeReport, dry_run: bool, now: datetime) -> None:
        self.report, self.dry_run, self.now = report, dry_run, now
        self.tenants = {tenant.pk: tenant for tenant in Tenant.objects.all()}
        self.held = held_segments()
        segments = Segment.objects.filter(tenant_id__in=list(self.tenants)).order_by().values_list("tenant_id")
        self.recordings = Counter(dict(segments.annotate(Sum("bytes"))))
        files = ExportFile.objects.filter(export__tenant_id__in=list(self.tenants), size__isnull=False).order_by()
        self.exports = Counter(dict(files.values_list("export__tenant_id").annotate(Sum("size"))))
        self.after: dict[str, Q] = {}  # per tenant: past the segments this run has taken

    def by_age(self, tenant: Tenant) -> None:
        expired = expired_segments(tenant, self.now, self.held)
        if self.dry_run:
            totals = expired.aggregate(n=Count("pk"), size=Sum("bytes"))
            count, size = totals["n"], totals["size"] or 0
        else:
            count = size = 0
            while ids := list(expired.order_by("start").values_list("pk", flat=True)[:BATCH_SIZE]):
                deleted, freed = delete_segments(Segment.objects.filter(pk__in=ids))
                count, size = count + deleted, size + freed
        self.recordings[tenant.pk] -= size
        self.report.by_age, self.report.bytes = self.report.by_age + count, self.report.bytes + size

    def by_quota(self, tenant: Tenant) -> None:
        if tenant.storage_quota_gb is None:
            return
        excess = self.recordings[tenant.pk] - tenant.storage_quota_gb * GB
        if excess > 0:
            self._take("by_quota", _covering(((tenant.pk, *s) for s in self._oldest(tenant.pk)), excess))

    def by_disk(self) -> None:
        free = self.report.free_bytes + self.report.bytes if self.dry_run else free_bytes()
        missing = self.report.floor_bytes - free
        if missing > 0 and self._take("by_disk", self._fair_plan(missing)) < missing:
            self.report.held_only = Segment.objects.exists()

    def _fair_plan(self, missing: int) -> Iterator[tuple[str, datetime, int, int]]:
        """The segments that free `missing` bytes: oldest first, of the tenants above the fair level while they are."""
        usage = self.recordings + self.exports
        level = fair_level(usage.values(), sum(usage.values()) - missing)
        streams = {tenant_id: self._oldest(tenant_id) for tenant_id, used in usage.items() if used > level}
        heads = [(*first, tenant_id) for tenant_id, stream in streams.items() if (first := next(stream, None))]
        heapq.heapify(heads)
        while missing > 0 and heads:
            start, pk, size, tenant_id = heapq.heappop(heads)
            yield tenant_id, start, pk, size
            missing, usage[tenant_id] = missing - size, usage[tenant_id] - size
            if usage[tenant_id] > level and (following := next(streams[tenant_id], None)):
                heapq.heappush(heads, (*following, tenant_id))

    def _oldest(self, tenant_id: str) -> Iterator[tuple[datetime, int, int]]:
        """(start, pk, bytes) of the tenant's unexpired, unheld segments this run has not taken, oldest first."""
        cutoff = self.now - timedelta(days=self.tenants[tenant_id].recording_retention_days)
        segments = Segment.objects.filter(tenant_id=tenant_id, start__gte=cutoff).exclude(self.held)
        segments, position = segments.order_by("start", "pk"), self.after.get(tenant_id, Q())
        while batch := list(segments.filter(position).values_list("start", "pk", "bytes")[:BATCH_SIZE]):
            yield from batch
            position = _past(*batch[-1][:2])

    def _take(self, kind: str, plan: Iterable[tuple[str, datetime, int, int]]) -> int:
        """Delete (in a dry run, count) the planned segments in batches; returns their bytes."""
        plan, taken = iter(plan), 0
        while batch := list(islice(plan, BATCH_SIZE)):
            for tenant_id, start, pk, size in batch:
                self.recordings[tenant_id] -= size
                self.after[tenant_id] = _past(start, pk)
            if self.dry_run:
                count, size = len(batch), sum(size for *_, size in batch)
            else:
                count, size = delete_segments(Segment.objects.filter(pk__in=[pk for _, _, pk, _ in batch]))
            setattr(self.report, kind, getattr(self.report, kind) + count)
            self.report.bytes, taken = self.report.bytes + size, taken + size
        return taken


def _past(start: datetime, pk: int) -> Q:
    """The segments after this one in (start, pk) order."""
    return Q(start__gt=start) | Q(start=start, pk__gt=pk)


def _covering(segments: Iterable[tuple], amount: int) -> Iterator[tuple]:
    """The first of `segments` (their size last) that add up to `amount` bytes."""
    for segment in segments:
        if amount <= 0:
            return
        yield segment
        amount -= segment[-1]


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


def discard_camera_objects(tenant_id: str, camera_slug: str) -> int:
    """Delete a deleted camera's objects (recordings, snapshots) from the bucket, unless a camera of that id exists
    (again); returns how many went."""
    if (bucket := storage.bucket()) is None:
        return 0
    if Camera.objects.filter(tenant_id=tenant_id, slug__iexact=camera_slug).exists():
        return 0
    return bucket.delete_prefix(f"{tenant_id}/{camera_slug}")


def empty_trash(name: str | None = None) -> None:
    """Delete one folder of the trash (by the name discard_camera_folder gave), or all of it."""
    trash = Path(settings.VMS_RECORDINGS_ROOT) / TRASH
    if name is None:
        shutil.rmtree(trash, ignore_errors=True)
    elif _TRASH_NAME.fullmatch(name):  # a task's argument: never a path that leads out of the trash
        shutil.rmtree(trash / name, ignore_errors=True)
