"""Recordings as objects in a bucket: what recording and playback cost with one, next to local disk only, in one run.

1. Recorded streams per core: N recorders (run_recorder in threads, as tests/pipeline/conftest.py's RecorderThread
   runs them) record the real RTSP test camera (demo-street.mp4) for one VMS_OBJECT_SECONDS window aligned to the
   objects' wall-clock slots; CPU seconds of this process and its ffmpeg children per recorded stream-second, local
   only (baseline) vs with the media keeper's upload_objects and evict_objects running in a loop thread, as
   MediaKeeper runs them, against a private S3 server (moto, tests.servers.PrivateS3; it runs in a process of its
   own, so its CPU is not counted: the bucket is not the recording node).
2. PUTs per camera-hour and index rows per camera-day, from the objects of that window (objects per recorded
   second, extrapolated); targets: <= 60 PUTs per camera-hour and <= 1,440 rows per camera-day. The PUTs the bucket
   really received are counted too (its keys listed, against the index rows of the whole run).
3. Playback start: an hour playlist and its first part's byte range GET through the web (Django test client), ~30
   tries each (medians): objects on local disk (baseline) vs in the bucket only, streamed through the web (what the
   views do) vs a presigned redirect, simulated as signing a URL plus the client's ranged GET of it straight from
   the S3 endpoint (the web request that would answer the redirect is not counted).

It creates its own test database (TEST_DATABASE_NAME, else test_vms_bench_storage) and temporary folders, and removes
both at the end:
    TEST_DATABASE_NAME=test_vms_bench_storage REDIS_URL=redis://127.0.0.1:6379/4 VMS_REDIS_PREFIX=vms-bench \\
        .venv/bin/python bench/storage.py [recorders, default 4] [playback tries, default 30]
"""

import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.request import Request, urlopen

import boto3
import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
os.environ.setdefault("TEST_DATABASE_NAME", "test_vms_bench_storage")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.cpu import ffmpeg_children, proc_cpu  # noqa: E402
from bench.export import BUCKET, object_file, record, use_bucket  # noqa: E402
from cameras.models import Camera  # noqa: E402
from playback import paths, storage  # noqa: E402
from playback.models import Segment  # noqa: E402
from playback.recording.keeper import evict_objects, upload_objects  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.tokens import issue_access_token  # noqa: E402
from tests.pipeline.conftest import RecorderThread  # noqa: E402
from tests.rtsp_camera import RtspCamera  # noqa: E402
from tests.servers import PrivateS3  # noqa: E402

LEAD_S = 10  # recorders start this long before the measured window: ffmpeg connects and probes the stream
PUTS_PER_HOUR_TARGET = 60
ROWS_PER_DAY_TARGET = 1440


class KeeperLoop:
    """upload_objects then evict_objects every VMS_SEGMENT_SECONDS, as MediaKeeper's thread runs them, until stop()."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stopping.wait(settings.VMS_SEGMENT_SECONDS):
                upload_objects(storage.bucket())
                evict_objects(timezone.now())
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(60)
        upload_objects(storage.bucket())  # what the recorders closed as they stopped


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (every thread) and its live ffmpeg children."""
    return time.process_time() + sum(proc_cpu(pid) for pid in ffmpeg_children())


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def record_window(cameras: list[Camera], keeper: bool) -> tuple[float, list[Segment]]:
    """Record `cameras` over the next whole VMS_OBJECT_SECONDS slot of the wall clock, with the keeper loop or
    without; returns the CPU seconds used in that window and the objects recorded in it (those that start in it:
    they close at its end)."""
    slot = settings.VMS_OBJECT_SECONDS
    window = (time.time() + LEAD_S) // slot * slot + slot
    sleep_until(window - LEAD_S)
    recorders = [RecorderThread(camera) for camera in cameras]
    loop = KeeperLoop() if keeper else None
    sleep_until(window)
    used = cpu_seconds()
    sleep_until(window + slot)
    used = cpu_seconds() - used
    sleep_until(window + slot + 2 * settings.VMS_SEGMENT_SECONDS)  # the window's last part completes: its object too
    for recorder in recorders:
        recorder.stop()
    if loop is not None:
        loop.stop()
    start, end = (datetime.fromtimestamp(moment, UTC) for moment in (window, window + slot))
    return used, list(Segment.objects.filter(camera__in=cameras, start__gte=start, start__lt=end))


