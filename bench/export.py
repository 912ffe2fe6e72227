"""Export time of a recording made of objects: the project's export job, from local disk and from the bucket,
next to a bare `ffmpeg -f concat -c copy` of the same object files. Target (issue): a 24 h export of one camera in
<= 120 s.

The recording is built cheaply: the demo clip (demo-street.mp4, 1280x720, 10 fps), looped, is cut by ffmpeg into
2 s MPEG-TS parts with `-c copy` and VMS_OBJECT_SECONDS of them are joined byte for byte into ONE object file (as the
recorder appends its parts); that file is hard-linked to every object's path of the range and indexed as one Segment
row per object with its parts' sizes and durations. Then, in the same run (medians of `repeats` runs each):
1. baseline: `ffmpeg -f concat -safe 0 -i list.txt -c copy -movflags +faststart out.mp4` of the object files;
2. export job, local disk: playback.exports.run_export as the `export` worker runs it, no bucket configured;
3. the objects go up to a private S3 server (moto, started by tests.servers.PrivateS3 and reached directly) by the
   media keeper's upload_objects, timed apart (one PUT per object), and are evicted from the disk;
4. export job, bucket. moto holds a multipart upload in memory at ~4x its size, so the job's own upload of a 24 h MP4
   cannot run here. Measured instead, over the whole range: the job's steps but the upload (exports.plan and
   exports._copy reading each object by one ranged GET, then the file's SHA-256 and probe); and apart, Bucket.put of
   the MP4's first UPLOAD_SAMPLE bytes, extrapolated to the whole file. Their sum is the 24 h estimate.

It creates its own test database (TEST_DATABASE_NAME, else test_vms_bench_export) and temporary folders, and
removes both at the end. 24 h of one camera, once each (arguments: minutes of recording, default 60; repeats, default
3), takes ~10 minutes, ~12 GB of temporary disk and ~4 GB of memory (moto's, for the upload's sample):
    TEST_DATABASE_NAME=test_vms_bench_export REDIS_URL=redis://127.0.0.1:6379/4 VMS_REDIS_PREFIX=vms-bench \\
        .venv/bin/python bench/export.py 1440 1
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
os.environ.setdefault("TEST_DATABASE_NAME", "test_vms_bench_export")
for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(variable, "testing")
os.environ.setdefault("AWS_REGION", "us-east-1")
# moto keeps objects under this size in memory, 5 MiB by default: a day of objects goes to its temporary files.
os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = "1"
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from cameras.models import Camera  # noqa: E402
from playback import exports, paths, storage  # noqa: E402
from playback.models import Export, ExportFile, Segment  # noqa: E402
from playback.recording.keeper import evict_objects, upload_objects  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tests.servers import PrivateS3  # noqa: E402
from tests.shared import DEMO_CLIP  # noqa: E402

DAY = datetime(2020, 3, 12, tzinfo=UTC)
MB = 1_000_000
BUCKET = "bench-export"
TARGET_S = 120  # a 24 h export of one camera
FFMPEG = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
# moto holds a multipart upload in memory at ~4x its size: the export's upload is timed on this much of its file.
UPLOAD_SAMPLE = 1000 * MB
BASELINE = "baseline: bare ffmpeg concat, local files"
LOCAL_JOB = "export job, local disk"
BUCKET_STEPS = "export job, bucket: all steps but its upload"
BUCKET_UPLOAD = "  its upload (Bucket.put of a prefix)"


def object_file(scratch: Path) -> tuple[Path, list[int], list[float]]:
    """One object as the recorder makes it: the looped demo clip cut by ffmpeg into VMS_SEGMENT_SECONDS MPEG-TS parts
    (its timestamps run on across them), VMS_OBJECT_SECONDS of them appended byte for byte. Its file, and its parts'
    sizes and durations."""
    subprocess.run(
        [*FFMPEG, "-stream_loop", "-1", "-i", DEMO_CLIP, "-t", str(settings.VMS_OBJECT_SECONDS), "-c", "copy",
         "-f", "segment", "-segment_time", f"{settings.VMS_SEGMENT_SECONDS:g}", "-segment_format", "mpegts",
         "-segment_list", str(scratch / "parts.csv"), str(scratch / "part-%d.ts")],
        check=True, timeout=60,
    )  # fmt: skip
    whole, sizes, durations = scratch / "object.ts", [], []
    with whole.open("wb") as out:
        for line in (scratch / "parts.csv").read_text().splitlines():
            name, first, last = line.split(",")
            part = (scratch / name).read_bytes()
            out.write(part)
            sizes.append(len(part))
            durations.append(round(float(last) - float(first), 3))
    return whole, sizes, durations


def record(camera: Camera, count: int, source: Path, sizes: list[int], durations: list[float]) -> list[Segment]:
    """`count` objects back to back from DAY, each a hard link to `source`, indexed as the recorder's node has them."""
    rows = []
    for i in range(count):
        start = DAY + timedelta(seconds=i * settings.VMS_OBJECT_SECONDS)
        folder = paths.hour_folder(camera.tenant_id, camera.slug, *paths.hour_parts(start))
        relative = f"{folder}/{int(start.timestamp() * 1000)}.ts"
        paths.recordings_path(folder).mkdir(parents=True, exist_ok=True)
        os.link(source, paths.recordings_path(relative))
        rows.append(
            Segment(tenant_id=camera.tenant_id, camera=camera, start=start, duration=round(sum(durations), 3),
                    bytes=sum(sizes),
                    path=relative, sizes=sizes, durations=durations, node=settings.VMS_NODE_NAME)
        )  # fmt: skip
    return Segment.objects.bulk_create(rows)


