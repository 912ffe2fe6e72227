"""The media keeper of a record worker: what happens to the objects on its node's disk after the recorder closes them.
One daemon thread per record worker, a step every VMS_SEGMENT_SECONDS:

1. recover (at start): an object a killed worker was filling is found by its sidecar and indexed from it, cut to
   the parts the sidecar lists (a part being appended when the worker died is dropped);
2. upload (with a bucket, storage.py): the node's objects not in the bucket yet, oldest first; an object is marked
   uploaded only once its PUT succeeded, so the index never points at a half object. While the bucket is
   unreachable they wait on the disk, readiness shows the backlog, and they go up when it is back;
3. evict: uploaded objects leave the disk after VMS_HOT_WINDOW_S, or at once while free disk is under
   VMS_RECORDINGS_MIN_FREE_MB; if that is still not enough, the oldest objects not uploaded yet go (logged), so
   recording never stops for a full disk;
4. sweep (every SWEEP_EVERY_S): object files the index no longer knows (retention or a camera's deletion ran on
   another machine) leave the disk.
A machine lost for good takes with it what it had not uploaded: the object being filled (up to a minute) and the
backlog, which is a few seconds while the bucket answers.
"""

import fcntl
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from cameras.models import Camera
from tenants.health import report_upload_backlog

from .. import storage
from ..models import Segment
from ..retention import MB, delete_segments, free_bytes, remove_local_files
from .indexer import SIDECAR, SegmentRow, segment_indexer

logger = logging.getLogger(__name__)

BATCH = 100
ORPHAN_MIN_AGE_S = 3600  # far older than any object being closed and indexed
SWEEP_EVERY_S = 600
TS_CONTENT_TYPE = "video/mp2t"


def recover_objects(root: Path) -> int:
    """Index the objects that killed workers left half-filled under `root` (their sidecars, which no live recorder
    holds locked); returns how many."""
    recovered = 0
    for sidecar in sorted(root.glob(f"*/*/*/*/*.ts{SIDECAR}")):
        try:
            held = sidecar.open("r")
        except FileNotFoundError:  # indexed meanwhile
            continue
        with held:
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a recorder of another worker on this disk is filling it
                continue
            row = _recovered_row(root, sidecar)
        if row is not None:
            segment_indexer.add(row)
            recovered += 1
    segment_indexer.flush()
    return recovered


def _recovered_row(root: Path, sidecar: Path) -> SegmentRow | None:
    media = sidecar.with_suffix("")  # <ms>.ts
    relative = media.relative_to(root).as_posix()
    tenant_id, slug = relative.split("/")[:2]
    camera = Camera.objects.filter(tenant_id=tenant_id, slug=slug).first()
    sizes, durations = [], []
    for line in sidecar.read_text().splitlines():
        size, _, duration = line.partition(" ")
        if not (size.isdigit() and duration.replace(".", "", 1).isdigit()):
            break  # the line being written when the worker died
        sizes.append(int(size))
        durations.append(float(duration))
    if camera is None or not sizes or Segment.objects.filter(path=relative).exists():
        if camera is None or not sizes:
            media.unlink(missing_ok=True)
        sidecar.unlink()
        return None
    with media.open("r+b") as data:
        data.truncate(sum(sizes))
    start = datetime.fromtimestamp(int(media.stem) / 1000, tz=UTC)
    logger.info("recovered %s (%d parts) that a stopped worker had not indexed", relative, len(sizes))
    return SegmentRow(
        tenant_id, camera.pk, start, round(sum(durations), 3), sum(sizes), relative, sizes, durations,
        settings.VMS_NODE_NAME,
    )  # fmt: skip


def waiting_uploads() -> QuerySet[Segment]:
    """This node's objects that are not in the bucket yet."""
    return Segment.objects.filter(node=settings.VMS_NODE_NAME, uploaded_at__isnull=True)


def upload_objects(bucket: storage.Bucket) -> int:
    """Upload this node's objects that are not in the bucket yet, oldest first; returns how many went up."""
    uploaded = 0
    waiting = waiting_uploads().order_by("start")
    while rows := list(waiting.values_list("pk", "path")[:BATCH]):
        for pk, path in rows:
            local = settings.VMS_RECORDINGS_ROOT / path
            if not local.is_file():  # gone from the disk (deleted by hand): nothing can be served of it any more
                logger.error("%s is indexed but neither on this node's disk nor in the bucket: dropped", path)
                Segment.objects.filter(pk=pk).delete()
                continue
            bucket.put(path, local, TS_CONTENT_TYPE)
            Segment.objects.filter(pk=pk).update(uploaded_at=timezone.now())
            uploaded += 1
    return uploaded


