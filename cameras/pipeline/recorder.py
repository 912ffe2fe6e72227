"""The recorder: ffmpeg copies a camera's RTSP stream (never re-encoding) into .ts segments indexed in PostgreSQL.

ffmpeg's segment muxer writes `seg-N.ts` into a private staging folder and prints one CSV line per finished
segment on stdout (`-segment_list pipe:1`). Each finished segment is moved to
`<root>/<tenant>/<camera>/<YYYY-MM-DD>/<HH>/<epoch ms>.ts` (its start time) and gets a Segment row. Wall-clock
start = launch time + the segment's stream time, so consecutive segments are contiguous and a reconnect leaves
a gap. The camera goes online on the first segment and offline when ffmpeg exits or stalls; ffmpeg is restarted
with backoff. Every VMS_SNAPSHOT_SECONDS (0: never) the first (key) frame of the newest segment becomes latest.jpg.
"""

import ctypes
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from cameras.models import Camera
from cameras.rtsp import mask_password
from playback.models import Segment
from playback.paths import hour_dir, hour_parts, latest_snapshot

from .registry import ShouldStop
from .status import set_status
from .supervisor import report

logger = logging.getLogger(__name__)

KIND = "record"
MAX_RECONNECT_DELAY_S = 10
DRIFT_S = 10  # re-anchor wall-clock time when the stream clock has drifted this far from it
SEGMENT_LINE = re.compile(r"^(seg-\d+\.ts),(-?[\d.]+),(-?[\d.]+)$")
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # In the child before exec: the kernel SIGKILLs ffmpeg if the worker thread that started it dies (even by
    # SIGKILL), so a killed worker never leaves an orphan ffmpeg recording behind its expired lease.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def ffmpeg_argv(rtsp_url: str, staging: Path, segment_seconds: float) -> list[str]:
    """The recorder's ffmpeg command line: an argv list (never a shell string), stream copy only."""
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning",
        "-rtsp_transport", "tcp", "-timeout", "5000000",  # socket I/O timeout, microseconds
        "-i", rtsp_url,
        "-map", "0:v:0", "-c", "copy",
        "-f", "segment", "-segment_time", f"{segment_seconds:g}", "-segment_format", "mpegts",
        "-segment_list", "pipe:1", "-segment_list_type", "csv",
        str(staging / "seg-%d.ts"),
    ]  # fmt: skip


def run_recorder(camera: Camera, should_stop: ShouldStop) -> None:
    """Record the camera until should_stop(); reconnects with backoff while the stream is unreachable."""
    failures = 0
    while not should_stop():
        session = RecordingSession(camera)
        reason = session.run(should_stop)
        if should_stop():
            set_status(camera, Camera.Status.OFFLINE, "recorder stopped")
            return
        set_status(camera, Camera.Status.OFFLINE, reason)
        report(camera, KIND, reason)
        failures = 0 if session.indexed else failures + 1
        deadline = time.monotonic() + min(2**failures, MAX_RECONNECT_DELAY_S)
        while time.monotonic() < deadline and not should_stop():
            time.sleep(0.2)


