"""Runs one pipeline of one camera under a Redis lease, and reconciles the wanted pipelines with the running ones.

Keys in Redis, per camera primary key and kind (after VMS_REDIS_PREFIX):
  :pipeline:<kind>:<camera pk>:lease    held by the one task running it (renewed every ttl/3, all the
                                        leases of a process together)
  :pipeline:<kind>:<camera pk>:pending  the node a queued start was given to, so reconcile does not queue it
                                        twice (and counts it in that node's load)
Each pipeline goes to the node with the most room for it (nodes.py), through the node's own queue; one that fits
nowhere is shown waiting for capacity, and placed by a later reconcile as soon as a node has room.
Stopping a pipeline anywhere = revoking its lease: the holder's next renewal fails and its runner returns. A lease
that Redis lost (restarted empty) is taken again by its holder, so a Redis restart stops nothing.
A camera edited after its pipeline started gets its pipeline stopped, and so restarted with the new settings.
"""

import logging
import os
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError
from django.utils import timezone

from cameras.models import Camera, PipelineState
from cameras.rtsp import HostNotAllowed, check_host_allowed, mask_credentials
from tenants.health import report_waiting

from .lease import REVOKED, Lease, client, renew, revoke
from .nodes import Node, alive, most_room, node_queue
from .registry import KINDS

logger = logging.getLogger(__name__)

PENDING_TTL_S = 60  # a queued start nobody picked up is queued again after this
MAX_BACKOFF_S = 300
STABLE_RUN_S = 60  # a run this long resets the failure count
LAST_ERROR_CHARS = 300
RENEW_RETRY_S = 0.5  # after a failed renewal (Redis away), the leases are renewed (or taken again) this often
WORKER_LOST = "worker lost"
WAITING_FOR_CAPACITY = "waiting for capacity"


def worker_name() -> str:
    """This process as operators see it (computed per call: prefork pool children have their own pid); a lease's
    holder starts with it, so the leases say what each node runs."""
    return f"{settings.VMS_NODE_NAME} pid {os.getpid()}"


# Set when the Celery worker shuts down (SIGTERM): every runner of this process returns and stops its ffmpeg.
shutting_down = threading.Event()


def _key(kind: str, camera_pk: int | str, what: str) -> str:
    return f"{settings.VMS_REDIS_PREFIX}:pipeline:{kind}:{camera_pk}:{what}"


def lease_key(kind: str, camera_pk: int) -> str:
    return _key(kind, camera_pk, "lease")


def _pending_key(kind: str, camera_pk: int) -> str:
    return _key(kind, camera_pk, "pending")


def report(camera: Camera, kind: str, detail: str) -> None:
    """Show a non-fatal problem of a running pipeline to operators (empty `detail` clears it)."""
    PipelineState.objects.filter(camera=camera, kind=kind).update(detail=mask_credentials(detail)[:500])


class Heartbeat:
    """Renews the leases of every pipeline of this process in one Redis round trip per third of their lifetime
    (a thread and a round trip per pipeline cost a recorder a tenth of its ffmpeg's CPU); a lease found lost or
    taken stops its pipeline. Its thread runs while the process holds leases."""

    def __init__(self) -> None:
        self._held: dict[Lease, threading.Event] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, lease: Lease, stop: threading.Event) -> None:
        """Keep `lease` renewed until `release`; set `stop` if it is lost."""
        with self._lock:
            self._held[lease] = stop
            if self._thread is None:
                self._thread = threading.Thread(target=self._renew_while_held, name="lease heartbeat", daemon=True)
                self._thread.start()

    def release(self, lease: Lease) -> None:
        with self._lock:
            self._held.pop(lease, None)

    def _renew_while_held(self) -> None:
        failing = False
        while True:
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
                interval_s = min(lease.ttl_ms for lease in self._held) / 3000
            # Redis away: the pipelines run on, and their leases are taken again as soon as it is back, before
            # a reconcile could find them free and start the same pipelines elsewhere.
            time.sleep(min(interval_s, RENEW_RETRY_S) if failing else interval_s)
            with self._lock:
                held = list(self._held.items())
            try:
                renewed = renew([lease for lease, _ in held])
            except Exception:
                if not failing:
                    logger.warning("lease renewal failed; retrying", exc_info=True)
                failing = True
                continue
            if failing:
                logger.info("leases renewed again")
                failing = False
            for (lease, stop), ok in zip(held, renewed, strict=True):
                if not ok:
                    logger.info("lease %s lost; stopping", lease.key)
                    stop.set()


