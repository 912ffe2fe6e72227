"""A Redis lease (SET NX PX + heartbeat): the one holder of a key runs the pipeline; it expires if the holder dies."""

import uuid
from functools import cache

import redis
from django.conf import settings

# Renew and release only while the key still holds our token: a lease that expired and was taken by another
# worker must not be extended or deleted by its former holder.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, health_check_interval=30)


class Lease:
    def __init__(self, key: str, ttl_ms: int, holder: str = "") -> None:
        self.key = key
        self.ttl_ms = ttl_ms
        self.token = f"{holder} {uuid.uuid4().hex}".strip()

    def acquire(self) -> bool:
        return bool(client().set(self.key, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        client().eval(_RELEASE, 1, self.key, self.token)


def renew(leases: list[Lease]) -> list[bool]:
    """Renew many leases in one round trip; for each, whether it is still ours."""
    pipe = client().pipeline(transaction=False)
    for lease in leases:
        pipe.eval(_RENEW, 1, lease.key, lease.token, lease.ttl_ms)
    return [bool(renewed) for renewed in pipe.execute()]