class RecordingSession:
    """One ffmpeg run: from connecting to the stream until it ends, stalls or the recorder is stopped."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.segment_seconds = settings.VMS_SEGMENT_SECONDS
        camera_dir = settings.VMS_RECORDINGS_ROOT / camera.tenant_id / camera.slug
        self.staging = camera_dir / ".incoming" / uuid.uuid4().hex
        self.indexed = 0
        self.anchor = 0.0
        self.next_snapshot = 0.0
        self.output: deque[str] = deque(maxlen=5)

    def run(self, should_stop: ShouldStop) -> str:
        """Record until the stream ends or should_stop(); returns why it ended."""
        self.staging.mkdir(parents=True, exist_ok=True)
        lines: queue.Queue[str | None] = queue.Queue()
        self.anchor = time.time()
        proc = subprocess.Popen(
            ffmpeg_argv(self.camera.rtsp_url, self.staging, self.segment_seconds),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", preexec_fn=_die_with_parent,
        )  # fmt: skip
        reader = threading.Thread(target=_read_lines, args=(proc, lines), daemon=True)
        reader.start()
        try:
            reason = self._follow(proc, lines, should_stop)
        finally:
            _terminate(proc)
            reader.join()
            # ffmpeg closes its last segment on SIGTERM: index what it finished before exiting.
            while not lines.empty():
                if (line := lines.get()) is not None:
                    self._handle(line)
            shutil.rmtree(self.staging, ignore_errors=True)
        return reason

    def _follow(self, proc: subprocess.Popen, lines: queue.Queue, should_stop: ShouldStop) -> str:
        last_progress = time.monotonic()
        while not should_stop():
            # Before the first segment ffmpeg also connects and probes the stream; after it, a segment is due
            # every segment_seconds, so three missed ones mean the stream stalled without closing.
            stall_s = max(15, 4 * self.segment_seconds) if not self.indexed else 3 * self.segment_seconds + 2
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if time.monotonic() - last_progress > stall_s:
                    return f"no video for {stall_s:g} s"
                continue
            if line is None:
                last = self._masked(self.output[-1]) if self.output else "no output"
                return f"stream ended (ffmpeg exit {proc.wait()}): {last}"
            if self._handle(line):
                last_progress = time.monotonic()
        return "stopped"

    def _handle(self, line: str) -> bool:
        """Index a finished segment's CSV line (True); keep any other output line for the error message."""
        match = SEGMENT_LINE.match(line)
        if match is None:
            self.output.append(line)
            return False
        name, start_s, end_s = match[1], float(match[2]), float(match[3])
        now = time.time()
        if not 0 <= now - (self.anchor + end_s) <= DRIFT_S:
            self.anchor = now - end_s
        path = self._index(self.staging / name, self.anchor + start_s, end_s - start_s)
        if self.indexed == 1:
            set_status(self.camera, Camera.Status.ONLINE, "recording")
            report(self.camera, KIND, "")
        if settings.VMS_SNAPSHOT_SECONDS > 0 and time.monotonic() >= self.next_snapshot:
            self.next_snapshot = time.monotonic() + settings.VMS_SNAPSHOT_SECONDS
            _write_snapshot(path, latest_snapshot(self.camera.tenant_id, self.camera.slug))
        return True

    def _index(self, finished: Path, start_ts: float, duration: float) -> Path:
        start = datetime.fromtimestamp(start_ts, tz=UTC)
        target_dir = hour_dir(self.camera.tenant_id, self.camera.slug, *hour_parts(start))
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{int(start_ts * 1000)}.ts"
        os.replace(finished, target)
        Segment.objects.create(
            tenant_id=self.camera.tenant_id,
            camera=self.camera,
            start=start,
            duration=round(duration, 3),
            bytes=target.stat().st_size,
            path=str(target.relative_to(settings.VMS_RECORDINGS_ROOT)),
        )
        self.indexed += 1
        return target

    def _masked(self, text: str) -> str:
        return text.replace(self.camera.rtsp_url, mask_password(self.camera.rtsp_url))[:300]


def _read_lines(proc: subprocess.Popen, lines: queue.Queue) -> None:
    for line in proc.stdout:
        lines.put(line.strip())
    proc.stdout.close()
    lines.put(None)


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # ffmpeg finishes its current segment on SIGTERM
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _write_snapshot(segment: Path, target: Path) -> None:
    """Decode the segment's first frame (a key frame) into `target`, replaced atomically."""
    import cv2  # late: only recorder processes need OpenCV

    capture = cv2.VideoCapture(str(segment))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        logger.warning("no frame in %s for the snapshot", segment)
        return
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(jpeg.tobytes())
    os.replace(tmp, target)