heartbeat = Heartbeat()


def run_pipeline(kind_name: str, camera_pk: int) -> None:
    """Run `kind_name` for the camera while this process holds its lease; return at once if another does."""
    kind = KINDS[kind_name]
    client().delete(_pending_key(kind_name, camera_pk))
    camera = Camera.objects.select_related("tenant").filter(pk=camera_pk).first()
    if camera is None or not kind.wanted(camera):
        return
    lease = Lease(lease_key(kind_name, camera_pk), settings.VMS_PIPELINE_LEASE_MS, holder=worker_name())
    if not lease.acquire():
        return
    stop = threading.Event()
    heartbeat.hold(lease, stop)
    started = time.monotonic()
    try:
        if not _mark_running(camera, kind_name):
            return
        logger.info("%s of %s started", kind_name, camera)
        # Before every start, as a name may resolve elsewhere since the camera was saved. One fixed message, so
        # a denied host's pipeline never tells "connection refused" from "invalid data".
        for url in camera.stream_urls:
            check_host_allowed(url, settings.VMS_CAMERA_DENY_NETS)
        kind.run(camera, lambda: stop.is_set() or shutting_down.is_set())
    except HostNotAllowed as exc:
        logger.warning("%s of %s not started: %s", kind_name, camera, exc)
        _stopped(camera, kind_name, error=str(exc))
    except Exception as exc:
        logger.exception("%s of %s failed", kind_name, camera)  # the traceback goes to the log only
        error = mask_credentials(f"{type(exc).__name__}: {exc}")[:LAST_ERROR_CHARS]
        _stopped(camera, kind_name, error=error, ran_s=time.monotonic() - started)
    else:
        _stopped(camera, kind_name)
        logger.info("%s of %s stopped", kind_name, camera)
    finally:
        heartbeat.release(lease)
        try:
            lease.release()
        except Exception:  # Redis away: the lease expires by itself
            logger.warning("could not release %s", lease.key, exc_info=True)


def _mark_running(camera: Camera, kind_name: str) -> bool:
    """Show the pipeline as running on this worker; False when the camera was deleted since it was read."""
    running = {"state": PipelineState.State.RUNNING, "worker": worker_name(), "since": timezone.now(), "detail": ""}
    try:
        PipelineState.objects.update_or_create(camera=camera, kind=kind_name, defaults=running)
    except IntegrityError:  # the camera row is gone (a delete racing this start): the insert's foreign key fails
        return False
    return True


def _stopped(camera: Camera, kind: str, error: str = "", ran_s: float = 0) -> None:
    # Only a state this worker wrote: one whose lease another worker took meanwhile shows that worker's run.
    rows = PipelineState.objects.filter(camera=camera, kind=kind, worker=worker_name())
    try:
        if error:
            state = rows.first()
            if state is not None:
                state.state, state.last_error, state.last_error_at = PipelineState.State.FAILED, error, timezone.now()
                # The backoff grows only while it keeps failing soon after starting.
                state.failures = state.failures + 1 if ran_s < STABLE_RUN_S else 1
                state.save(update_fields=["state", "last_error", "last_error_at", "failures"])
        else:
            rows.update(state=PipelineState.State.STOPPED, failures=0)
    except (DatabaseError, InterfaceError):  # PostgreSQL away: reconcile finds the lease gone and says so
        logger.warning("could not store that %s of %s stopped", kind, camera, exc_info=True)


