"""Export jobs: a time range of one or more cameras becomes one MP4 per camera, without re-encoding.

For each camera the parts of the indexed objects that overlap the range are read (from this machine's disk, else from
the bucket) and fed to ffmpeg as one MPEG-TS stream on its stdin, copied (`-c copy -movflags +faststart`) into
`<root>/<tenant>/.exports/<id>/<camera>.mp4`: from the part where the range starts (a key frame) to its end (`-t`).
With a bucket the finished file is uploaded there and leaves this disk. Time without recording is not bridged
silently: it is reported as the file's `gaps`. ffmpeg writes to a temporary name that is renamed only when the file
is complete, so a crashed or failed job never leaves a file that looks done; a job that runs again starts from
scratch.
"""

import hashlib
import logging
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tenants.usage import record as record_usage

from . import paths, storage
from .models import Export, ExportFile, Segment
from .playlists import GAP_TOLERANCE, LONGEST_OBJECT, object_parts
from .publish import publish_export

logger = logging.getLogger(__name__)

EXPORTS_FOLDER = ".exports"  # under the tenant's folder; no camera id starts with a dot
PUBLISH_EVERY_S = 1.0
FFMPEG_TIMEOUT_S = 3600


class ExportFailed(Exception):
    """The job cannot finish; the message is shown to the user as the job's `error`."""


@dataclass
class Piece:
    """The bytes of one object's parts in the range, back to back."""

    path: str
    offset: int
    size: int


@dataclass
class Plan:
    """What one camera's file is made of: a piece of each object, the seconds they last from the first part's start,
    and the time without recording in the range."""

    pieces: list[Piece]
    length: float
    gaps: list[dict[str, str]]


def export_folder(export: Export) -> str:
    """The export's folder relative to the recordings root."""
    return f"{export.tenant_id}/{EXPORTS_FOLDER}/{export.pk}"


def segments_in_range(segments: QuerySet[Segment], start: datetime, end: datetime) -> list[Segment]:
    """The objects that overlap [start, end), oldest first."""
    nearby = segments.filter(start__lt=end, start__gt=start - LONGEST_OBJECT).order_by("start")
    return [s for s in nearby if s.start + timedelta(seconds=s.duration) > start]


def plan(segments: list[Segment], start: datetime, end: datetime) -> Plan:
    """The parts of `segments` (from segments_in_range, not empty) that overlap [start, end), and the gaps.

    The file starts at the first part's start (a key frame: at most a part before `start`) and ends at `end`."""
    parts = [
        part
        for segment in segments
        for part in object_parts(segment.path, segment.start, segment.sizes, segment.durations)
        if part.end > start and part.start < end
    ]
    gaps, pieces, length, moment = [], [], 0.0, start
    for part in parts:
        if (part.start - moment).total_seconds() > GAP_TOLERANCE:
            gaps.append({"start": moment.isoformat(), "end": part.start.isoformat()})
        if pieces and pieces[-1].path == part.path:
            pieces[-1].size += part.size
        else:
            pieces.append(Piece(part.path, part.offset, part.size))
        length += (min(part.end, end) - part.start).total_seconds()
        moment = max(moment, part.end)
    if (end - moment).total_seconds() > GAP_TOLERANCE:
        gaps.append({"start": moment.isoformat(), "end": end.isoformat()})
    return Plan(pieces, length, gaps)


