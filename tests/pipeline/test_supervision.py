"""Pipeline supervision: Redis leases, reconcile, and a real Celery worker killed and replaced by another."""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from cameras.models import PipelineState
from cameras.pipeline import supervisor
from cameras.pipeline.lease import Lease, client, renew, revoke
from cameras.pipeline.nodes import announce
from cameras.pipeline.registry import PipelineKind
from playback.models import Segment

from .test_recorder import wait_for

LEASE_MS = 3000


def ffmpeg_children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm, ppid = fields[0].split("(", 1)[1], int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if comm == "ffmpeg" and ppid == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pids: list[int]) -> bool:
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_lease_is_exclusive_renewable_and_expires(db):
    first, second = Lease("vms:test:lease", 300), Lease("vms:test:lease", 300)
    assert first.acquire()
    assert not second.acquire()
    assert renew([first, second]) == [True, False]  # only the holder renews...
    second.release()  # ...or releases
    assert renew([first]) == [True]
    time.sleep(0.4)
    assert second.acquire(), "an expired lease is taken over"
    assert renew([first]) == [False]
    second.release()
    assert client().get("vms:test:lease") is None


def test_a_revoked_lease_is_not_renewed_nor_taken_until_its_holder_lets_it_go(db):
    holder, other = Lease("vms:test:lease", 60_000), Lease("vms:test:lease", 60_000)
    assert holder.acquire()
    assert not revoke(holder.key, other.token, 60_000), "only the lease held with that token is revoked"
    assert revoke(holder.key, holder.token, 60_000)
    assert renew([holder]) == [False]
    assert not other.acquire()
    other.release()  # not its lease: nothing happens
    assert not other.acquire()
    holder.release()
    assert other.acquire()


def test_a_lease_redis_lost_is_taken_again_by_its_holder(db):
    """Redis restarted without persistence comes back empty: the holder keeps its lease, and its pipeline runs."""
    holder, other = Lease("vms:test:lease", 60_000), Lease("vms:test:lease", 60_000)
    assert holder.acquire()
    client().flushdb()
    assert renew([holder]) == [True]
    assert not other.acquire()
    assert client().pttl(holder.key) > 59_000


def test_one_heartbeat_renews_every_lease_of_the_process_and_stops_a_lost_ones_pipeline(db):
    kept, lost = Lease("vms:test:kept", 600), Lease("vms:test:lost", 600)
    kept_stop, lost_stop = threading.Event(), threading.Event()
    assert kept.acquire() and lost.acquire()
    heartbeat = supervisor.Heartbeat()
    heartbeat.hold(kept, kept_stop)
    heartbeat.hold(lost, lost_stop)
    revoke(lost.key, lost.token, 600)  # e.g. reconcile stopping that camera's pipeline
    assert lost_stop.wait(1), "the pipeline whose lease is revoked is told to stop"
    time.sleep(1)  # past the leases' lifetime: only renewals keep `kept`
    assert client().get(kept.key) is not None and not kept_stop.is_set()
    heartbeat.release(kept)
    heartbeat.release(lost)
    time.sleep(1.2)  # a renewal already under way adds at most one lifetime
    assert client().get(kept.key) is None, "a released lease is no longer renewed"
    kept.release()


@pytest.mark.django_db(transaction=True)
def test_one_runner_per_camera_and_reconcile_stops_a_disabled_camera(live_camera, settings):
    settings.VMS_PIPELINE_LEASE_MS = LEASE_MS

    def run() -> None:
        try:
            supervisor.run_pipeline("record", live_camera.pk)
        finally:
            connections.close_all()

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    wait_for(lambda: Segment.objects.filter(camera=live_camera).exists(), timeout=30)
    state = PipelineState.objects.get(camera=live_camera, kind="record")
    assert (state.state, state.worker) == ("running", supervisor.worker_name())

    started = time.monotonic()
    supervisor.run_pipeline("record", live_camera.pk)  # a second task for the camera: the lease is taken
    assert time.monotonic() - started < 1
    assert supervisor.reconcile() == {"started": 0, "stopped": 0, "waiting": 0}  # running: nothing to queue

    live_camera.enabled = False
    live_camera.save()
    assert supervisor.reconcile() == {"started": 0, "stopped": 1, "waiting": 0}
    runner.join(LEASE_MS / 1000 + 10)
    assert not runner.is_alive()
    assert ffmpeg_children(os.getpid()) == []
    assert PipelineState.objects.get(camera=live_camera, kind="record").state == "stopped"
    assert supervisor.reconcile() == {"started": 0, "stopped": 0, "waiting": 0}