def bare_concat(segments: list[Segment], scratch: Path) -> Callable[[], int]:
    """The baseline: one ffmpeg concat of the object files into a faststart MP4; returns the bytes written."""
    listing = scratch / "list.txt"
    listing.write_text("".join(f"file '{paths.recordings_path(s.path)}'\n" for s in segments))
    out = scratch / "bare.mp4"

    def run() -> int:
        subprocess.run(
            [*FFMPEG, "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart",
             str(out)],
            check=True,
        )  # fmt: skip
        size = out.stat().st_size
        out.unlink()
        return size

    return run


def project_export(tenant: Tenant, camera: Camera, start: datetime, end: datetime) -> Callable[[], int]:
    """The project's export job for `camera` over [start, end), as the `export` worker runs it."""

    def run() -> int:
        job = Export.objects.create(tenant=tenant, name="bench", start=start, end=end, expires=end)
        ExportFile.objects.create(export=job, camera=camera, camera_slug=camera.slug)
        job = exports.run_export(job.pk)
        assert job.state == Export.State.DONE, (job.state, job.error)
        size = sum(f.size for f in job.files.all())
        exports.delete_export(job)
        return size

    return run


def use_bucket(server: PrivateS3) -> None:
    """A fresh bucket on `server`, where the settings point (the media keeper and the export job use it). Straight
    to moto, not through PrivateS3's proxy: its threads would copy every byte in this process."""
    boto3.client("s3", endpoint_url=server.moto_endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    settings.VMS_STORAGE_URL = f"s3://{BUCKET}/rec"
    settings.VMS_S3_ENDPOINT_URL = server.moto_endpoint


Runs = list[tuple[float, int]]  # (wall seconds, bytes) of each run of a case


def timed(action: Callable[[], int], runs: Runs) -> None:
    """Runs `action` once and adds (wall seconds, the bytes it returns) to `runs`."""
    began = time.perf_counter()
    size = action()
    runs.append((time.perf_counter() - began, size))


def bucket_export(
    segments: list[Segment], start: datetime, end: datetime, scratch: Path, steps: Runs, upload: Runs
) -> None:
    """One export of [start, end) from the bucket, measured in two: into `steps`, the job's steps but its upload
    (exports.plan and exports._copy reading the objects, then the file's SHA-256 and probe); into `upload`,
    Bucket.put of the MP4's first UPLOAD_SAMPLE bytes."""
    out, key = scratch / "bucket.mp4", "bench/export.mp4"

    def job_steps() -> int:
        exports._copy(exports.plan(segments, start, end), scratch, out, lambda _: None)
        exports._sha256(out)
        exports._probe_duration(out)
        return out.stat().st_size

    def put() -> int:
        storage.bucket().put(key, out, "video/mp4")
        return out.stat().st_size

    timed(job_steps, steps)
    os.truncate(out, min(out.stat().st_size, UPLOAD_SAMPLE))
    timed(put, upload)
    storage.bucket().delete([key])  # out of moto's memory
    out.unlink()


def report(name: str, runs: Runs, recorded: float, baseline_per_s: float) -> float:
    """Prints a case's median run, its time per recorded second against the baseline's and what 24 h would take at
    its rate; returns that."""
    wall = statistics.median(w for w, _ in runs)
    size = statistics.median(s for _, s in runs)
    day = wall / recorded * 86400
    print(
        f"{name:<46} {wall:7.1f} s {recorded / 3600:5.2f} h {recorded / wall:5.0f} rec s/s {size / MB / wall:4.0f} MB/s"
        f"  {wall / recorded / baseline_per_s:5.2f}x baseline  24 h: {day:4.0f} s  ({size / MB:.0f} MB)"
    )
    return day


def run(minutes: float, repeats: int, root: Path, scratch: Path) -> None:
    settings.VMS_RECORDINGS_ROOT, settings.VMS_STORAGE_URL = root, ""
    tenant = Tenant.objects.create(id="bench", name="Bench")
    camera = Camera.objects.create(tenant=tenant, slug="cam-1", name="Cam", rtsp_url="rtsp://h/s")
    source, sizes, durations = object_file(scratch)
    segments = record(camera, round(minutes * 60 / settings.VMS_OBJECT_SECONDS), source, sizes, durations)
    recorded = sum(s.duration for s in segments)
    start, end = segments[0].start, segments[-1].start + timedelta(seconds=segments[-1].duration)
    total_mb = sum(s.bytes for s in segments) / MB
    print(
        f"{len(segments)} objects of {len(sizes)} parts ({settings.VMS_OBJECT_SECONDS} s, {sum(sizes) / MB:.1f} MB), "
        f"{recorded / 3600:g} h recorded, {total_mb:.0f} MB; {repeats} run(s) each (medians)"
    )
    local = {BASELINE: bare_concat(segments, scratch), LOCAL_JOB: project_export(tenant, camera, start, end)}
    runs: dict[str, Runs] = {name: [] for name in [*local, BUCKET_STEPS, BUCKET_UPLOAD]}
    for _ in range(repeats):  # alternating, so a drift of the shared machine hits every case alike
        for name, action in local.items():
            timed(action, runs[name])

    server = PrivateS3()
    server.start()
    try:
        use_bucket(server)
        began = time.perf_counter()
        uploaded = upload_objects(storage.bucket())
        took = time.perf_counter() - began
        evict_objects(timezone.now())  # all are past the hot window: the export must read the bucket
        assert uploaded == len(segments) and not any(paths.recordings_path(s.path).exists() for s in segments)
        print(
            f"upload of the objects (keeper.upload_objects, timed apart): {uploaded} PUTs, {total_mb:.0f} MB in "
            f"{took:.1f} s ({uploaded / took:.0f} PUT/s, {total_mb / took:.0f} MB/s)"
        )
        for _ in range(repeats):
            bucket_export(segments, start, end, scratch, runs[BUCKET_STEPS], runs[BUCKET_UPLOAD])
    finally:
        server.remove()

    baseline_per_s = statistics.median(w for w, _ in runs[BASELINE]) / recorded
    day = {name: report(name, runs[name], recorded, baseline_per_s) for name in [*local, BUCKET_STEPS]}
    # The upload's rate on its sample, for the whole file (the steps' MP4) and then for 24 h.
    put_s = statistics.median(w for w, _ in runs[BUCKET_UPLOAD])
    sample = statistics.median(s for _, s in runs[BUCKET_UPLOAD])
    whole = statistics.median(s for _, s in runs[BUCKET_STEPS])
    upload_day = put_s / sample * whole / recorded * 86400
    print(
        f"{BUCKET_UPLOAD:<46} {put_s:7.1f} s for {sample / MB:.0f} MB ({sample / MB / put_s:.0f} MB/s), "
        f"EXTRAPOLATED to the whole MP4 ({whole / MB:.0f} MB): {put_s / sample * whole:.1f} s; 24 h: {upload_day:.0f} s"
    )
    print(
        f"24 h of one camera (target <= {TARGET_S} s): export job from local disk {day[LOCAL_JOB]:.0f} s (measured); "
        f"from the bucket {day[BUCKET_STEPS]:.0f} s (steps, measured) + {upload_day:.0f} s (upload, extrapolated) = "
        f"{day[BUCKET_STEPS] + upload_day:.0f} s (estimate)"
    )


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