def _copy(plan_: Plan, work: Path, target: Path, on_progress) -> None:
    """Run ffmpeg on the pieces as one MPEG-TS stream on its stdin, copied into `target` (MP4); on_progress(0-100)
    as it goes.

    Reading the bytes here, rather than letting ffmpeg open each object, spares a probe per object (and, from a
    bucket, three GETs on new connections): a day of one camera is 1,440 objects (bench/export.py). A recorder
    restart starts its timestamps again: a jump over a second is a discontinuity ffmpeg joins back to back, as it
    joins any gap (the time without recording is reported as `gaps`, not bridged)."""
    argv = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-dts_delta_threshold", "1", "-f", "mpegts", "-i", "pipe:0",
            "-t", f"{plan_.length:.3f}", "-map", "0:v", "-map", "0:a?", "-c", "copy", "-movflags", "+faststart",
            "-progress", "pipe:1", "-nostats", "-f", "mp4", str(target)]  # fmt: skip
    stderr = work / f"{target.stem}.log"
    with stderr.open("wb") as errors:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        feeder = _Feeder(plan_.pieces, process)
        try:
            for line in process.stdout:
                key, _, value = line.decode(errors="replace").strip().partition("=")
                if key == "out_time_us" and value.isdigit() and plan_.length > 0:
                    on_progress(min(99, int(int(value) / 1e6 / plan_.length * 100)))
            process.wait(timeout=FFMPEG_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            feeder.join()
    if feeder.error is not None:
        raise ExportFailed(f"The recording could not be read: {feeder.error}")
    if process.returncode != 0:
        message = stderr.read_text(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise ExportFailed(f"ffmpeg could not write the file (exit {process.returncode}): {message[0]}")
    stderr.unlink()


class _Feeder:
    """Writes the pieces into ffmpeg's stdin from a thread: a piece comes from this machine's disk, else by a ranged
    GET from the bucket. Stops when ffmpeg stops reading (it has its `-t` seconds)."""

    def __init__(self, pieces: list[Piece], process: subprocess.Popen) -> None:
        self.pieces, self.process = pieces, process
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, name="export feeder", daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def _run(self) -> None:
        try:
            with self.process.stdin as stdin:
                for piece in self.pieces:
                    for block in storage.read_range(piece.path, piece.offset, piece.size):
                        stdin.write(block)
        except BrokenPipeError:  # ffmpeg has what it needs (or failed, which it says itself)
            return
        except (OSError, storage.StorageUnavailable) as exc:
            self.error = exc
            self.process.kill()


def _probe_duration(file: Path) -> float | None:
    found = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(file)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    try:
        return float(found.stdout.strip())
    except ValueError:
        return None


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as data:
        while block := data.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


class _Progress:
    """Keeps the job's and its files' progress in the index, and tells the tenant's clients (at most once a second)."""

    def __init__(self, export: Export, files: list[ExportFile]) -> None:
        self.export, self.files, self.last = export, files, 0.0

    def update(self, file: ExportFile | None = None, percent: int = 0, force: bool = False) -> None:
        if file is not None:
            file.progress = percent
        self.export.progress = sum(f.progress for f in self.files) // max(1, len(self.files))
        if force or time.monotonic() - self.last >= PUBLISH_EVERY_S:
            self.last = time.monotonic()
            if file is not None:
                file.save(update_fields=["progress"])
            self.export.save(update_fields=["progress", "state", "error"])
            publish(self.export)


def publish(export: Export) -> None:
    from .api.serializers import export_json  # the API's shape; api imports this module

    publish_export(export.tenant_id, export_json(export))


def run_export(export_id: int) -> Export | None:
    """Make (or make again, from scratch) the export's files; the job ends `done` or `failed` with a readable error."""
    export = Export.objects.filter(pk=export_id).select_related("tenant").first()
    if export is None:  # deleted while queued
        return None
    folder = paths.recordings_path(export_folder(export))
    shutil.rmtree(folder, ignore_errors=True)  # what an earlier, interrupted run left
    folder.mkdir(parents=True)
    files = list(export.files.order_by("camera_slug"))
    for file in files:
        file.path, file.sha256, file.size, file.duration, file.gaps, file.progress = "", "", None, None, [], 0
        file.save()
    export.state, export.error, export.progress = Export.State.RUNNING, "", 0
    progress = _Progress(export, files)
    progress.update(force=True)
    try:
        for file in files:
            _export_file(export, file, folder, progress)
    except Exception as exc:  # any failure becomes the job's readable error
        if not Export.objects.filter(pk=export_id).exists():  # deleted while it ran: drop what it wrote
            shutil.rmtree(folder, ignore_errors=True)
            return None
        logger.warning("Export %s failed", export.pk, exc_info=not isinstance(exc, ExportFailed))
        export.state = Export.State.FAILED
        export.error = str(exc) if isinstance(exc, ExportFailed) else f"The export failed: {exc}"
        progress.update(force=True)
        return export
    export.state, export.progress = Export.State.DONE, 100
    with transaction.atomic():  # counted iff it is done
        record_usage(export.tenant_id, exports=1, export_bytes=sum(file.size for file in files))
        progress.update(force=True)
    return export


def _export_file(export: Export, file: ExportFile, folder: Path, progress: _Progress) -> None:
    if file.camera_id is None:
        raise ExportFailed(f"Camera '{file.camera_slug}' was deleted before its export ran.")
    segments = segments_in_range(Segment.objects.filter(camera_id=file.camera_id), export.start, export.end)
    if not segments:
        raise ExportFailed(f"Camera '{file.camera_slug}' has no recording left in the range.")
    cut = plan(segments, export.start, export.end)
    final = folder / f"{file.camera_slug}.mp4"
    partial = folder / f".{file.camera_slug}-{uuid.uuid4().hex}.part"
    _copy(cut, folder, partial, lambda percent: progress.update(file, percent))
    partial.rename(final)  # only a complete file gets the served name
    file.path = f"{export_folder(export)}/{final.name}"
    file.sha256, file.size, file.duration = _sha256(final), final.stat().st_size, _probe_duration(final)
    if (bucket := storage.bucket()) is not None:  # every web node serves it from there
        bucket.put(file.path, final, "video/mp4")
        final.unlink()
    file.gaps, file.progress = cut.gaps, 100
    file.save()
    progress.update(file, 100, force=True)


def delete_export(export: Export) -> None:
    """Delete an export: the row, then its folder (its files and anything a run left) and its files in the bucket."""
    folder = export_folder(export)
    export.delete()
    shutil.rmtree(paths.recordings_path(folder), ignore_errors=True)
    if (bucket := storage.bucket()) is not None:
        try:
            bucket.delete_prefix(f"{folder}/")
        except storage.StorageUnavailable:  # the export is gone for users either way; its files are only garbage
            logger.warning("could not delete export %s's files from the bucket (left there)", export.pk, exc_info=True)


def expires_for(export: Export, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=export.tenant.export_retention_days)
