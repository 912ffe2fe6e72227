"""Worker nodes: each worker announces in Redis, per pipeline kind it serves, what it can take; reconcile places
each pipeline on the node with the most room, through the node's own queue (`<kind queue>.<node name>`).

Keys in Redis (after VMS_REDIS_PREFIX):
  :node:<name>:<kind>   a hash (capacity, slots, since, heartbeat), rewritten every third of VMS_PIPELINE_LEASE_MS
                        and living two thirds of it, so a killed node is gone before its leases expire, and
                        reconcile then places its pipelines again at once.
`capacity` is in the kind's unit (record: streams; detect: frames per second, measured from the model at start-up);
`slots` is the worker's concurrency, one per running pipeline. What a node runs is read from the leases its
pipelines hold (a lease's holder starts with its node's name), never from what the node says.
"""

import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

from .lease import client

logger = logging.getLogger(__name__)


UNMEASURED_PER_SLOT = 30.0  # what a slot takes where no measure works: a camera's highest fps


def node_key(name: str, kind: str) -> str:
    return f"{settings.VMS_REDIS_PREFIX}:node:{name}:{kind}"


def node_queue(queue: str, name: str) -> str:
    """The queue of `queue`'s pipelines placed on node `name`."""
    return f"{queue}.{name}"


@dataclass
class Node:
    """One node's announcement for one kind, and (filled by the supervisor) what it runs and has been given."""

    name: str
    kind: str
    capacity: float
    slots: int
    since: float
    heartbeat: float
    load: float = 0.0
    cameras: list[int] = field(default_factory=list)  # primary keys of the cameras it runs or was given

    def room(self, need: float) -> float | None:
        """The room left after taking a pipeline that needs `need`, or None when it does not fit."""
        left = self.capacity - self.load - need
        return left if left >= 0 and len(self.cameras) < self.slots else None

    def take(self, camera_pk: int, need: float) -> None:
        self.load += need
        self.cameras.append(camera_pk)


def announce(name: str, kind: str, capacity: float, slots: int, since: float) -> None:
    """Write (or renew) a node's announcement for `kind`; it lives 2/3 of VMS_PIPELINE_LEASE_MS unless renewed."""
    key = node_key(name, kind)
    pipe = client().pipeline(transaction=True)
    fields = {"capacity": capacity, "slots": slots, "since": since, "heartbeat": time.time()}
    pipe.hset(key, mapping=fields).pexpire(key, settings.VMS_PIPELINE_LEASE_MS * 2 // 3)
    pipe.execute()


def alive() -> list[Node]:
    """Every node's announcement for every kind, by name then kind."""
    redis = client()
    keys = sorted(redis.scan_iter(match=node_key("*", "*"), count=1000))
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    found = []
    for key, values in zip(keys, pipe.execute(), strict=True):
        if not values:  # expired between the scan and the read
            continue
        name, kind = key.decode().split(":")[-2:]
        values = {k.decode(): float(v) for k, v in values.items()}
        found.append(Node(name, kind, values["capacity"], int(values["slots"]), values["since"], values["heartbeat"]))
    return found


def most_room(nodes: list[Node], need: float) -> Node | None:
    """The node with the most room left after taking `need` (least loaded first), None when it fits nowhere."""
    fits = [(-room, node.name, node) for node in nodes if (room := node.room(need)) is not None]
    return min(fits, key=lambda fit: fit[:2])[2] if fits else None


def capacity(kind: str, slots: int) -> float:
    """What this worker takes of `kind`: a setting, else the kind's measure (settings.VMS_NODE_MEASURES: a dotted
    path to a function of no arguments), else its slots."""
    configured = {"record": settings.VMS_NODE_RECORD_STREAMS, "detect": settings.VMS_NODE_DETECT_FPS}.get(kind)
    if configured:
        return float(configured)
    if measure := settings.VMS_NODE_MEASURES.get(kind):
        try:
            return float(import_string(measure)())
        except Exception:  # e.g. no model: detection runs motion only, and the slots alone limit what it takes
            logger.warning("could not measure this node's %s capacity; its slots limit it", kind, exc_info=True)
            return float(slots * UNMEASURED_PER_SLOT)
    return float(slots)


class Announcer:
    """Announces this worker's kinds every third of the lease lifetime, from a daemon thread: a worker killed
    stops announcing, and its announcement expires just before its leases. Capacities are measured once, in the thread,
    so the worker takes tasks while the model loads."""

    def __init__(self, name: str, kinds: list[str], slots: int) -> None:
        self.name, self.kinds, self.slots = name, kinds, slots

    def start(self) -> None:
        threading.Thread(target=self._run, name="node announcer", daemon=True).start()

    def _run(self) -> None:
        since = time.time()
        capacities = {kind: capacity(kind, self.slots) for kind in self.kinds}
        logger.info("node %s takes %s", self.name, ", ".join(f"{k}: {c:g}" for k, c in capacities.items()))
        failing = False
        while True:
            try:
                for kind, taken in capacities.items():
                    announce(self.name, kind, taken, self.slots, since)
                failing = False
            except Exception:  # Redis away: announced again as soon as it is back
                if not failing:
                    logger.warning("node announcement failed; retrying", exc_info=True)
                failing = True
            time.sleep(settings.VMS_PIPELINE_LEASE_MS / 3000)
