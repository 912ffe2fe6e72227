"""A camera's latest frame (`/v2/hls/<camera>/latest.jpg`), made on request from its newest recorded part (read from
this machine's disk, else from the bucket), and kept on the web node's disk.

Decoding a frame costs a recorder more CPU than its whole stream copy, so it is done only when someone looks, at
most once per VMS_SNAPSHOT_SECONDS per camera, and never again while no newer segment has been recorded.
"""

import os
import time
import uuid
from pathlib import Path

from django.conf import settings

from cameras.models import Camera

from . import storage
from .paths import latest_snapshot
from .playlists import Part, newest_part


def latest_frame(camera: Camera) -> Path:
    """The path of the camera's latest.jpg, refreshed first when it is stale (it may not exist: no recording)."""
    target = latest_snapshot(camera.tenant_id, camera.slug)
    try:
        made = target.stat().st_mtime
    except FileNotFoundError:
        made = 0.0
    if time.time() - made < settings.VMS_SNAPSHOT_SECONDS:
        return target
    newest = newest_part(camera)
    # A part is listed once written: one that ended before the snapshot was made may be its source already.
    if newest is not None and newest.end.timestamp() > made and (data := _part_bytes(newest)):
        write_first_frame(data, target)
    return target


def _part_bytes(part: Part) -> bytes | None:
    """The part's bytes from this machine's disk, else from the bucket; None where neither has them now."""
    try:
        return b"".join(storage.read_range(part.path, part.offset, part.size))
    except (FileNotFoundError, storage.StorageUnavailable):  # retention took it, or the bucket is away: keep the last
        return None


def write_first_frame(part: bytes, target: Path) -> None:
    """Decode the part's first frame (a key frame) into `target` as JPEG, replaced atomically."""
    import cv2  # late: only this view needs OpenCV in the web process

    # Unique per writer: two requests refreshing it at once must not share a temporary file.
    unique = uuid.uuid4().hex
    target.parent.mkdir(parents=True, exist_ok=True)  # a web node of another machine has no folder of the camera
    source = target.with_name(f".{target.name}.{unique}.ts")
    source.write_bytes(part)
    try:
        capture = cv2.VideoCapture(str(source))
        ok, frame = capture.read()
        capture.release()
    finally:
        source.unlink()
    if not ok:  # unreadable: keep the previous frame
        return
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    tmp = target.with_name(f".{target.name}.{unique}")
    tmp.write_bytes(jpeg.tobytes())
    os.replace(tmp, target)
