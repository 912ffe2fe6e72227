"""The segment index writer: every recorder of a process hands it its finished segments, and they are stored
with one COPY per segment length (VMS_SEGMENT_SECONDS): a segment is in the index about a segment later.

An ORM INSERT per segment per camera cost a recorder more CPU than ffmpeg's own copy of the stream; one COPY of
plain tuples costs a third of a bulk INSERT and is shared by all the cameras of a worker. There is no thread of
its own: whichever recorder wakes up after the rows are due stores them (recorders wake once per segment).
Rows that cannot be stored (PostgreSQL restarting) are kept and retried, so recording goes on through a database
outage and the index catches up after it.
"""

import logging
import threading
import time
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection

from cameras.models import Camera

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


COPY_COLUMNS = ", ".join(SegmentRow._fields)


class SegmentIndexer:
    def __init__(self) -> None:
        self._pending: list[SegmentRow] = []
        self._due = 0.0
        self._lock = threading.Lock()

    def add(self, segment: SegmentRow) -> None:
        """Queue a segment's row, to be stored within VMS_SEGMENT_SECONDS."""
        with self._lock:
            if not self._pending:
                self._due = time.monotonic() + settings.VMS_SEGMENT_SECONDS
            self._pending.append(segment)

    def flush_if_due(self) -> None:
        if self._pending and time.monotonic() >= self._due:
            self.flush()

    def flush(self) -> None:
        """Store the queued rows now; when the database fails they are kept for a later try."""
        with self._lock:
            rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            _store(rows)
        except DatabaseError:
            logger.warning("could not index %d segments; retrying", len(rows), exc_info=True)
            connection.close()  # a connection broken by a PostgreSQL restart is replaced on the next try
            with self._lock:
                self._pending[:0] = rows
                self._due = time.monotonic() + settings.VMS_SEGMENT_SECONDS


def _store(rows: list[SegmentRow]) -> None:
    try:
        # One statement (atomic in autocommit); psycopg's errors become Django's, as for a cursor's execute.
        with (
            connection.wrap_database_errors,
            connection.cursor() as cursor,
            cursor.copy(f"COPY {Segment._meta.db_table} ({COPY_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    except IntegrityError:
        # Rare: the camera of some rows was deleted meanwhile (its recordings with it), or a retry after a lost
        # reply finds rows already stored (same path: the same file). Store the others one way that allows both.
        kept = set(Camera.objects.filter(pk__in={row.camera_id for row in rows}).values_list("pk", flat=True))
        segments = [Segment(**row._asdict()) for row in rows if row.camera_id in kept]
        Segment.objects.bulk_create(segments, ignore_conflicts=True)


segment_indexer = SegmentIndexer()