def start_worker(name: str, log: Path) -> subprocess.Popen:
    """A real `celery -A vms worker` on the record queue, on this test's database, Redis and recordings root."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "VMS_RECORDINGS_ROOT": str(settings.VMS_RECORDINGS_ROOT),
        "VMS_PIPELINE_LEASE_MS": str(LEASE_MS),
    }
    argv = [str(Path(settings.BASE_DIR) / ".venv/bin/celery"), "-A", "vms", "worker", "-Q", "record",
            "--pool", "threads", "--concurrency", "4", "-n", f"{name}@%h", "-l", "info",
            "--without-mingle", "--without-gossip", "--without-heartbeat"]  # fmt: skip
    return subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


@pytest.mark.django_db(transaction=True)
def test_killed_worker_camera_is_taken_over(live_camera, tmp_path):
    workers: list[subprocess.Popen] = []
    try:
        workers.append(start_worker("rec1", tmp_path / "rec1.log"))
        first = workers[0].pid

        def running_on(pid: int):
            supervisor.reconcile()
            state = PipelineState.objects.filter(camera=live_camera, state="running").first()
            return state if state and state.worker.endswith(f"pid {pid}") else None

        wait_for(lambda: running_on(first), timeout=60, step=1)
        wait_for(lambda: Segment.objects.filter(camera=live_camera).exists(), timeout=30)
        recorders = wait_for(lambda: ffmpeg_children(first), timeout=5)
        assert len(recorders) == 1

        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        killed_at = time.time()
        wait_for(lambda: gone(recorders), timeout=5)  # no orphan ffmpeg, even after SIGKILL

        workers.append(start_worker("rec2", tmp_path / "rec2.log"))
        second = workers[1].pid
        state = wait_for(lambda: running_on(second), timeout=60, step=1)
        assert "lease expired" in state.last_error
        wait_for(lambda: Segment.objects.filter(camera=live_camera, start__gt=_ts(killed_at)).exists(), timeout=30)
        recorders = wait_for(lambda: ffmpeg_children(second), timeout=5)
        assert len(recorders) == 1

        # SIGTERM: a warm shutdown that stops the recorder and its ffmpeg, not one that waits forever.
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(20) == 0
        assert gone(recorders)
        assert PipelineState.objects.get(camera=live_camera, kind="record").state == "stopped"
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def _ts(epoch: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC)


def crash(camera, should_stop) -> None:
    raise RuntimeError(f"cannot open {camera.rtsp_url}")


def test_crashed_pipeline_is_visible_and_restarted_after_backoff(camera_a, monkeypatch, settings):
    crashing = PipelineKind("crash", queue="crashq", wanted=lambda camera: camera.enabled)
    monkeypatch.setattr(supervisor, "KINDS", {"crash": crashing})
    settings.VMS_PIPELINE_RUNNERS = {"crash": f"{__name__}.crash"}
    camera_a.rtsp_url = "rtsp://viewer:s3cret@10.0.0.5/x"
    camera_a.save()

    settings.VMS_PIPELINE_LEASE_MS = 60_000
    announce("node-1", "crash", capacity=1, slots=1, since=time.time())
    supervisor.run_pipeline("crash", camera_a.pk)
    state = PipelineState.objects.get(camera=camera_a, kind="crash")
    assert (state.state, state.failures) == ("failed", 1)
    assert "RuntimeError: cannot open rtsp://viewer:***@10.0.0.5/x" in state.last_error
    assert "s3cret" not in state.last_error
    assert client().get(supervisor.lease_key("crash", camera_a.pk)) is None, "a crashed run gives its lease back"

    assert supervisor.reconcile()["started"] == 0  # within the 2 s backoff
    time.sleep(2.1)
    assert supervisor.reconcile()["started"] == 1
    queue_key = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] + "crashq.node-1"
    assert client().llen(queue_key) == 1  # queued for the worker of that queue on the node with room
    assert supervisor.reconcile()["started"] == 0  # already queued: not twice


@pytest.mark.django_db(transaction=True)
def test_editing_a_camera_restarts_its_running_pipeline(live_camera):
    key = supervisor.lease_key("record", live_camera.pk)
    lease = Lease(key, 60_000, holder="elsewhere")
    assert lease.acquire()
    PipelineState.objects.create(camera=live_camera, kind="record", state="running", since=live_camera.updated_at)
    supervisor.reconcile()
    assert client().get(key) is not None, "an unedited camera's pipeline keeps running"

    live_camera.fps = 10
    live_camera.save()
    assert supervisor.reconcile()["stopped"] == 1
    assert renew([lease]) == [False], "the edited camera's lease is taken away, so its runner returns"
    assert supervisor.reconcile()["stopped"] == 0, "stopped once"
    lease.release()
    assert client().get(key) is None


@pytest.mark.django_db(transaction=True)
def test_a_pipeline_taken_for_lost_while_redis_restarted_runs_on(live_camera, settings):
    settings.VMS_PIPELINE_LEASE_MS = 60_000  # the node's announcement outlives the test
    lease = Lease(supervisor.lease_key("record", live_camera.pk), 60_000, holder="elsewhere pid 1")
    assert lease.acquire()
    PipelineState.objects.create(
        camera=live_camera, kind="record", state="running", worker="elsewhere pid 1", since=live_camera.updated_at
    )
    client().flushdb()  # Redis restarted empty, and a reconcile ran before the holder's next renewal
    assert supervisor.reconcile() == {"started": 0, "stopped": 0, "waiting": 1}, "no node announced itself yet"
    assert PipelineState.objects.get(camera=live_camera).state == "waiting"
    announce("elsewhere", "record", capacity=8, slots=8, since=time.time())  # its node announces itself again...
    assert supervisor.reconcile() == {"started": 0, "stopped": 0, "waiting": 0}, "not started: within the backoff"

    assert renew([lease]) == [True]  # ...and the holder takes its lease again
    assert supervisor.reconcile() == {"started": 0, "stopped": 0, "waiting": 0}
    assert PipelineState.objects.get(camera=live_camera).state == "running"
