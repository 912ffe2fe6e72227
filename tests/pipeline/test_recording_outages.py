"""Recording goes on through restarts of PostgreSQL and Redis: two `record` workers, as the Procfile starts them,
record cameras while PostgreSQL is stopped for 8 s, Redis is restarted (empty: no persistence) and, while the
cameras' leases come back, PostgreSQL is stopped again. The index has no hole beyond one segment, and every segment
on disk is in it.

The servers restarted are the test's own (tests/servers.py), never the shared ones."""

import itertools
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from cameras.models import Camera
from playback.models import Segment

from ..processes import child_env, started
from ..servers import PrivatePostgres, PrivateRedis
from .test_recorder import wait_for

CAMERAS = 4
OUTAGE_S = 8
SETUP = """
from cameras.models import Camera
from tenants.models import Tenant
tenant = Tenant.objects.create(id="tenant-a", name="Tenant A")
for n in range({cameras}):
    Camera.objects.create(tenant=tenant, slug=f"cam-{{n}}", name=f"Camera {{n}}", rtsp_url="{url}", features=[])
"""


@pytest.fixture
def servers():
    postgres, redis = PrivatePostgres(), PrivateRedis()
    try:
        postgres.start()
        postgres.createdb("vms")
        redis.start()
        yield postgres, redis
    finally:
        redis.remove()
        postgres.remove()


def index(postgres: PrivatePostgres) -> dict[int, list[tuple]]:
    """Each camera's indexed segments (start, duration, path), in order."""
    query = f"SELECT camera_id, start, duration, path FROM {Segment._meta.db_table} ORDER BY camera_id, start"
    with psycopg.connect(postgres.url("vms")) as db:
        rows = db.execute(query).fetchall()
    return {camera: [row[1:] for row in group] for camera, group in itertools.groupby(rows, key=lambda r: r[0])}


def holes(segments: list[tuple]) -> list[tuple[str, float]]:
    """(from when, seconds) of every gap between consecutive segments (beyond the clocks' jitter)."""
    gaps = [(prev[0] + timedelta(seconds=prev[1]), nxt[0]) for prev, nxt in itertools.pairwise(segments)]
    seconds = [(end, (start - end).total_seconds()) for end, start in gaps]
    return [(f"{end:%H:%M:%S}", round(gap, 2)) for end, gap in seconds if gap > 0.05]


def test_recording_goes_on_through_postgresql_and_redis_restarts(servers, rtsp_url, tmp_path):
    postgres, redis = servers
    # tests.settings, which the workers load too, takes Redis from TEST_REDIS_URL.
    env = child_env("setup", DATABASE_URL=postgres.url("vms"), REDIS_URL=redis.url, TEST_REDIS_URL=redis.url)
    for command in (["migrate", "-v0"], ["shell", "-c", SETUP.format(cameras=CAMERAS, url=rtsp_url)]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=settings.BASE_DIR, env=env, check=True, timeout=120)

    def node(name: str, *options: str):
        argv = [sys.executable, "-m", "celery", "-A", "vms", "worker", "-n", f"{name}@%h", "-l", "info", "--pool",
                "threads", "--concurrency", "8", "--without-mingle", "--without-gossip", *options]  # fmt: skip
        node_env = {**env, "DATABASE_URL": postgres.url("vms", application_name=name)}
        return started(argv, tmp_path / f"{name}.log", r"ready\.", node_env)

    # Two recording nodes as the Procfile's `record`; the first also runs the beat, whose reconcile (every 5 s, on
    # the default queue) starts the pipelines.
    beat = ["-B", "-s", str(tmp_path / "beat-schedule")]
    with node("node1", "-Q", "record,default", *beat), node("node2", "-Q", "record"):
        wait_for(lambda: len(index(postgres)) == CAMERAS, timeout=60, step=1)
        time.sleep(4)
        first_outage = datetime.now(UTC)
        postgres.stop()
        time.sleep(OUTAGE_S)
        postgres.start()
        time.sleep(6)
        redis.stop()  # its leases, queues and pending starts are gone
        redis.start()
        time.sleep(4)  # the leases come back: a recorder restarting now would meet the outage that follows
        postgres.stop()
        time.sleep(OUTAGE_S)
        postgres.start()
        time.sleep(8)  # the index catches up
        stopped = datetime.now(UTC)
        with psycopg.connect(postgres.url("vms")) as db:
            statuses = db.execute(f"SELECT status FROM {Camera._meta.db_table}").fetchall()
        assert statuses == [("online",)] * CAMERAS, "the status writes the outages refused are stored"

    found = index(postgres)
    report = {camera: holes(segments) for camera, segments in found.items()}
    print("holes (from, seconds) per camera:", report)
    root = Path(settings.VMS_RECORDINGS_ROOT)
    on_disk = {path.relative_to(root).as_posix() for path in root.glob("tenant-a/*/*/*/*.ts")}
    assert on_disk - {segment[2] for segments in found.values() for segment in segments} == set(), "all indexed"
    assert len(found) == CAMERAS
    for segments in found.values():
        first, last = segments[0], segments[-1]
        assert first[0] < first_outage and last[0] + timedelta(seconds=last[1] + 6) > stopped, "recorded throughout"
    assert all(seconds <= settings.VMS_SEGMENT_SECONDS for gaps in report.values() for _, seconds in gaps), report
