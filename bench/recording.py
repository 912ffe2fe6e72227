"""Recording: CPU per recorded stream, next to a bare `ffmpeg -c copy` of the same stream in the same run.

For each camera count N: N streams of the real RTSP test camera (demo-street.mp4, 1280x720, 10 fps) are
1. baseline: recorded by N bare `ffmpeg -rtsp_transport tcp -i URL -c copy -f segment` processes (measured
   before and after the recorder; the mean is the baseline);
2. recorder: recorded by N pipelines exactly as a `record` worker runs them (supervisor.run_pipeline in threads:
   Redis lease + heartbeat, ffmpeg, segment moves, Segment rows in PostgreSQL via the indexer, status).
CPU is measured over a window after a warm-up (ffmpeg's connect and probe excluded), from the scheduler's run
time of the ffmpeg processes plus, for the recorder, this process's own CPU ("python": that part).
"kept up" = segments indexed / segments expected in the window.

It creates its own test database (TEST_DATABASE_NAME, else test_vms_bench_recording) and drops it at the end:
    TEST_DATABASE_NAME=test_vms_rec REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/recording.py [seconds per run] [camera counts, e.g. 4,16]
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")
os.environ.setdefault("TEST_DATABASE_NAME", "test_vms_bench_recording")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402

from bench.cpu import ffmpeg_children, proc_cpu  # noqa: E402
from cameras.models import Camera  # noqa: E402
from cameras.pipeline import supervisor  # noqa: E402
from cameras.pipeline.lease import client  # noqa: E402
from playback import unindexed  # noqa: E402
from playback.models import Segment  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tests.rtsp_camera import RtspCamera  # noqa: E402

WARMUP_S = 8


def measure(pids: list[int], seconds: float) -> tuple[float, float]:
    """CPU seconds used during the next `seconds` by `pids`, and by this process."""
    before = sum(proc_cpu(pid) for pid in pids), time.process_time()
    time.sleep(seconds)
    return sum(proc_cpu(pid) for pid in pids) - before[0], time.process_time() - before[1]


def baseline(url: str, count: int, seconds: float, out: Path) -> float:
    """CPU seconds per stream of bare ffmpeg copies (over those still running: one that failed its probe
    of the stream exits, and the recorder would have restarted it)."""
    procs = []
    for i in range(count):
        (out / f"bare{i}").mkdir(parents=True)
        argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url, "-map", "0:v:0",
                "-c", "copy", "-f", "segment", "-segment_time", "2", "-segment_format", "mpegts",
                str(out / f"bare{i}" / "seg-%d.ts")]  # fmt: skip
        procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL))
    try:
        time.sleep(WARMUP_S)
        running = [p for p in procs if p.poll() is None]
        return measure([p.pid for p in running], seconds)[0] / len(running)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def recorder(url: str, count: int, seconds: float) -> tuple[float, float, float]:
    """CPU seconds of the recorders' ffmpeg processes and of this process (Python: index, lease, status)."""
    tenant = Tenant.objects.get_or_create(id="bench", defaults={"name": "Bench"})[0]
    cameras = [
        Camera.objects.create(tenant=tenant, slug=f"cam-{count}-{i}", name=f"Camera {i}", rtsp_url=url, features=[])
        for i in range(count)
    ]
    supervisor.shutting_down.clear()

    def run(pk: int) -> None:
        try:
            supervisor.run_pipeline("record", pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(c.pk,)) for c in cameras]
    for t in threads:
        t.start()
    try:
        time.sleep(WARMUP_S)
        pids = ffmpeg_children()
        parts_before = parts_recorded(cameras)
        ffmpeg_cpu, own_cpu = measure(pids, seconds)
        kept_up = (parts_recorded(cameras) - parts_before) / (count * seconds / settings.VMS_SEGMENT_SECONDS)
        return ffmpeg_cpu, own_cpu, kept_up
    finally:
        supervisor.shutting_down.set()
        for t in threads:
            t.join()


def parts_recorded(cameras: list[Camera]) -> int:
    """The 2 s parts the cameras have recorded: in indexed objects, and in the objects their recorders fill."""
    indexed = dict(Segment.objects.filter(camera__in=cameras).values_list("path", "sizes"))
    filling = [o for camera in cameras for o in unindexed.read(camera.pk) if o.path not in indexed]
    return sum(map(len, indexed.values())) + sum(len(o.sizes) for o in filling)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    counts = [int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "4,16").split(",")]
    old_root = settings.VMS_RECORDINGS_ROOT
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    camera = RtspCamera()
    camera.start()
    client().flushdb()
    print(f"{os.cpu_count()} cores; {seconds:g} s per run after {WARMUP_S} s warm-up; db {db_name}")
    heads = ["streams", "ffmpeg -c copy", "recorder", "ratio", "python", "kept up"]
    print("  ".join(f"{h:>{w}}" for h, w in zip(heads, [7, 14, 14, 6, 12, 7], strict=True)))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings.VMS_RECORDINGS_ROOT = Path(tmp) / "recordings"
            for count in counts:
                # The baseline runs before and after the recorder, so a drift of the machine hits both sides.
                bare = baseline(camera.url, count, seconds, Path(tmp) / f"bare-{count}-before")
                ours_ffmpeg, ours_python, kept_up = recorder(camera.url, count, seconds)
                bare = (bare + baseline(camera.url, count, seconds, Path(tmp) / f"bare-{count}-after")) / 2
                per = [100 * cpu / seconds for cpu in (bare, (ours_ffmpeg + ours_python) / count, ours_python / count)]
                print(
                    f"{count:>7}  {per[0]:>9.3f} %CPU  {per[1]:>9.3f} %CPU  {per[1] / per[0]:>5.2f}x"
                    f"  {per[2]:>7.3f} %CPU  {100 * kept_up:>6.0f}%",
                    flush=True,
                )
            cores = os.cpu_count() or 1
            print(f"CPU-bound capacity: ~{int(cores * 100 / per[1])} streams on {cores} cores")
    finally:
        camera.stop()
        settings.VMS_RECORDINGS_ROOT = old_root
        connection.creation.destroy_test_db(db_name, verbosity=0)


if __name__ == "__main__":
    main()
