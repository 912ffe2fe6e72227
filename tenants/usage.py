"""What each tenant uses per UTC day (DailyUsage), counted where the work is done, for resellers to bill on.

Each count is one UPSERT that adds to the day's row (`INSERT … ON CONFLICT DO UPDATE SET x = x + EXCLUDED.x`), so
concurrent writers never lose one: PostgreSQL locks the row and adds the second to what the first committed. The
callers run it in the transaction of the work it counts (the segments' COPY, the events' INSERT, the export's `done`,
the webhook outcomes' UPDATE), so a count exists exactly when its work does, and it is current at the commit. That
costs one statement per batch the callers already make (a segment indexer flush, an event batch, an outcomes
chunk); no count waits in memory for a crash to lose.
"""

from collections.abc import Iterable, Mapping
from datetime import date

from django.db import connection
from django.utils import timezone

from .models import DailyUsage

COUNTERS = tuple(f.column for f in DailyUsage._meta.concrete_fields if f.name not in ("id", "tenant", "date"))
# Shown as they are; camera_seconds is shown as camera_hours.
WHOLE_COUNTERS = tuple(c for c in COUNTERS if c != "camera_seconds")
Counts = Mapping[str, float]


def camera_hours(camera_seconds: float) -> float:
    """Recording time as the API and the admin show it: hours, to 3 decimals (3.6 s)."""
    return round(camera_seconds / 3600, 3)


def today() -> date:
    """The UTC day work done now counts on."""
    return timezone.now().date()


def record(tenant_id: str, day: date | None = None, **counters: float) -> None:
    """Add `counters` (DailyUsage's counter fields, e.g. events=3) to the tenant's usage of `day` (today, UTC)."""
    record_many([(tenant_id, day or today(), counters)])


def record_many(counts: Iterable[tuple[str, date, Counts]]) -> None:
    """Add each (tenant id, day, counters) in one statement; those of one tenant and day are summed first."""
    rows: dict[tuple[str, date], dict[str, float]] = {}
    for tenant_id, day, counters in counts:
        if unknown := set(counters) - set(COUNTERS):
            raise TypeError(f"not a usage counter: {', '.join(sorted(unknown))}")
        row = rows.setdefault((tenant_id, day), dict.fromkeys(COUNTERS, 0))
        for name, value in counters.items():
            row[name] += value
    # Rows in key order: two writers adding to the same rows take their locks in the same order (no deadlock).
    keys = sorted(key for key, row in rows.items() if any(row.values()))
    if not keys:
        return
    table, columns = DailyUsage._meta.db_table, ", ".join(COUNTERS)
    additions = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in COUNTERS)
    values = ", ".join(["(%s, %s" + ", %s" * len(COUNTERS) + ")"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, date, {columns}) VALUES {values} "
            f"ON CONFLICT (tenant_id, date) DO UPDATE SET {additions}",
            [value for key in keys for value in (*key, *rows[key].values())],
        )
