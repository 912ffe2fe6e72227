"""Export throughput: the project's export job next to a bare `ffmpeg -f concat -c copy` of the same segments.

An hour (by default) of real recordings is made first: the demo clip (demo-street.mp4, 1280x720, 10 fps) cut by
ffmpeg into 2 s MPEG-TS segments with `-c copy`, as tests/playback/conftest.py does, copied back to back into the
recordings layout and indexed as Segment rows. Then, in the same run and alternating, each `repeats` times:
1. baseline: `ffmpeg -f concat -safe 0 -i list.txt -c copy -movflags +faststart out.mp4` of those segment files;
2. export: the project's export job (playback.exports) for the camera over the same range, run in this process
   exactly as the `export` worker runs it (index query, ffmpeg concat and trim, progress, SHA-256, rename).
Throughput is recorded seconds exported per wall second and MB of MP4 written per second (medians); the ratio is
export / baseline (target >= 0.8).

It creates its own test database (TEST_DATABASE_NAME, else test_vms_bench_export) and a temporary recordings root,
and removes both at the end:
    TEST_DATABASE_NAME=test_vms_bench_export REDIS_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python bench/export.py [minutes of recording, default 60] [repeats, default 3]
"""

import importlib.util
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
os.environ.setdefault("TEST_DATABASE_NAME", "test_vms_bench_export")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from cameras.models import Camera  # noqa: E402
from playback import paths  # noqa: E402
from playback.models import Segment  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tests.shared import cut_demo_segments, place_segment  # noqa: E402

HOUR = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)
MB = 1_000_000


def record(camera: Camera, seconds: float, scratch: Path) -> list[Segment]:
    """Copies demo segments back to back from HOUR until `seconds` are recorded, indexed as Segment rows."""
    sources = cut_demo_segments(scratch)
    rows, moment, recorded = [], HOUR, 0.0
    for source, duration in itertools.cycle(sources):
        if recorded >= seconds:
            break
        relative, size = place_segment(source, camera.tenant_id, camera.slug, moment)
        rows.append(
            Segment(
                tenant_id=camera.tenant_id, camera=camera, start=moment, duration=duration, bytes=size, path=relative
            )
        )
        moment += timedelta(seconds=duration)
        recorded += duration
    return Segment.objects.bulk_create(rows)


def bare_concat(segments: list[Segment], scratch: Path) -> Callable[[], int]:
    """The baseline: one ffmpeg concat of the segment files into a faststart MP4; returns the bytes written."""
    listing = scratch / "list.txt"
    listing.write_text("".join(f"file '{paths.recordings_path(s.path)}'\n" for s in segments))
    out = scratch / "bare.mp4"

    def run() -> int:
        out.unlink(missing_ok=True)
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
             "-movflags", "+faststart", str(out)],
            check=True,
        )  # fmt: skip
        return out.stat().st_size

    return run


def project_export(tenant: Tenant, camera: Camera, start: datetime, end: datetime) -> Callable[[], int] | None:
    """The project's export job for `camera` over [start, end), or None while playback.exports does not exist."""
    if importlib.util.find_spec("playback.exports") is None:
        return None
    from playback import exports
    from playback.models import Export, ExportFile

    def run() -> int:
        job = Export.objects.create(tenant=tenant, name="bench", start=start, end=end, expires=end)
        ExportFile.objects.create(export=job, camera=camera, camera_slug=camera.slug)
        job = exports.run_export(job.pk)
        assert job.state == Export.State.DONE, (job.state, job.error)
        size = sum(f.size for f in job.files.all())
        exports.delete_export(job)
        return size

    return run


def timed(action: Callable[[], int], runs: list[tuple[float, int]]) -> None:
    """Runs `action` once and adds (wall seconds, bytes written) to `runs`."""
    began = time.perf_counter()
    size = action()
    runs.append((time.perf_counter() - began, size))


def report(name: str, runs: list[tuple[float, int]], recorded: float) -> float:
    wall = statistics.median(w for w, _ in runs)
    size = statistics.median(s for _, s in runs)
    rate = recorded / wall
    print(
        f"{name:<32} {wall:7.2f} s wall  {rate:8.1f} recorded s / wall s  {size / MB / wall:7.1f} MB/s"
        f"  ({size / MB:.1f} MB)"
    )
    return rate


def run(minutes: float, repeats: int, root: Path, scratch: Path) -> None:
    settings.VMS_RECORDINGS_ROOT = root
    tenant = Tenant.objects.create(id="bench", name="Bench")
    camera = Camera.objects.create(tenant=tenant, slug="cam-1", name="Cam", rtsp_url="rtsp://h/s")
    segments = record(camera, minutes * 60, scratch)
    recorded = sum(s.duration for s in segments)
    end = segments[-1].start + timedelta(seconds=segments[-1].duration)
    source_mb = sum(s.bytes for s in segments) / MB
    print(f"{len(segments)} segments, {recorded:.0f} s recorded, {source_mb:.1f} MB, {repeats} runs each (medians)")

    baseline = bare_concat(segments, scratch)
    job = project_export(tenant, camera, segments[0].start, end)
    baseline_runs: list[tuple[float, int]] = []
    job_runs: list[tuple[float, int]] = []
    baseline()  # warm the page cache: both read the same files from memory
    for _ in range(repeats):
        timed(baseline, baseline_runs)
        if job is not None:
            timed(job, job_runs)
    bare = report("bare ffmpeg concat -c copy", baseline_runs, recorded)
    if job is None:
        print("export job: missing (playback.exports does not exist yet); only the baseline was measured")
        return
    measured = report("export job (playback.exports)", job_runs, recorded)
    verdict = "meets" if measured / bare >= 0.8 else "MISSES"
    print(f"ratio export / bare: {measured / bare:.2f}x  ({verdict} the 0.8x target)")


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as scratch:
            run(minutes, repeats, Path(root), Path(scratch))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
