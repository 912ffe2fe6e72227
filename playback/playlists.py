"""Playback built from the Segment index: hour windows, timeline, event offsets and HLS playlists.

A playlist's segments are the 2 s parts of the recorded objects (a camera-minute each), addressed inside them with
#EXT-X-BYTERANGE; the objects a recorder has not had indexed yet come from Redis (unindexed.py), so live and the
current hour show each part as soon as it is written. Object URLs in a playlist are root-relative (same origin for
hls.js) and signed for the tenant, so players fetch them without the JWT and a URL can serve no other tenant's file.
"""

import math
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate, chain, pairwise
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import F, Func, Sum

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


class Run(NamedTuple):
    """Consecutive parts of one object, as a playlist lists them: the i-th starts at starts[i] and ends at
    starts[i + 1], and is sizes[i] bytes at offsets[i] of the object at `path`."""

    path: str
    starts: list[datetime]
    sizes: list[int]
    durations: list[float]
    offsets: list[int]


def object_parts(path: str, start: datetime, sizes: list[int], durations: list[float]) -> Iterator[Part]:
    moment, offset = start, 0
    for index, (size, duration) in enumerate(zip(sizes, durations, strict=True)):
        yield Part(moment, duration, path, offset, size, index, start)
        moment, offset = moment + timedelta(seconds=duration), offset + size


@lru_cache(maxsize=4096)
def _seconds(duration: float) -> timedelta:
    """timedelta(seconds=duration), made once for each of the few durations that parts have over and over."""
    return timedelta(seconds=duration)


def object_run(
    path: str, start: datetime, sizes: list[int], durations: list[float], since: datetime, until: datetime
) -> Run | None:
    """The parts of an object that start within [since, until), as a Run (None when none does).

    A part's start is its object's plus the timedelta of each duration before it, as in object_parts; here the sums
    and offsets are made by itertools in C, as an hour of parts made one Part at a time cost several times its query.
    """
    starts = list(accumulate(map(_seconds, durations), initial=start))
    first = bisect_left(starts, since, 0, len(sizes))
    stop = bisect_left(starts, until, first, len(sizes))
    if first == stop:
        return None
    offsets = list(accumulate(sizes, initial=0))
    return Run(path, starts[first : stop + 1], sizes[first:stop], durations[first:stop], offsets[first:stop])


def runs_of(parts: list[Part]) -> list[Run]:
    """Parts in playlist order as runs: a part that follows its object's previous part continues that run."""
    runs: list[Run] = []
    previous = None
    for part in parts:
        if previous is not None and (part.path, part.index) == (previous.path, previous.index + 1):
            run = runs[-1]
            run.starts.append(part.end)
        else:
            run = Run(part.path, [part.start, part.end], [], [], [])
            runs.append(run)
        run.sizes.append(part.size)
        run.durations.append(part.duration)
        run.offsets.append(part.offset)
        previous = part
    return runs


def _objects(camera: Camera, start: datetime, end: datetime) -> list[tuple[str, datetime, list[int], list[float]]]:
    """(path, start, sizes, durations) of the camera's objects that may have parts starting within [start, end),
    indexed (in start order) or not yet (after them)."""
    objects = Segment.objects.filter(camera=camera, start__gte=start - LONGEST_OBJECT, start__lt=end)
    rows = list(objects.order_by("start").values_list("path", "start", "sizes", "durations"))
    indexed = {row[0] for row in rows}
    rows += [(o.path, o.start_time, o.sizes, o.durations) for o in _servable_unindexed(camera) if o.path not in indexed]
    return rows


def _parts_in(rows: list, start: datetime, end: datetime) -> list[Part]:
    found = [part for row in rows for part in object_parts(*row) if start <= part.start < end]
    return sorted(found, key=lambda part: part.start)


def _parts(camera: Camera, start: datetime, end: datetime) -> list[Part]:
    """The camera's parts that start within [start, end), indexed or not yet, oldest first."""
    return _parts_in(_objects(camera, start, end), start, end)


def recorded_runs(camera: Camera, start: datetime, end: datetime) -> list[Run]:
    """_parts as runs, made an object at a time; objects that overlap (their parts interleave) are read part by
    part."""
    rows = _objects(camera, start, end)
    runs = [run for row in rows if (run := object_run(*row, start, end))]
    if any(later.starts[0] < earlier.starts[-2] for earlier, later in pairwise(runs)):
        return runs_of(_parts_in(rows, start, end))
    return runs


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


