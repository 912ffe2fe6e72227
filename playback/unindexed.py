"""The objects a recorder is filling, or has just closed while the index may not hold them yet, kept in Redis so that
live and the current hour's playlists show each 2 s part as soon as it is written (an object is indexed only when it
is closed, up to a minute later), from every web node.

Key (after VMS_REDIS_PREFIX): `:recording:<camera pk>`, a JSON list of the camera's newest two objects, rewritten by
its recorder after each part and living two minutes. Readers merge it with the index by path. Recording never waits
for Redis: a failed write is skipped (the next part's write carries everything).
"""

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from django.conf import settings

from cameras.pipeline.lease import client

logger = logging.getLogger(__name__)

KEEP = 2  # the object being filled and the one before it, which the index may still be storing
TTL_MS = 120_000


@dataclass
class UnindexedObject:
    path: str
    start: float  # epoch seconds
    sizes: list[int]
    durations: list[float]

    @property
    def start_time(self) -> datetime:
        return datetime.fromtimestamp(self.start, tz=UTC)


def _key(camera_pk: int) -> str:
    return f"{settings.VMS_REDIS_PREFIX}:recording:{camera_pk}"


def publish(camera_pk: int, objects: list[UnindexedObject]) -> bool:
    """Store the camera's newest objects; False (logged) when Redis refuses."""
    try:
        client().set(_key(camera_pk), json.dumps([asdict(o) for o in objects[-KEEP:]]), px=TTL_MS)
    except Exception:  # Redis away: live lags until it is back, recording goes on
        logger.warning("could not publish the parts recorded for camera %s", camera_pk, exc_info=True)
        return False
    return True


def read(camera_pk: int) -> list[UnindexedObject]:
    """The camera's newest objects as its recorder last published them (none when Redis does not answer)."""
    try:
        raw = client().get(_key(camera_pk))
    except Exception:
        logger.warning("could not read the parts recorded for camera %s", camera_pk, exc_info=True)
        return []
    return [UnindexedObject(**found) for found in json.loads(raw)] if raw else []
