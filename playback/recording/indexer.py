"""The index writer: every recorder of a process hands it its closed objects (a camera-minute each, see recorder.py),
and they are stored with one COPY per part length (VMS_SEGMENT_SECONDS): an object is in the index about a part after
it closes, and its sidecar is removed then.

An ORM INSERT per segment per camera cost a recorder more CPU than ffmpeg's own copy of the stream; one COPY of
plain tuples costs a third of a bulk INSERT and is shared by all the cameras of a worker. There is no thread of
its own: whichever recorder wakes up after the rows are due stores them (recorders wake once per part).
Rows that cannot be stored (PostgreSQL restarting) are kept and retried, so recording goes on through a database
outage and the index catches up after it.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from cameras.models import Camera
from tenants.usage import record_many

from ..models import Segment

logger = logging.getLogger(__name__)


class SegmentRow(NamedTuple):
    """A Segment row, in the order of COPY_COLUMNS."""

    tenant_id: str
    camera_id: int
    start: datetime
    duration: float
    bytes: int
    path: str
    sizes: list[int]
    durations: list[float]
    node: str


COPY_COLUMNS = ", ".join(SegmentRow._fields)
SIDECAR = ".parts"  # beside an object that is being filled or not indexed yet: its parts, a line each


class SegmentIndexer:
    def __init__(self) -> None:
        self._pending: list[SegmentRow] = []
        self._due = 0.0
        self._lock = threading.Lock()

    def add(self, row: SegmentRow) -> None:
        """Queue a closed object's row, to be stored within VMS_SEGMENT_SECONDS."""
        with self._lock:
            if not self._pending:
                self._due = time.monotonic() + settings.VMS_SEGMENT_SECONDS
            self._pending.append(row)

    def flush_if_due(self) -> None:
        if self._pending and time.monotonic() >= self._due:
            self.flush()

    def flush(self) -> None:
        """Store the queued rows now; when the database fails they are kept for a later try."""
        with self._lock:
            rows, self._pending = self._pending, []
        if not rows:
            return
        if not attempt(lambda: _store(rows), f"index {len(rows)} objects (kept for the next try)"):
            with self._lock:
                self._pending[:0] = rows
                self._due = time.monotonic() + settings.VMS_SEGMENT_SECONDS
            return
        for row in rows:
            (settings.VMS_RECORDINGS_ROOT / (row.path + SIDECAR)).unlink(missing_ok=True)


def attempt(write: Callable[[], object], what: str) -> bool:
    """Run one of a recorder's database writes; False (logged) when it fails, and the caller keeps what it wanted
    written for a later try, so no database failure ever ends a recording. Any error counts, not only Django's
    DatabaseError: Django's InterfaceError is not one, and an error of the write's own must not end it either.
    The thread's connection is closed on failure. One it held from before a PostgreSQL restart fails at its first use
    after it, so a write on a connection it already held is tried once more, at once, on a new one: a recorder that
    stops just after an outage otherwise leaves its last objects to the next worker."""
    held = connection.connection is not None
    try:
        write()
    except Exception:
        connection.close()
        if held:
            return attempt(write, what)
        logger.warning("could not %s", what, exc_info=True)
        return False
    return True


def _store(rows: list[SegmentRow]) -> None:
    try:
        # The rows and their tenants' usage in one transaction: an object is counted iff it is indexed.
        with transaction.atomic():
            # psycopg's errors become Django's, as for a cursor's execute.
            with (
                connection.wrap_database_errors,
                connection.cursor() as cursor,
                cursor.copy(f"COPY {Segment._meta.db_table} ({COPY_COLUMNS}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            _count_usage(rows)
    except IntegrityError:
        # Rare: the camera of some rows was deleted meanwhile (its recordings with it), or a retry after a lost
        # reply finds rows already stored (same path: the same object, counted then). Store and count the others.
        kept = set(Camera.objects.filter(pk__in={row.camera_id for row in rows}).values_list("pk", flat=True))
        stored = set(Segment.objects.filter(path__in=[row.path for row in rows]).values_list("path", flat=True))
        new = [row for row in rows if row.camera_id in kept and row.path not in stored]
        with transaction.atomic():
            Segment.objects.bulk_create([Segment(**row._asdict()) for row in new], ignore_conflicts=True)
            _count_usage(new)


def _count_usage(rows: list[SegmentRow]) -> None:
    # On the day each object was recorded (a day an index catching up after an outage has left behind).
    record_many((r.tenant_id, r.start.date(), {"camera_seconds": r.duration, "recording_bytes": r.bytes}) for r in rows)


segment_indexer = SegmentIndexer()
