"""The recorder: ffmpeg copies a camera's RTSP stream (never re-encoding video) into 2 s parts, gathered into objects
of up to a minute that are indexed in PostgreSQL, and, from the same connection to the camera, into live's
fragmented MP4 (live/feed.py), read from a pipe as it comes. A camera with a `live_url` (a smaller substream) has
it as the same ffmpeg's second input, and live takes it. The camera's audio, when it has one, goes into both (AAC as
is; other codecs encoded to AAC), its codec probed once per recorder (probe.py).

ffmpeg's segment muxer writes `seg-N.ts` into a private staging folder and prints one CSV line per finished part on
stdout (`-segment_list pipe:1`). Each finished part is appended to the camera's current object,
`<root>/<tenant>/<camera>/<YYYY-MM-DD>/<HH>/<epoch ms>.ts` (named by its first part's start; MPEG-TS files join
byte for byte), and noted in the object's sidecar `<object>.parts` and in Redis (unindexed.py), so live shows it at
once. An object closes at the next wall-clock minute (VMS_OBJECT_SECONDS), at a gap, or when ffmpeg ends; it is
then handed to the index writer, which removes its sidecar once stored. A sidecar left by a killed worker is how
recovery (keeper.py) finds the object. Wall-clock start = launch time + the part's stream time, so consecutive
parts are contiguous and a reconnect leaves a gap. The camera goes online on the first part and offline when ffmpeg
exits or stalls; ffmpeg is restarted with backoff. Recording never waits for PostgreSQL: rows and status changes it
does not take are kept and written once it is back (indexer.attempt). One thread per camera, woken by ffmpeg's
output (a line per part) or after a part's time without one: the Python side costs a small fraction of ffmpeg's own
copy (bench/recording.py).
"""

import ctypes
import fcntl
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from cameras.models import Camera
from cameras.pipeline.lease import client
from cameras.pipeline.registry import ShouldStop
from cameras.pipeline.status import set_status
from cameras.pipeline.supervisor import report
from cameras.rtsp import mask_credentials
from live.feed import LiveWriter

from .. import unindexed
from ..paths import hour_folder, hour_parts
from ..playlists import GAP_TOLERANCE
from .indexer import SIDECAR, SegmentRow, attempt, segment_indexer
from .probe import ProbeFailed, audio_codec

logger = logging.getLogger(__name__)

KIND = "record"
MAX_RECONNECT_DELAY_S = 10
DRIFT_S = 10  # re-anchor wall-clock time when the stream clock has drifted this far from it
LIVE_FRAGMENT_US = 200_000
LIVE_PIPE_BYTES = 1 << 20  # ffmpeg never waits on live while we index a part, or for an unwatched camera's read
UNWATCHED_READ_S = 1.0
SEGMENT_LINE = re.compile(r"^(seg-\d+\.ts),(-?[\d.]+),(-?[\d.]+)$")
LiveSource = tuple[str, str | None]  # a camera's live_url and its audio codec
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # In the child before exec: the kernel SIGKILLs ffmpeg if the worker thread that started it dies (even by
    # SIGKILL), so a killed worker never leaves an orphan ffmpeg recording behind its expired lease.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _streams(input_index: int, audio: str | None) -> list[str]:
    """The options that map an input's video (copied) and audio, when it has one, into an output."""
    streams = ["-map", f"{input_index}:v:0", "-c:v", "copy"]
    if audio is not None:
        # 32 kb/s: within what AAC allows at G.711's 8 kHz (ffmpeg's default asks for more and logs a warning).
        codec = ["-c:a", "copy"] if audio == "aac" else ["-c:a", "aac", "-b:a", "32k"]
        streams += ["-map", f"{input_index}:a:0", *codec]
    return streams