def _in_backoff(state: PipelineState | None) -> bool:
    # A pipeline waiting for capacity keeps the backoff of its last failure.
    waited = (PipelineState.State.FAILED, PipelineState.State.WAITING)
    if state is None or state.state not in waited or state.last_error_at is None:
        return False
    delay = min(2**state.failures, MAX_BACKOFF_S)
    return timezone.now() < state.last_error_at + timedelta(seconds=delay)


@dataclass
class Placement:
    """The nodes alive, each with the pipelines it runs (its leases) or was given (queued starts), and who holds
    each lease and queued start."""

    nodes: list[Node]
    holders: dict[str, bytes]  # lease key -> holder
    queued: dict[str, str]  # pending key -> node name

    @classmethod
    def read(cls, cameras: dict[int, Camera]) -> "Placement":
        redis = client()
        nodes = alive()
        by_name = {(node.kind, node.name): node for node in nodes}
        found = {}
        for what in ("lease", "pending"):
            keys = [key.decode() for key in redis.scan_iter(match=_key("*", "*", what), count=1000)]
            values = redis.mget(keys) if keys else []
            # A key gone between the scan and the read (expired, released) is left out.
            found[what] = {key: value for key, value in zip(keys, values, strict=True) if value is not None}
        for key, value in [*found["lease"].items(), *found["pending"].items()]:
            kind_name, pk = key.split(":")[-3:-1]
            camera, node = cameras.get(int(pk)), by_name.get((kind_name, node_of(value.decode())))
            if camera is not None and node is not None and kind_name in KINDS:
                node.take(camera.pk, KINDS[kind_name].need(camera))
        return cls(nodes, found["lease"], {key: value.decode() for key, value in found["pending"].items()})

    def is_alive(self, kind: str, name: str) -> bool:
        return any(node.kind == kind and node.name == name for node in self.nodes)

    def node_for(self, kind_name: str, camera: Camera) -> Node | None:
        return most_room([node for node in self.nodes if node.kind == kind_name], KINDS[kind_name].need(camera))


def node_of(worker: str) -> str:
    """The node of a worker name or lease holder ("<node> pid <pid>[ <token>]", perhaps revoked)."""
    return worker.removeprefix(REVOKED).split(" pid ", 1)[0]


def reconcile() -> dict[str, int]:
    """Place the wanted pipelines nobody runs on the nodes with the most room, stop the unwanted ones; returns how
    many of each, and how many wait for capacity."""
    redis = client()
    cameras = {c.pk: c for c in Camera.objects.all()}
    states = {(s.camera_id, s.kind): s for s in PipelineState.objects.filter(camera__in=cameras.keys())}
    placement = Placement.read(cameras)
    started = stopped = 0
    waiting: list[tuple[Camera, str]] = []
    # Leases of deleted cameras (or kinds no longer registered) are stopped too.
    for key, holder in placement.holders.items():
        kind_name, pk = key.split(":")[-3:-1]
        camera = cameras.get(int(pk))
        if kind_name not in KINDS or camera is None or not KINDS[kind_name].wanted(camera):
            stopped += _stop(key, holder)
    wanted = [(camera, name) for camera in cameras.values() for name, kind in KINDS.items() if kind.wanted(camera)]
    for camera, kind_name in wanted:
        state = states.get((camera.pk, kind_name))
        if (holder := placement.holders.get(lease_key(kind_name, camera.pk))) is not None:
            # Edited since it started (URL, fps, features): stop it, the next reconcile starts it anew.
            # Status updates do not touch updated_at, so only an operator's edit restarts a pipeline.
            if state is not None and state.since is not None and camera.updated_at > state.since:
                stopped += _stop(lease_key(kind_name, camera.pk), holder)
            elif state is not None and (
                state.state == PipelineState.State.WAITING
                or (state.state == PipelineState.State.FAILED and state.last_error.startswith(WORKER_LOST))
            ):
                # Taken for lost while Redis restarted, before its holder took its lease again: it runs on.
                state.state = PipelineState.State.RUNNING
                state.save(update_fields=["state"])
            continue
        # Its worker died without stopping it (SIGKILL, lost machine): the lease expired. When its node is gone
        # too, it is placed again at once; else it may be Redis that lost the lease, which its holder takes again
        # within a second: the backoff keeps it from starting twice meanwhile.
        node_lost = state is not None and not placement.is_alive(kind_name, node_of(state.worker))
        if state is not None and state.state == PipelineState.State.RUNNING:
            state.state, state.last_error_at = PipelineState.State.FAILED, timezone.now()
            state.last_error = f"{WORKER_LOST} ({state.worker}): lease expired" + ("; node gone" if node_lost else "")
            state.failures += 1
            state.save(update_fields=["state", "last_error", "last_error_at", "failures"])
        node_lost = node_lost and state.last_error.startswith(WORKER_LOST)
        pending = _pending_key(kind_name, camera.pk)
        given_to = placement.queued.get(pending)
        if given_to is not None and not placement.is_alive(kind_name, given_to):
            redis.delete(pending)  # given to a node that died before it started it
            given_to = None
        if given_to is not None or (not node_lost and _in_backoff(state)):
            continue
        node = placement.node_for(kind_name, camera)
        if node is None:
            waiting.append((camera, kind_name))
            continue
        if not redis.set(pending, node.name, nx=True, ex=PENDING_TTL_S):
            continue
        node.take(camera.pk, KINDS[kind_name].need(camera))
        queue = node_queue(KINDS[kind_name].queue, node.name)
        current_app.send_task("cameras.run_pipeline", args=(kind_name, camera.pk), queue=queue)
        started += 1
    _show_waiting(waiting, states, wanted)
    return {"started": started, "stopped": stopped, "waiting": len(waiting)}