def evict_objects(now: datetime) -> int:
    """Take uploaded objects off this node's disk: those past the hot window, and while disk is short, the oldest
    uploaded ones, then (logged) the oldest not uploaded. Returns how many objects left the disk."""
    on_node = Segment.objects.filter(node=settings.VMS_NODE_NAME)
    cutoff = now - timedelta(seconds=settings.VMS_HOT_WINDOW_S)
    evicted = _evict(on_node.filter(uploaded_at__isnull=False, start__lt=cutoff))
    floor = settings.VMS_RECORDINGS_MIN_FREE_MB * MB
    while free_bytes() < floor and (taken := _evict(on_node.filter(uploaded_at__isnull=False), BATCH)):
        evicted += taken
    while free_bytes() < floor and (oldest := list(on_node.order_by("start").values_list("pk", flat=True)[:BATCH])):
        count, _ = delete_segments(Segment.objects.filter(pk__in=oldest))
        logger.error("disk under VMS_RECORDINGS_MIN_FREE_MB: deleted the %d oldest objects not uploaded yet", count)
        evicted += count
    return evicted


def sweep_orphans(root: Path, now: float) -> int:
    """Delete the object files under `root` older than the hot window that the index does not know and no recorder
    is filling or has left for recovery (no sidecar): what retention or a camera's deletion, run on another machine,
    left on this node's disk. Returns how many went."""
    cutoff = now - max(settings.VMS_HOT_WINDOW_S, ORPHAN_MIN_AGE_S)
    found = [
        file
        for file in root.glob("*/*/*/*/*.ts")
        if file.stat().st_mtime < cutoff and not file.with_name(file.name + SIDECAR).exists()
    ]
    swept = []
    for start in range(0, len(found), BATCH):
        batch = {file.relative_to(root).as_posix(): file for file in found[start : start + BATCH]}
        indexed = set(Segment.objects.filter(path__in=list(batch)).values_list("path", flat=True))
        swept += [path for path in batch if path not in indexed]
    remove_local_files(swept)
    if swept:
        logger.info("removed %d object files that the index no longer knows", len(swept))
    return len(swept)


def _evict(objects, limit: int | None = None) -> int:
    rows = list(objects.order_by("start").values_list("pk", "path")[:limit])
    remove_local_files([path for _, path in rows])
    Segment.objects.filter(pk__in=[pk for pk, _ in rows]).update(node="")
    return len(rows)


class MediaKeeper:
    """Runs recover (once it succeeds), upload and evict every VMS_SEGMENT_SECONDS, and sweep now and then, in a
    daemon thread. Only recover runs without a bucket: then retention runs where the recordings are."""

    def __init__(self) -> None:
        self.unreachable = False

    def start(self) -> None:
        threading.Thread(target=self._run, name="media keeper", daemon=True).start()

    def _run(self) -> None:
        recovered, swept = False, time.monotonic()
        while True:
            if not recovered:  # until PostgreSQL lets it finish
                recovered = self._attempt(lambda: recover_objects(settings.VMS_RECORDINGS_ROOT))
            if (bucket := storage.bucket()) is not None:
                self._attempt(partial(self._upload, bucket))
                self._attempt(lambda: evict_objects(timezone.now()))  # during an outage too: the disk floor
                self._attempt(self._report_backlog)
                if time.monotonic() - swept > SWEEP_EVERY_S:
                    swept = time.monotonic()
                    self._attempt(lambda: sweep_orphans(settings.VMS_RECORDINGS_ROOT, time.time()))
            time.sleep(settings.VMS_SEGMENT_SECONDS)

    def _upload(self, bucket: storage.Bucket) -> None:
        try:
            upload_objects(bucket)
        except storage.StorageUnavailable:
            if not self.unreachable:
                logger.warning("the bucket is unreachable: recordings wait on this node's disk", exc_info=True)
            self.unreachable = True
            return
        if self.unreachable:
            logger.info("the bucket answers again: what waited is uploaded")
        self.unreachable = False

    @staticmethod
    def _report_backlog() -> None:
        report_upload_backlog(settings.VMS_NODE_NAME, waiting_uploads().count())

    @staticmethod
    def _attempt(step) -> bool:
        """One step; False when it failed (logged): it is tried again next time."""
        try:
            step()
        except Exception:  # PostgreSQL, Redis or the bucket away: the next step tries again
            logger.warning("media keeper step failed; trying again", exc_info=True)
            connection.close()
            return False
        return True