def ffmpeg_argv(
    rtsp_url: str,
    staging: Path,
    segment_seconds: float,
    live_fd: int,
    audio: str | None,
    live: LiveSource | None = None,
) -> list[str]:
    """The recorder's ffmpeg command line: an argv list (never a shell string). Video is copied, never re-encoded;
    so is AAC audio, and other audio (G.711…) is encoded to AAC, which MPEG-TS and MSE carry. The input feeds the
    2 s parts and live's fragmented MP4 on `live_fd`: a fragment closes at the first frame that makes it
    LIVE_FRAGMENT_US long, and at each key frame. `live` (the camera's live_url and its audio codec) makes live's
    output take that URL, a second input of the same ffmpeg, instead."""
    # Socket I/O timeout (µs). ffmpeg gives up on a camera gone silent about twice this after its last packet
    # (measured: 6.3 s at 3 s, 10.3 s at 5 s), so with the 5 s health debounce it is told offline within 15 s.
    connect = ["-rtsp_transport", "tcp", "-timeout", "3000000"]
    inputs, live_streams = [*connect, "-i", rtsp_url], _streams(0, audio)
    if live is not None:
        # ffmpeg opens its inputs one after the other (each probed on ~2 s of frames by default), then holds the
        # first one's packets back until the second's stream time catches up: probed briefly, the recording lags
        # by the second's start rather than by ~4 s (measured on the demo camera).
        brief = ["-probesize", "100000", "-analyzeduration", "200000"]
        inputs = [*brief, *inputs, *brief, *connect, "-i", live[0]]
        live_streams = _streams(1, live[1])
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning",
        *inputs,
        *_streams(0, audio),
        "-f", "segment", "-segment_time", f"{segment_seconds:g}", "-segment_format", "mpegts",
        "-segment_list", "pipe:1", "-segment_list_type", "csv",
        str(staging / "seg-%d.ts"),
        *live_streams,
        "-f", "mp4", "-movflags", "empty_moov+default_base_moof+frag_keyframe",
        "-frag_duration", str(LIVE_FRAGMENT_US), "-flush_packets", "1",
        f"pipe:{live_fd}",
    ]  # fmt: skip


def run_recorder(camera: Camera, should_stop: ShouldStop) -> None:
    """Record the camera until should_stop(); reconnects with backoff while the stream is unreachable."""
    status = CameraStatus(camera)
    failures = 0
    audio: dict[str, str | None] = {}  # per URL whose probe answered: its audio codec
    while not should_stop():
        _probe_audio(camera, audio)
        live = (camera.live_url, audio[camera.live_url]) if camera.live_url in audio else None
        session = RecordingSession(camera, status, audio.get(camera.rtsp_url), live)
        reason = session.run(should_stop)
        if should_stop():
            status.set(Camera.Status.OFFLINE, "recorder stopped")  # one try: the recorder ends here
            return
        status.set(Camera.Status.OFFLINE, reason, detail=reason)
        failures = 0 if session.parts else failures + 1
        if not session.parts:  # a live_url ffmpeg cannot open ends the recording too: left out until probed again
            audio.pop(camera.live_url, None)
        deadline = time.monotonic() + min(2**failures, MAX_RECONNECT_DELAY_S)
        while time.monotonic() < deadline and not should_stop():
            time.sleep(0.2)


def _probe_audio(camera: Camera, audio: dict[str, str | None]) -> None:
    """Note in `audio` the audio codec of the camera's stream, and of its live_url, where not probed yet. Probed
    once per recorder (a second, short connection to the camera), not at each reconnect, which would lengthen every
    recording gap; until a probe answers, sessions record video only, and live shows the main stream."""
    for name, url in (("stream", camera.rtsp_url), ("live_url", camera.live_url)):
        if url and url not in audio:
            try:
                audio[url] = audio_codec(url)
            except ProbeFailed as exc:
                logger.warning("camera %s: audio probe of its %s failed (%s); left out for now", camera, name, exc)


