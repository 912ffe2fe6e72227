"""Playback built from the Segment index: hour windows, timeline, event offsets and HLS playlists.

A playlist's segments are the 2 s parts of the recorded objects (a camera-minute each), addressed inside them with
#EXT-X-BYTERANGE; the objects a recorder has not had indexed yet come from Redis (unindexed.py), so live and the
current hour show each part as soon as it is written. Object URLs in a playlist are root-relative (same origin for
hls.js) and signed for the tenant, so players fetch them without the JWT and a URL can serve no other tenant's file.
"""

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import F, Func, Sum
from django.db.models.functions import ExtractHour

from cameras.models import Camera

from . import unindexed
from .models import Segment
from .paths import hour_parts, hour_url, url_for_file
from .signing import signed_url

HOUR = timedelta(hours=1)
# A later start than the previous segment's end by more than this is a gap (#EXT-X-DISCONTINUITY);
# it absorbs the rounding of segment start times.
GAP_TOLERANCE = 1.0
# An hour's playlist stays a growing EVENT playlist this long after the hour, while its last segment is indexed.
HOUR_GRACE = timedelta(seconds=30)
DEFAULT_TARGET_DURATION = 2
LIVE_WINDOW = 6
# Only parts this recent make a live playlist; an older one means the camera is not streaming now.
LIVE_LOOKBACK = timedelta(seconds=30)
# An object starts at most this long before the last moment it covers (VMS_OBJECT_SECONDS is at most 300).
LONGEST_OBJECT = timedelta(minutes=6)
# Live media sequence numbers are day-number * this + the segment's number within its UTC day, so they never
# go back (not even when retention purges old segments) and need only one day's rows to count.
SEQUENCE_PER_DAY = 1_000_000
PART_COUNT = Func(F("sizes"), function="cardinality")


class Part(NamedTuple):
    """A 2 s HLS segment: `size` bytes at `offset` of the object at `path`, its `index`-th part."""

    start: datetime
    duration: float
    path: str
    offset: int
    size: int
    index: int
    object_start: datetime

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration)


def object_parts(path: str, start: datetime, sizes: list[int], durations: list[float]) -> Iterator[Part]:
    moment, offset = start, 0
    for index, (size, duration) in enumerate(zip(sizes, durations, strict=True)):
        yield Part(moment, duration, path, offset, size, index, start)
        moment, offset = moment + timedelta(seconds=duration), offset + size


def _parts(camera: Camera, start: datetime, end: datetime) -> list[Part]:
    """The camera's parts that start within [start, end), indexed or not yet, oldest first."""
    objects = Segment.objects.filter(camera=camera, start__gte=start - LONGEST_OBJECT, start__lt=end)
    rows = list(objects.order_by("start").values_list("path", "start", "sizes", "durations"))
    indexed = {row[0] for row in rows}
    rows += [(o.path, o.start_time, o.sizes, o.durations) for o in _servable_unindexed(camera) if o.path not in indexed]
    found = [part for row in rows for part in object_parts(*row) if start <= part.start < end]
    return sorted(found, key=lambda part: part.start)


