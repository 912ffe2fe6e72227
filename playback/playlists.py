"""Playback built from the Segment index: hour windows, timeline, event offsets and HLS playlists.

Segment URLs in a playlist are root-relative (same origin for hls.js) and signed for the tenant, so
players fetch them without the JWT and a URL can serve no other tenant's file.
"""

import math
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import ExtractHour

from cameras.models import Camera

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
# Only segments this recent make a live playlist; an older one means the camera is not streaming now.
LIVE_LOOKBACK = timedelta(seconds=30)
# Live media sequence numbers are day-number * this + the segment's number within its UTC day, so they never
# go back (not even when retention purges old segments) and need only one day's rows to count.
SEQUENCE_PER_DAY = 1_000_000


class IndexedSegment(NamedTuple):
    start: datetime
    duration: float
    path: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration)


def hour_start(day: str, hour: str) -> datetime | None:
    """The aware UTC start of `YYYY-MM-DD` / `HH` folder names; None when they name no real hour."""
    try:
        start = datetime.strptime(f"{day} {hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    except ValueError:
        return None
    return start if hour_parts(start) == (day, hour) else None


def hour_is_over(start: datetime, now: datetime) -> bool:
    return now >= start + HOUR + HOUR_GRACE


def _rows(queryset) -> list[IndexedSegment]:
    return [IndexedSegment(*row) for row in queryset.values_list("start", "duration", "path")]


def hour_segments(camera: Camera, start: datetime) -> list[IndexedSegment]:
    """The camera's segments that start within the hour beginning at `start`, oldest first."""
    return _rows(Segment.objects.filter(camera=camera, start__gte=start, start__lt=start + HOUR).order_by("start"))


def signed_hour_url(tenant_id: str, camera_slug: str, start: datetime) -> str:
    return signed_url(hour_url(camera_slug, *hour_parts(start)), tenant_id)


def timeline(camera: Camera, day: date) -> list[dict]:
    """The hours of `day` (UTC) that have segments: covered seconds, segment count and a signed playlist URL."""
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    hours = (
        Segment.objects.filter(camera=camera, start__gte=day_start, start__lt=day_start + 24 * HOUR)
        .annotate(hour=ExtractHour("start"))
        .values("hour")
        .annotate(seconds=Sum("duration"), segments=Count("id"))
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


def playlist_offset(segments: list[IndexedSegment], moment: datetime) -> float | None:
    """Seconds of playback before `moment` in a playlist of `segments`; gaps take no playback time.

    A moment before the first segment or inside a gap plays from the next segment; None when no segment ends
    after `moment`.
    """
    elapsed = 0.0
    for segment in segments:
        if moment < segment.end:
            return elapsed + max(0.0, (moment - segment.start).total_seconds())
        elapsed += segment.duration
    return None


def _is_gap(previous: IndexedSegment, segment: IndexedSegment) -> bool:
    return (segment.start - previous.end).total_seconds() > GAP_TOLERANCE


def render_playlist(
    segments: list[IndexedSegment],
    tenant_id: str,
    *,
    playlist_type: str | None = None,
    media_sequence: int = 0,
    ended: bool = False,
) -> str:
    """An HLS (RFC 8216, version 3) media playlist of `segments` with signed URLs.

    Each run of contiguous segments opens with #EXT-X-PROGRAM-DATE-TIME (wall clock for the SPA's timeline);
    a gap between runs is an #EXT-X-DISCONTINUITY.
    """
    # RFC 8216 4.3.3.1: every EXTINF rounded to the nearest integer must not exceed the target duration.
    target = max((math.floor(s.duration + 0.5) for s in segments), default=DEFAULT_TARGET_DURATION)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{max(target, 1)}"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}")
    if playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    previous = None
    for segment in segments:
        if previous is None or _is_gap(previous, segment):
            if previous is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{segment.start.isoformat(timespec='milliseconds')}")
        lines.append(f"#EXTINF:{segment.duration:.3f},")
        lines.append(signed_url(url_for_file(segment.path), tenant_id))
        previous = segment
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def hour_playlist(camera: Camera, start: datetime, now: datetime) -> str | None:
    """The hour's playlist: VOD with #EXT-X-ENDLIST once the hour is over, else a growing EVENT playlist.

    None for a future hour, or a finished hour without recordings.
    """
    if start > now:
        return None
    segments = hour_segments(camera, start)
    over = hour_is_over(start, now)
    if over and not segments:
        return None
    return render_playlist(segments, camera.tenant_id, playlist_type="VOD" if over else "EVENT", ended=over)


def live_playlist(camera: Camera, now: datetime) -> str:
    """A sliding window of the camera's newest contiguous segments; empty while the camera is not recording.

    The window never spans a gap: after one it restarts with the segments recorded since, so it needs no
    discontinuity bookkeeping. hls.js re-aligns across that jump by #EXT-X-PROGRAM-DATE-TIME.
    """
    newest = Segment.objects.filter(camera=camera, start__gte=now - LIVE_LOOKBACK).order_by("-start")
    window = _rows(newest[:LIVE_WINDOW])[::-1]
    for i in range(len(window) - 1, 0, -1):
        if _is_gap(window[i - 1], window[i]):
            window = window[i:]
            break
    sequence = 0
    if window:
        first = window[0].start
        day_start = first.replace(hour=0, minute=0, second=0, microsecond=0)
        earlier = Segment.objects.filter(camera=camera, start__gte=day_start, start__lt=first).count()
        sequence = (day_start - datetime(1970, 1, 1, tzinfo=UTC)).days * SEQUENCE_PER_DAY + earlier
    return render_playlist(window, camera.tenant_id, media_sequence=sequence)
