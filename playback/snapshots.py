"""A camera's latest frame (`/v2/hls/<camera>/latest.jpg`), made on request from its newest recorded segment.

Decoding a frame costs a recorder more CPU than its whole stream copy, so it is done only when someone looks, at
most once per VMS_SNAPSHOT_SECONDS per camera, and never again while no newer segment has been recorded.
"""

import os
import time
import uuid
from pathlib import Path

from django.conf import settings

from cameras.models import Camera

from .models import Segment
from .paths import latest_snapshot


def latest_frame(camera: Camera) -> Path:
    """The path of the camera's latest.jpg, refreshed first when it is stale (it may not exist: no recording)."""
    target = latest_snapshot(camera.tenant_id, camera.slug)
    try:
        made = target.stat().st_mtime
    except FileNotFoundError:
        made = 0.0
    if time.time() - made < settings.VMS_SNAPSHOT_SECONDS:
        return target
    newest = Segment.objects.filter(camera=camera).order_by("-start").only("start", "duration", "path").first()
    # A segment is indexed after it ends: one that ended before the snapshot was made may be its source already.
    if newest is not None and newest.start.timestamp() + newest.duration > made:
        write_first_frame(settings.VMS_RECORDINGS_ROOT / newest.path, target)
    return target


def write_first_frame(segment: Path, target: Path) -> None:
    """Decode the segment's first frame (a key frame) into `target` as JPEG, replaced atomically."""
    import cv2  # late: only this view needs OpenCV in the web process

    capture = cv2.VideoCapture(str(segment))
    ok, frame = capture.read()
    capture.release()
    if not ok:  # unreadable or deleted by retention meanwhile: keep the previous frame
        return
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    # Unique per writer: two requests refreshing it at once must not write into one temporary file.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    tmp.write_bytes(jpeg.tobytes())
    os.replace(tmp, target)