def hour_start(day: str, hour: str) -> datetime | None:
    """The aware UTC start of `YYYY-MM-DD` / `HH` folder names; None when they name no real hour."""
    try:
        start = datetime.strptime(f"{day} {hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    except ValueError:
        return None
    return start if hour_parts(start) == (day, hour) else None


def hour_is_over(start: datetime, now: datetime) -> bool:
    return now >= start + HOUR + HOUR_GRACE


def newest_part(camera: Camera) -> Part | None:
    """The camera's last recorded part, however old (None before any recording)."""
    listed = [(o.path, o.start_time, o.sizes, o.durations) for o in _servable_unindexed(camera) if o.sizes]
    row = Segment.objects.filter(camera=camera).order_by("-start").values_list("path", "start", "sizes", "durations")
    newest = max([*listed, *row[:1]], key=lambda found: found[1], default=None)
    return [*object_parts(*newest)][-1] if newest else None


def _servable_unindexed(camera: Camera) -> list[unindexed.UnindexedObject]:
    """The camera's unindexed objects that this machine can serve: they are on its recorder's disk only until they
    are indexed and uploaded, so a web node of another machine lists a camera's parts from the bucket's objects."""
    return [o for o in unindexed.read(camera.pk) if (settings.VMS_RECORDINGS_ROOT / o.path).is_file()]


def recorded_parts(camera: Camera, start: datetime) -> list[Part]:
    """The camera's parts that start within the hour beginning at `start`, oldest first."""
    return _parts(camera, start, start + HOUR)


def signed_hour_url(tenant_id: str, camera_slug: str, start: datetime) -> str:
    return signed_url(hour_url(camera_slug, *hour_parts(start)), tenant_id)


def timeline(camera: Camera, day: date) -> list[dict]:
    """The hours of `day` (UTC) that have indexed recordings: covered seconds, HLS segment (part) count and a signed
    playlist URL."""
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    hours = (
        Segment.objects.filter(camera=camera, start__gte=day_start, start__lt=day_start + 24 * HOUR)
        .annotate(hour=ExtractHour("start"))
        .values("hour")
        .annotate(seconds=Sum("duration"), segments=Sum(PART_COUNT))
        .order_by("hour")
    )
    return [
        {
            "hour": row["hour"],
            "seconds": round(row["seconds"], 3),
            "segments": row["segments"],
            "playlist_url": signed_hour_url(camera.tenant_id, camera.slug, day_start + row["hour"] * HOUR),
        }
        for row in hours
    ]


# Recorded spans of a day, in one query: a segment opens a new span when it starts more than GAP_TOLERANCE after
# every earlier segment has ended (gaps and islands: a running count of the openings numbers the spans). Segments
# that start up to an hour before the day are read too, so a span running over midnight is clipped, not lost.
SPANS_SQL = f"""
WITH segment AS (
    SELECT start, start + duration * interval '1 second' AS "end"
    FROM {Segment._meta.db_table}
    WHERE camera_id = %(camera)s AND start >= %(day_start)s - interval '1 hour' AND start < %(day_end)s
      AND start + duration * interval '1 second' > %(day_start)s
), opening AS (
    SELECT start, "end",
           CASE WHEN start - max("end") OVER earlier <= %(tolerance)s * interval '1 second' THEN 0 ELSE 1 END AS opens
    FROM segment
    WINDOW earlier AS (ORDER BY start ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), numbered AS (
    SELECT start, "end", sum(opens) OVER (ORDER BY start ROWS UNBOUNDED PRECEDING) AS span FROM opening
)
SELECT greatest(min(start), %(day_start)s), least(max("end"), %(day_end)s) FROM numbered GROUP BY span ORDER BY 1
"""


def recorded_spans(camera: Camera, day: date) -> list[dict]:
    """The recorded [start, end] spans of `day` (UTC), oldest first, clipped to the day: a gap longer than
    GAP_TOLERANCE between segments (as in the playlists' #EXT-X-DISCONTINUITY) separates two spans."""
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    params = {"camera": camera.pk, "day_start": day_start, "day_end": day_start + 24 * HOUR, "tolerance": GAP_TOLERANCE}
    with connection.cursor() as cursor:
        cursor.execute(SPANS_SQL, params)
        return [{"start": start, "end": end} for start, end in cursor.fetchall()]


def playlist_offset(parts: list[Part], moment: datetime) -> float | None:
    """Seconds of playback before `moment` in a playlist of `parts`; gaps take no playback time.

    A moment before the first part or inside a gap plays from the next part; None when no part ends after `moment`.
    """
    elapsed = 0.0
    for part in parts:
        if moment < part.end:
            return elapsed + max(0.0, (moment - part.start).total_seconds())
        elapsed += part.duration
    return None


def _is_gap(previous: Part, part: Part) -> bool:
    return (part.start - previous.end).total_seconds() > GAP_TOLERANCE


def render_playlist(
    parts: list[Part],
    tenant_id: str,
    *,
    playlist_type: str | None = None,
    media_sequence: int = 0,
    ended: bool = False,
) -> str:
    """An HLS (RFC 8216, version 4 for #EXT-X-BYTERANGE) media playlist of `parts` with signed URLs.

    Each run of contiguous parts opens with #EXT-X-PROGRAM-DATE-TIME (wall clock for the SPA's timeline);
    a gap between runs is an #EXT-X-DISCONTINUITY.
    """
    # RFC 8216 4.3.3.1: every EXTINF rounded to the nearest integer must not exceed the target duration.
    target = max((math.floor(p.duration + 0.5) for p in parts), default=DEFAULT_TARGET_DURATION)
    lines = ["#EXTM3U", "#EXT-X-VERSION:4", f"#EXT-X-TARGETDURATION:{max(target, 1)}"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}")
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    previous, urls = None, {}
    for part in parts:
        if previous is None or _is_gap(previous, part):
            if previous is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{part.start.isoformat(timespec='milliseconds')}")
        lines.append(f"#EXTINF:{part.duration:.3f},")
        lines.append(f"#EXT-X-BYTERANGE:{part.size}@{part.offset}")
        if part.path not in urls:
            urls[part.path] = signed_url(url_for_file(part.path), tenant_id)
        lines.append(urls[part.path])
        previous = part
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def hour_playlist(camera: Camera, start: datetime, now: datetime) -> str | None:
    """The hour's playlist: VOD with #EXT-X-ENDLIST once the hour is over, else a growing EVENT playlist.

    None for a future hour, or a finished hour without recordings.
    """
    if start > now:
        return None
    parts = recorded_parts(camera, start)
    over = hour_is_over(start, now)
    if over and not parts:
        return None
    return render_playlist(parts, camera.tenant_id, playlist_type="VOD" if over else "EVENT", ended=over)


def live_playlist(camera: Camera, now: datetime) -> str:
    """A sliding window of the camera's newest contiguous parts; empty while the camera is not recording.

    The window never spans a gap: after one it restarts with the parts recorded since, so it needs no
    discontinuity bookkeeping. hls.js re-aligns across that jump by #EXT-X-PROGRAM-DATE-TIME.
    """
    window = _parts(camera, now - LIVE_LOOKBACK, now + HOUR)[-LIVE_WINDOW:]
    for i in range(len(window) - 1, 0, -1):
        if _is_gap(window[i - 1], window[i]):
            window = window[i:]
            break
    sequence = _sequence(camera, window[0]) if window else 0
    return render_playlist(window, camera.tenant_id, media_sequence=sequence)


def _sequence(camera: Camera, first: Part) -> int:
    """The live media sequence number of `first`: the parts of its UTC day before it, after the day's number (an
    object's parts all start within one minute, so within its first part's day)."""
    day_start = first.object_start.replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = Segment.objects.filter(camera=camera, start__gte=day_start, start__lt=first.object_start)
    count = earlier.aggregate(parts=Sum(PART_COUNT))["parts"] or 0
    waiting = {o.path: o for o in _servable_unindexed(camera) if day_start <= o.start_time < first.object_start}
    waiting_indexed = set(earlier.filter(path__in=list(waiting)).values_list("path", flat=True)) if waiting else set()
    count += sum(len(o.sizes) for path, o in waiting.items() if path not in waiting_indexed)
    return (day_start - datetime(1970, 1, 1, tzinfo=UTC)).days * SEQUENCE_PER_DAY + count + first.index
