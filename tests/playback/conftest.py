"""Real recordings for playback tests: demo-street.mp4 cut by ffmpeg into 2 s MPEG-TS segments, indexed."""

import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection

from playback import paths

from ..factories import SegmentFactory

DEMO = Path(settings.BASE_DIR).parent / "shared" / "media" / "demo-street.mp4"
DEMO_FRAMES = 200  # 20 s at 10 fps
DEMO_SEGMENTS = 10
# A finished hour of the past: its playlist is VOD.
HOUR = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo_segments(tmp_path_factory) -> list[tuple[Path, float]]:
    """The ten 2 s segments of the demo clip and their durations, cut once per session with `-c copy`."""
    out = tmp_path_factory.mktemp("demo-hls")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(DEMO), "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
         "-hls_segment_filename", str(out / "seg-%03d.ts"), str(out / "cut.m3u8")],
        check=True, timeout=60,
    )  # fmt: skip
    lines = (out / "cut.m3u8").read_text().splitlines()
    return [
        (out / name, float(info.removeprefix("#EXTINF:").rstrip(",")))
        for info, name in itertools.pairwise(lines)
        if info.startswith("#EXTINF:")
    ]


@pytest.fixture
def record(demo_segments):
    """record(camera, start, count=10, gap_after=None, gap=10): write and index `count` demo segments from `start`.

    With `gap_after=n`, `gap` seconds without recording follow the n-th segment.
    """

    def make(camera, start=HOUR, count=DEMO_SEGMENTS, gap_after=None, gap=10.0):
        segments, moment = [], start
        for i in range(count):
            source, duration = demo_segments[i % len(demo_segments)]
            folder = paths.hour_dir(camera.tenant_id, camera.slug, *paths.hour_parts(moment))
            target = folder / f"seg-{int(moment.timestamp() * 1000)}.ts"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            relative = target.relative_to(settings.VMS_RECORDINGS_ROOT).as_posix()
            size = target.stat().st_size
            segments.append(SegmentFactory(camera=camera, start=moment, duration=duration, bytes=size, path=relative))
            moment += timedelta(seconds=duration + (gap if i + 1 == gap_after else 0))
        return segments

    return make


@pytest.fixture
def daphne(transactional_db, tmp_path):
    """A real daphne serving vms.asgi on a free port, on this test's database and recordings: `.url`, `.log`."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "VMS_RECORDINGS_ROOT": str(settings.VMS_RECORDINGS_ROOT),
        "DEBUG": "true",
    }
    log = tmp_path / "daphne.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-e", "tcp:0:interface=127.0.0.1", "vms.asgi:application"],
            cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"Listening on TCP address (127\.0\.0\.1:\d+)", log.read_text())):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"daphne did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield SimpleNamespace(url=f"http://{found.group(1)}", log=log)
    finally:
        server.terminate()
        server.wait(timeout=10)