# The hours of a day with recordings, in one statement written out like SPANS_SQL: the ORM took longer to compile
# this aggregate than PostgreSQL to run it.
HOURS_SQL = f"""
SELECT extract(hour FROM start AT TIME ZONE 'UTC')::integer, sum(duration), sum(cardinality(sizes))
FROM {Segment._meta.db_table}
WHERE camera_id = %(camera)s AND start >= %(day_start)s AND start < %(day_end)s
GROUP BY 1 ORDER BY 1
"""


def timeline(camera: Camera, day: date) -> list[dict]:
    """The hours of `day` (UTC) that have indexed recordings: covered seconds, HLS segment (part) count and a signed
    playlist URL."""
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(HOURS_SQL, {"camera": camera.pk, "day_start": day_start, "day_end": day_start + 24 * HOUR})
        hours = cursor.fetchall()
    return [
        {
            "hour": hour,
            "seconds": round(seconds, 3),
            "segments": segments,
            "playlist_url": signed_hour_url(camera.tenant_id, camera.slug, day_start + hour * HOUR),
        }
        for hour, seconds, segments in hours
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


def _is_gap(end: datetime, start: datetime) -> bool:
    """Whether a part starting at `start` does not continue one that ended at `end`."""
    return (start - end).total_seconds() > GAP_TOLERANCE


def render_playlist(
    runs: list[Run],
    tenant_id: str,
    *,
    playlist_type: str | None = None,
    media_sequence: int = 0,
    ended: bool = False,
    ttl: int | None = None,
) -> str:
    """An HLS (RFC 8216, version 4 for #EXT-X-BYTERANGE) media playlist of the parts of `runs` with signed URLs,
    valid `ttl` seconds (default VMS_MEDIA_URL_TTL).

    Each stretch of contiguous parts opens with #EXT-X-PROGRAM-DATE-TIME (wall clock for the SPA's timeline);
    a gap between them is an #EXT-X-DISCONTINUITY. A run's own parts are contiguous (each starts where the one before
    it ends), so only where one run meets the next can there be a gap.
    """
    # RFC 8216 4.3.3.1: every EXTINF rounded to the nearest integer must not exceed the target duration.
    target = max((math.floor(max(run.durations) + 0.5) for run in runs), default=DEFAULT_TARGET_DURATION)
    lines = ["#EXTM3U", "#EXT-X-VERSION:4", f"#EXT-X-TARGETDURATION:{max(target, 1)}"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}")
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    previous, urls = None, {}
    for run in runs:
        if previous is None or _is_gap(previous.starts[-1], run.starts[0]):
            if previous is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{run.starts[0].isoformat(timespec='milliseconds')}")
        if run.path not in urls:
            urls[run.path] = signed_url(url_for_file(run.path), tenant_id, ttl)
        # One %-format of the whole run: a part's three lines made one at a time cost more than the index query.
        part = "#EXTINF:%.3f,\n#EXT-X-BYTERANGE:%d@%d\n" + urls[run.path].replace("%", "%%")
        values = chain.from_iterable(zip(run.durations, run.sizes, run.offsets, strict=True))
        lines.append("\n".join([part] * len(run.sizes)) % tuple(values))
        previous = run
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def hour_playlist(camera: Camera, start: datetime, now: datetime) -> str | None:
    """The hour's playlist: VOD with #EXT-X-ENDLIST once the hour is over, else a growing EVENT playlist.

    None for a future hour, or a finished hour without recordings.
    """
    if start > now:
        return None
    runs = recorded_runs(camera, start, start + HOUR)
    over = hour_is_over(start, now)
    if over and not runs:
        return None
    return render_playlist(runs, camera.tenant_id, playlist_type="VOD" if over else "EVENT", ended=over)


def live_playlist(camera: Camera, now: datetime) -> str:
    """A sliding window of the camera's newest contiguous parts; empty while the camera is not recording.

    The window never spans a gap: after one it restarts with the parts recorded since, so it needs no
    discontinuity bookkeeping. hls.js re-aligns across that jump by #EXT-X-PROGRAM-DATE-TIME.
    """
    window = _parts(camera, now - LIVE_LOOKBACK, now + HOUR)[-LIVE_WINDOW:]
    for i in range(len(window) - 1, 0, -1):
        if _is_gap(window[i - 1].end, window[i].start):
            window = window[i:]
            break
    sequence = _sequence(camera, window[0]) if window else 0
    return render_playlist(runs_of(window), camera.tenant_id, media_sequence=sequence)


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