class CameraStatus:
    """The camera's status (and the pipeline's detail) as the recorder last found it. A write PostgreSQL refuses is
    tried again at each segment until it is stored: only the latest status is kept, so an outage can swallow a
    flap but never leaves a recording camera offline."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.unsaved: tuple[str, str, str | None] | None = None

    def set(self, status: str, reason: str, detail: str | None = None) -> None:
        """Change the status (and the detail operators see, unless None) now, or as soon as the database allows."""
        self.unsaved = (status, reason, detail)
        self.save()

    def save(self) -> None:
        if self.unsaved is None:
            return
        status, reason, detail = self.unsaved
        if attempt(lambda: self._write(status, reason, detail), f"store that {self.camera} is {status}"):
            self.unsaved = None

    def _write(self, status: str, reason: str, detail: str | None) -> None:
        set_status(self.camera, status, reason)
        if detail is not None:
            report(self.camera, KIND, detail)


class LiveOutput:
    """ffmpeg's fragmented MP4 for live, read as it comes into the camera's live feed. Live never stops recording:
    output it cannot parse ends live for this ffmpeg run (logged) and is read on unused, so ffmpeg never blocks."""

    def __init__(self, fd: int, writer: LiveWriter) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self.writer: LiveWriter | None = writer
        self.open = True

    @property
    def fds(self) -> list[int]:
        return [self.fd] if self.open else []

    @property
    def watched(self) -> bool:
        return self.writer is not None and self.writer.watched

    def read(self) -> None:
        """What ffmpeg has written so far (maybe nothing)."""
        if not self.open:
            return
        try:
            chunk = os.read(self.fd, LIVE_PIPE_BYTES)
        except BlockingIOError:
            return
        if not chunk:
            self.open = False
        elif self.writer is not None:
            try:
                self.writer.feed(chunk)
            except ValueError as exc:
                logger.warning("live feed %s stopped for this ffmpeg run: %s", self.writer.key, exc)
                self.writer = None


class LineReader:
    """ffmpeg's output, read as it comes, split into lines (a wait with a timeout, so no reader thread)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.partial = b""

    def read(self, timeout: float) -> list[str] | None:
        """The complete lines that arrived within `timeout` (maybe none); None at the end of the output."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        chunk = os.read(self.fd, 65536)
        if not chunk:
            return None
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        return _decoded(lines)

    def rest(self) -> list[str]:
        """The lines still in the pipe once ffmpeg has exited (its last one may lack a newline)."""
        data = self.partial
        while chunk := os.read(self.fd, 65536):
            data += chunk
        self.partial = b""
        return _decoded(data.split(b"\n"))


def _decoded(lines: list[bytes]) -> list[str]:
    return [text for line in lines if (text := line.decode(errors="replace").strip())]


class RecordingSession:
    """One ffmpeg run: from connecting to the stream until it ends, stalls or the recorder is stopped."""

    def __init__(self, camera: Camera, status: CameraStatus, audio: str | None, live: LiveSource | None) -> None:
        self.camera = camera
        self.status = status
        self.audio = audio
        self.live = live  # when live takes the camera's live_url
        self.segment_seconds = settings.VMS_SEGMENT_SECONDS
        camera_dir = settings.VMS_RECORDINGS_ROOT / camera.tenant_id / camera.slug
        self.staging = camera_dir / ".incoming" / uuid.uuid4().hex
        self.parts = 0  # parts recorded
        self.anchor = 0.0
        self.filling: RecordingObject | None = None
        self.published: list[unindexed.UnindexedObject] = []
        self.output: deque[str] = deque(maxlen=5)

    def run(self, should_stop: ShouldStop) -> str:
        """Record until the stream ends or should_stop(); returns why it ended."""
        self.staging.mkdir(parents=True, exist_ok=True)
        self.anchor = time.time()
        live_fd, live_out = os.pipe()
        fcntl.fcntl(live_out, fcntl.F_SETPIPE_SZ, LIVE_PIPE_BYTES)
        argv = ffmpeg_argv(self.camera.rtsp_url, self.staging, self.segment_seconds, live_out, self.audio, self.live)
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(live_out,),
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        finally:
            os.close(live_out)
        lines = LineReader(proc.stdout.fileno())
        live = LiveOutput(live_fd, LiveWriter(client(), self.camera.pk))
        try:
            return self._follow(proc, lines, live, should_stop)
        finally:
            _terminate(proc)
            os.close(live_fd)
            # ffmpeg closes its last segment on SIGTERM: index what it finished before exiting.
            for line in lines.rest():
                self._handle(line)
            proc.stdout.close()
            self._close_object()
            segment_indexer.flush()
            shutil.rmtree(self.staging, ignore_errors=True)

    def _follow(self, proc: subprocess.Popen, lines: LineReader, live: LiveOutput, should_stop: ShouldStop) -> str:
        last_progress = time.monotonic()
        while not should_stop():
            # Before the first segment ffmpeg also connects and probes the stream; after it, a segment is due
            # every segment_seconds, so three missed ones mean the stream stalled without closing.
            stall_s = max(15, 4 * self.segment_seconds) if not self.parts else 3 * self.segment_seconds + 2
            # Woken by a part's line, or by each live fragment while the camera has viewers (live latency); an
            # unwatched camera's fragments are read in one go a second, for the key frames it publishes.
            live_fds = live.fds if live.watched else []
            timeout = self.segment_seconds if live_fds else UNWATCHED_READ_S
            ready = select.select([lines.fd, *live_fds], [], [], timeout)[0]
            if live.fd in ready or not live_fds:
                live.read()
            batch = lines.read(timeout=0) if lines.fd in ready else []
            if batch is None:
                last = mask_credentials(self.output[-1])[:300] if self.output else "no output"
                return f"stream ended (ffmpeg exit {proc.wait()}): {last}"
            parts = self.parts
            for line in batch:
                self._handle(line)
            segment_indexer.flush_if_due()
            self.status.save()  # a change the database refused before
            if self.parts > parts:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > stall_s:
                return f"no video for {stall_s:g} s"
        return "stopped"

    def _handle(self, line: str) -> None:
        """Index a finished segment's CSV line; keep any other output line for the error message."""
        match = SEGMENT_LINE.match(line)
        if match is None:
            self.output.append(line)
            return
        name, start_s, end_s = match[1], float(match[2]), float(match[3])
        now = time.time()
        if not 0 <= now - (self.anchor + end_s) <= DRIFT_S:
            self.anchor = now - end_s
        self._add_part(self.staging / name, self.anchor + start_s, end_s - start_s)
        if self.parts == 1:
            self.status.set(Camera.Status.ONLINE, "recording", detail="")

    def _add_part(self, finished: Path, start_ts: float, duration: float) -> None:
        """Append a finished part to the object being filled, first closing it at a minute's end or a gap."""
        if self.filling is not None and not self.filling.takes(start_ts):
            self._close_object()
        if self.filling is None:
            self.filling = RecordingObject(self.camera, start_ts)
            self.published = [*self.published[1 - unindexed.KEEP :], self.filling.listing]
        self.filling.append(finished, duration)
        unindexed.publish(self.camera.pk, self.published)
        self.parts += 1

    def _close_object(self) -> None:
        if self.filling is not None:
            segment_indexer.add(self.filling.close())
            self.filling = None