def _show_waiting(
    waiting: list[tuple[Camera, str]], states: dict[tuple[int, str], PipelineState], wanted: list[tuple[Camera, str]]
) -> None:
    # One waiting no more because its camera was disabled (or its kind turned off) is not shown waiting.
    wanted_keys = {(camera.pk, kind_name) for camera, kind_name in wanted}
    unwanted = [s.pk for key, s in states.items() if s.state == PipelineState.State.WAITING and key not in wanted_keys]
    if unwanted:
        PipelineState.objects.filter(pk__in=unwanted, state=PipelineState.State.WAITING).update(
            state=PipelineState.State.STOPPED, detail=""
        )
    for camera, kind_name in waiting:
        state = states.get((camera.pk, kind_name))
        if state is None or state.state != PipelineState.State.WAITING:
            detail = f"{WAITING_FOR_CAPACITY}: no {kind_name} node has room for it"
            logger.warning("%s of %s is %s", kind_name, camera, detail)
            rows = {"state": PipelineState.State.WAITING, "detail": detail}
            with suppress(IntegrityError):  # the camera was deleted meanwhile
                PipelineState.objects.update_or_create(camera=camera, kind=kind_name, defaults=rows)
    report_waiting(len(waiting))


def nodes_overview() -> list[dict]:
    """Each node alive with, per kind it serves, its capacity, load and cameras (as `tenant/camera`)."""
    cameras = {c.pk: c for c in Camera.objects.all()}
    shown: dict[str, dict] = {}
    for node in Placement.read(cameras).nodes:
        entry = shown.setdefault(node.name, {"name": node.name, "heartbeat": node.heartbeat, "kinds": {}})
        entry["heartbeat"] = max(entry["heartbeat"], node.heartbeat)
        entry["kinds"][node.kind] = {
            "capacity": node.capacity,
            "slots": node.slots,
            "load": node.load,
            "cameras": sorted(str(cameras[pk]) for pk in node.cameras),
            "since": node.since,
        }
    return list(shown.values())


def _stop(key: str | bytes, holder: bytes | None) -> int:
    """Revoke a running pipeline's lease (1), unless it is gone or already revoked (0)."""
    if holder is None or holder.startswith(REVOKED.encode()):
        return 0
    return int(revoke(key, holder.decode(), settings.VMS_PIPELINE_LEASE_MS))
