"""An export job on a real Celery worker of queue `export`: a worker SIGKILLed mid-job loses nothing, another worker
gets the job again and makes it from scratch."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings

from cameras.pipeline.lease import client
from playback import paths
from playback.models import Export, Segment

from ..processes import child_env
from .conftest import HOUR

SEGMENTS = 600  # 20 minutes of 2 s segments: a job long enough (about 10 s here) to kill in the middle


def index_recording(camera, demo_segments, count: int = SEGMENTS) -> None:
    """`count` of the demo clip's segments from HOUR, hard-linked (not copied) into the camera's folders and indexed."""
    rows, moment = [], HOUR
    for i in range(count):
        source, duration = demo_segments[i % len(demo_segments)]
        folder = paths.hour_dir(camera.tenant_id, camera.slug, *paths.hour_parts(moment))
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"seg-{int(moment.timestamp() * 1000)}.ts"
        os.link(source, target)
        relative = target.relative_to(settings.VMS_RECORDINGS_ROOT).as_posix()
        rows.append(Segment(tenant_id=camera.tenant_id, camera=camera, start=moment, duration=duration,
                            bytes=target.stat().st_size, path=relative, sizes=[target.stat().st_size],
                            durations=[duration]))  # fmt: skip
        moment += timedelta(seconds=duration)
    Segment.objects.bulk_create(rows)


def worker(log) -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "vms", "worker", "-Q", "export", "--pool", "solo", "-l", "info",
            "--without-mingle", "--without-gossip", "--without-heartbeat"]  # fmt: skip
    env = child_env("celery-export", VMS_BROKER_VISIBILITY_TIMEOUT="1")
    with log.open("a") as out:
        return subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition, what: str, log, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_s_export_is_done_again_by_another(client_a, camera_a, demo_segments, tmp_path):
    client().flushdb()
    index_recording(camera_a, demo_segments)
    log = tmp_path / "worker.log"
    first = worker(log)
    try:
        response = client_a.post(
            "/v2/api/exports",
            {
                "camera_ids": [camera_a.slug],
                "start": HOUR.isoformat(),
                "end": (HOUR + timedelta(minutes=20)).isoformat(),
            },
            format="json",
        )
        assert response.status_code == 202, response.json()
        job = Export.objects.get(pk=response.json()["id"])
        folder = settings.VMS_RECORDINGS_ROOT / f"tenant-a/.exports/{job.pk}"
        wait_for(lambda: list(folder.glob("*.part")), "the first worker to start writing", log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        job.refresh_from_db()
        assert job.state == Export.State.RUNNING
        assert not (folder / "cam-front-01.mp4").exists()  # a half-made file never shows as done
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    second = worker(log)
    try:
        wait_for(lambda: Export.objects.get(pk=job.pk).state in ("done", "failed"), "the second worker", log, 120)
    finally:
        second.terminate()
        second.wait(timeout=30)
        client().flushdb()

    body = client_a.get(f"/v2/api/exports/{job.pk}").json()
    assert body["state"] == "done", body["error"]
    file = body["files"][0]
    mp4 = folder / "cam-front-01.mp4"
    assert hashlib.sha256(mp4.read_bytes()).hexdigest() == file["sha256"]
    assert abs(file["duration"] - 1200) <= 4
    assert not list(folder.glob("*.part"))
