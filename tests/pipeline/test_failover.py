"""Failover in seconds, on two nodes: two record nodes (real Celery workers, as the Procfile's `record`, with their own
node names and recordings roots, one bucket of a real S3 server, one database) take six cameras of the real RTSP
camera 3 and 3; one is killed with SIGKILL, and its cameras record again on the other. When a worker starts again on
the killed node's machine, it indexes and uploads what the killed one had not: then the index has no hole over 10 s
and never two recordings of a camera at once for longer than a segment, and a web process of the surviving node
plays what the killed node recorded, from the bucket. Reconcile runs every second, as the beat runs it."""

import itertools
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from django.db import connections

from cameras.models import Camera, PipelineState
from cameras.pipeline import supervisor
from cameras.pipeline.nodes import alive
from playback.models import Segment

from ..factories import CameraFactory, TenantFactory
from ..processes import child_env, running_daphne
from .test_object_storage import BYTERANGE
from .test_recorder import wait_for
from .test_recording_outages import holes

CAMERAS = 6
WORST_GAP_S = 10.0


def start_node(name: str, tmp_path, env: dict[str, str]) -> subprocess.Popen:
    root = tmp_path / name / "recordings"
    root.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "celery", "-A", "vms", "worker", "-Q", "record", "-n", f"{name}@%h", "--pool",
            "threads", "--concurrency", "8", "-l", "info", "--without-mingle", "--without-gossip",
            "--without-heartbeat"]  # fmt: skip
    env = child_env(name, VMS_NODE_NAME=name, VMS_RECORDINGS_ROOT=str(root), **env)
    log = (tmp_path / f"{name}.log").open("a")
    return subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def doubled(segments: list[Segment]) -> float:
    """The longest stretch of time two or more of the segments cover at once (two recorders of one camera)."""
    edges = sorted(
        itertools.chain.from_iterable(((s.start, 1), (s.start + timedelta(seconds=s.duration), -1)) for s in segments),
        key=lambda edge: (edge[0], edge[1]),  # an end before a start at the same instant: touching is not doubled
    )
    longest, covering, since = 0.0, 0, None
    for at, step in edges:
        covering += step
        if covering >= 2 and since is None:
            since = at
        elif covering < 2 and since is not None:
            longest, since = max(longest, (at - since).total_seconds()), None
    return longest


def running_on() -> Counter:
    states = PipelineState.objects.filter(kind="record", state="running")
    return Counter(supervisor.node_of(state.worker) for state in states)


@pytest.mark.django_db(transaction=True)
def test_a_killed_node_s_cameras_record_again_on_the_other_within_ten_seconds(rtsp_url, tmp_path, s3, make_token):
    tenant = TenantFactory(id="tenant-a")
    cameras = CameraFactory.create_batch(CAMERAS, tenant=tenant, rtsp_url=rtsp_url, features=[])
    nodes = {name: start_node(name, tmp_path, s3.env) for name in ("node-a", "node-b")}
    try:

        def reconciled(done) -> bool:
            supervisor.reconcile()
            return done()

        def all_recording() -> bool:
            recording = Segment.objects.values("camera").distinct().count() == CAMERAS
            return recording and sum(running_on().values()) == CAMERAS

        wait_for(lambda: {node.name for node in alive()} == set(nodes), timeout=60)  # both up before placing
        wait_for(lambda: reconciled(all_recording), timeout=60, step=1)
        assert running_on() == {"node-a": 3, "node-b": 3}, "least loaded first"
        moved = [s.camera_id for s in PipelineState.objects.filter(kind="record", worker__startswith="node-a ")]
        time.sleep(4)

        nodes["node-a"].send_signal(signal.SIGKILL)
        nodes["node-a"].wait(10)
        killed = time.time()

        def taken_over() -> bool:
            return running_on() == {"node-b": CAMERAS}

        wait_for(lambda: reconciled(taken_over), timeout=30, step=1)
        taken_over_s = time.time() - killed
        wait_for(lambda: reconciled(lambda: time.time() > killed + 20), timeout=30, step=1)  # recorded on since
        orphans = [p.relative_to(tmp_path / "node-a" / "recordings") for p in tmp_path.glob("node-a/**/*.ts.parts")]
        assert orphans, "node-a was killed while filling objects"

        nodes["node-a"] = start_node("node-a", tmp_path, s3.env)  # a worker starts again on that machine
        recovered = [o.with_suffix("").as_posix() for o in orphans]
        wait_for(lambda: Segment.objects.filter(path__in=recovered).count() == len(recovered), timeout=30)
        wait_for(lambda: not Segment.objects.filter(uploaded_at__isnull=True).exists(), timeout=60)
        played = play_from_the_surviving_node(tmp_path, make_token(tenant), moved, recovered, s3.env)
    finally:
        for node in nodes.values():
            if node.poll() is None:
                node.terminate()
                node.wait(20)
        connections.close_all()

    report, worst = {}, {}
    for camera in Camera.objects.order_by("pk"):
        segments = list(Segment.objects.filter(camera=camera).order_by("start"))
        report[camera.slug] = holes([(s.start, s.duration) for s in segments])
        worst[camera.pk] = max((seconds for _, seconds in report[camera.slug]), default=0.0)
        assert doubled(segments) <= settings.VMS_SEGMENT_SECONDS, f"{camera.slug} recorded twice at once"
        assert segments[-1].start.timestamp() > killed + 10, f"{camera.slug} records on after the kill"
    print(f"taken over in {taken_over_s:.1f} s; holes (from, seconds) per camera:", report)
    print(f"node-b's web played {played} parts that node-a recorded, from the bucket")
    assert max(worst[pk] for pk in moved) <= WORST_GAP_S, report
    assert all(worst[camera.pk] <= settings.VMS_SEGMENT_SECONDS for camera in cameras if camera.pk not in moved), report


def play_from_the_surviving_node(
    tmp_path, token: str, moved: list[int], recorded_by_a: list[str], storage_env: dict[str, str]
) -> int:
    """Fetch, through a web process of node-b (its recordings root), every part of node-a's recovered objects that
    the hour playlists of the moved cameras list: node-b's disk never had them, the bucket serves them."""
    root_a, root_b = tmp_path / "node-a" / "recordings", tmp_path / "node-b" / "recordings"
    env = {"VMS_RECORDINGS_ROOT": str(root_b), "VMS_NODE_NAME": "node-b", **storage_env}
    played = 0
    with running_daphne(tmp_path / "web-b.log", **env) as web:
        for camera in Camera.objects.filter(pk__in=moved):
            mine = [path for path in recorded_by_a if path.split("/")[1] == camera.slug]
            for path in mine:
                hour = "/".join(path.split("/")[2:4])
                playlist = fetch(f"{web.url}/v2/hls/{camera.slug}/{hour}/index.m3u8?token={token}").decode()
                for size, offset, url in BYTERANGE.findall(playlist):
                    if not url.startswith(f"/v2/hls/{camera.slug}/{hour}/{path.rsplit('/', 1)[1]}"):
                        continue
                    assert not (root_b / path).exists()
                    first, last = int(offset), int(offset) + int(size) - 1
                    data = fetch(f"{web.url}{url}", Range=f"bytes={first}-{last}")
                    assert data == (root_a / path).read_bytes()[first : last + 1]
                    played += 1
    assert played, "the playlists list node-a's recovered objects"
    return played


def fetch(url: str, **headers: str) -> bytes:
    with urlopen(Request(url, headers=headers), timeout=10) as response:
        return response.read()