def recording(url: str, count: int, tenant: Tenant, server: PrivateS3) -> None:
    slot = settings.VMS_OBJECT_SECONDS
    print(f"Recording: {count} streams for one {slot} s window each (objects of {slot} s), {os.cpu_count()} cores")
    runs = {}
    for keeper, name in ((False, "local only (baseline)"), (True, "with the keeper uploading")):
        cameras = [
            Camera.objects.create(tenant=tenant, slug=f"rec-{int(keeper)}-{i}", name="Cam", rtsp_url=url, features=[])
            for i in range(count)
        ]
        used, objects = record_window(cameras, keeper)
        runs[name] = used, sum(o.duration for o in objects)
    baseline = runs["local only (baseline)"][0] / runs["local only (baseline)"][1]
    for name, (used, recorded) in runs.items():
        print(
            f"  {name:<26} {used:6.2f} CPU s for {recorded:5.0f} stream-s: {1000 * used / recorded:6.2f} CPU ms per "
            f"stream-s, {recorded / used:5.0f} streams per core  {used / recorded / baseline:5.2f}x"
        )
    puts_per_hour = len(objects) / recorded * 3600
    print(
        f"  objects of the keeper's window: {len(objects)} for {recorded:.0f} stream-s -> {puts_per_hour:.1f} PUTs per "
        f"camera-hour (target <= {PUTS_PER_HOUR_TARGET}), {puts_per_hour * 24:.0f} index rows per camera-day "
        f"(target <= {ROWS_PER_DAY_TARGET})"
    )
    rows = Segment.objects.filter(camera__in=cameras)
    listing = boto3.client("s3", endpoint_url=server.moto_endpoint, region_name="us-east-1")
    pages = listing.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"rec/{tenant.pk}/rec-1-")
    print(
        f"  the bucket received {sum(page['KeyCount'] for page in pages)} PUTs (its keys listed) for the "
        f"{rows.count()} index rows of that run (the first and last objects are partial), "
        f"{rows.filter(uploaded_at__isnull=False).count()} marked uploaded"
    )


def median_ms(action: Callable[[], object], tries: int) -> float:
    action()  # warm connections and caches
    times = []
    for _ in range(tries):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def playback(tenant: Tenant, tries: int, scratch: Path) -> None:
    """An hour's playlist and its first part through the web, or by a presigned URL, from disk and from the bucket."""
    camera = Camera.objects.create(tenant=tenant, slug="play", name="Cam", rtsp_url="rtsp://h/s", features=[])
    segments = record(camera, 3600 // settings.VMS_OBJECT_SECONDS, *object_file(scratch))
    upload_objects(storage.bucket())
    client = Client()
    token = issue_access_token(tenant, ("playback:read",), timedelta(hours=1))
    playlist_url = paths.hour_url(camera.slug, *paths.hour_parts(segments[0].start))
    first = segments[0]
    wanted = f"bytes=0-{first.sizes[0] - 1}"

    def playlist() -> str:
        """The hour's playlist through the web; the first part's URL in it."""
        response = client.get(playlist_url, {"token": token})
        assert response.status_code == 200
        lines = response.content.decode().splitlines()
        return lines[lines.index(f"#EXT-X-BYTERANGE:{first.sizes[0]}@0") + 1]

    def through_web(url: str) -> None:
        response = client.get(url, HTTP_RANGE=wanted)
        assert response.status_code == 206
        assert len(b"".join(response.streaming_content)) == first.sizes[0]

    def redirected(_: str) -> None:
        signed = storage.bucket().presigned_url(first.path, 60)
        with urlopen(Request(signed, headers={"Range": wanted}), timeout=10) as answer:
            assert len(answer.read()) == first.sizes[0]

    part_url = playlist()
    parts = sum(len(s.sizes) for s in segments)
    print(f"Playback start: hour playlist ({parts} parts) then its first part ({first.sizes[0]} bytes), {tries} tries")
    print(f"  {'the playlist alone':<50} {median_ms(playlist, tries):6.1f} ms")

    def measure(part: Callable[[str], None]) -> tuple[float, float]:
        """Medians of the playlist then the part, and of the part alone."""
        return median_ms(lambda: part(playlist()), tries), median_ms(lambda: part(part_url), tries)

    timings = {"objects on local disk, through the web (baseline)": measure(through_web)}
    evict_objects(timezone.now() + timedelta(days=1))  # all past the hot window: only the bucket holds them now
    assert not paths.recordings_path(first.path).exists()
    timings["bucket only, streamed through the web"] = measure(through_web)
    timings["bucket only, presigned redirect (simulated)"] = measure(redirected)
    baseline = timings["objects on local disk, through the web (baseline)"][0]
    for name, (total, alone) in timings.items():
        print(f"  {name:<50} {total:6.1f} ms  {total / baseline:4.2f}x   (the part alone {alone:5.1f} ms)")


def run(count: int, tries: int, scratch: Path) -> None:
    settings.VMS_RECORDINGS_ROOT = scratch / "recordings"
    tenant = Tenant.objects.create(id="bench", name="Bench")
    rtsp = RtspCamera()
    server = PrivateS3()
    rtsp.start()
    server.start()
    try:
        use_bucket(server)
        recording(rtsp.url, count, tenant, server)
        playback(tenant, tries, scratch)
    finally:
        server.remove()
        rtsp.stop()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    tries = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            run(count, tries, Path(scratch))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