class RecordingObject:
    """An object being filled: the parts are appended to its file, and each one is noted in its sidecar (one
    `<bytes> <seconds>` line) only once its bytes are written, so the sidecar never lists bytes the file lacks. The
    sidecar is locked until the object is closed."""

    def __init__(self, camera: Camera, start_ts: float) -> None:
        self.camera = camera
        start = datetime.fromtimestamp(start_ts, tz=UTC)
        folder = hour_folder(camera.tenant_id, camera.slug, *hour_parts(start))
        (settings.VMS_RECORDINGS_ROOT / folder).mkdir(parents=True, exist_ok=True)
        self.listing = unindexed.UnindexedObject(f"{folder}/{int(start_ts * 1000)}.ts", start_ts, [], [])
        self.slot = int(start_ts // settings.VMS_OBJECT_SECONDS)
        self.file = (settings.VMS_RECORDINGS_ROOT / self.listing.path).open("ab")
        self.sidecar = (settings.VMS_RECORDINGS_ROOT / (self.listing.path + SIDECAR)).open("a")
        # Held while the object is filled (the kernel drops it with a killed process): recovery leaves it alone.
        fcntl.flock(self.sidecar, fcntl.LOCK_EX)

    def takes(self, start_ts: float) -> bool:
        """Whether a part starting at `start_ts` continues this object: in its VMS_OBJECT_SECONDS, after no gap."""
        end = self.listing.start + sum(self.listing.durations)
        return int(start_ts // settings.VMS_OBJECT_SECONDS) == self.slot and abs(start_ts - end) <= GAP_TOLERANCE

    def append(self, part: Path, duration: float) -> None:
        with part.open("rb") as data:
            shutil.copyfileobj(data, self.file, 1024 * 1024)
        self.file.flush()  # readers (the web, the uploader) see the bytes before the part is announced
        size = part.stat().st_size
        part.unlink()
        duration = round(duration, 3)
        self.sidecar.write(f"{size} {duration}\n")
        self.sidecar.flush()
        self.listing.sizes.append(size)
        self.listing.durations.append(duration)

    def close(self) -> SegmentRow:
        self.file.close()
        self.sidecar.close()
        listing = self.listing
        return SegmentRow(
            self.camera.tenant_id, self.camera.pk, listing.start_time, round(sum(listing.durations), 3),
            sum(listing.sizes), listing.path, listing.sizes, listing.durations, settings.VMS_NODE_NAME,
        )  # fmt: skip


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # ffmpeg finishes its current segment on SIGTERM
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
