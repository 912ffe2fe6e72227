"""Where recordings and snapshots live on disk and under /v2/hls/; one place for both layouts.

Disk:  <VMS_RECORDINGS_ROOT>/<tenant>/<camera>/<YYYY-MM-DD>/<HH>/<file>
URL:   /v2/hls/<camera>/<YYYY-MM-DD>/<HH>/<file>   (the tenant comes from the token or signature)
Live:  <VMS_RECORDINGS_ROOT>/<tenant>/<camera>/latest.jpg  ->  /v2/hls/<camera>/latest.jpg
"""

from datetime import datetime
from pathlib import Path

from django.conf import settings


def hour_parts(ts: datetime) -> tuple[str, str]:
    """The (date, hour) folder names of an aware UTC timestamp."""
    return ts.strftime("%Y-%m-%d"), ts.strftime("%H")


def hour_folder(tenant_id: str, camera_slug: str, date: str, hour: str) -> str:
    """The hour's folder relative to the recordings root, as Segment.path starts."""
    return f"{tenant_id}/{camera_slug}/{date}/{hour}"


def recordings_path(relative_path: str) -> Path:
    """The file of a path stored relative to the recordings root (Segment.path, an event's snapshot)."""
    return settings.VMS_RECORDINGS_ROOT / relative_path


def hour_dir(tenant_id: str, camera_slug: str, date: str, hour: str) -> Path:
    return settings.VMS_RECORDINGS_ROOT / hour_folder(tenant_id, camera_slug, date, hour)


def hour_url(camera_slug: str, date: str, hour: str, name: str = "index.m3u8") -> str:
    return f"/v2/hls/{camera_slug}/{date}/{hour}/{name}"


def latest_snapshot(tenant_id: str, camera_slug: str) -> Path:
    """The camera's most recent frame (made on request by snapshots.latest_frame), at /v2/hls/<camera>/latest.jpg."""
    return settings.VMS_RECORDINGS_ROOT / tenant_id / camera_slug / "latest.jpg"


def url_for_file(relative_path: str) -> str:
    """The /v2/hls URL of a file stored under the recordings root as `<tenant>/<camera>/<date>/<hour>/<file>`."""
    return "/v2/hls/" + relative_path.split("/", 1)[1]


def new_snapshot(tenant_id: str, camera_slug: str, ts: datetime) -> str:
    """A fresh snapshot's path relative to the recordings root (`snap-N.jpg`, N = epoch milliseconds)."""
    date, hour = hour_parts(ts)
    return f"{hour_folder(tenant_id, camera_slug, date, hour)}/snap-{int(ts.timestamp() * 1000)}.jpg"
