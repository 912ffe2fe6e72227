"""A Redis lease (SET NX PX + heartbeat): the one holder of a key runs the pipeline; it expires if the holder dies.

A holder keeps its lease even when Redis loses it (a restart without persistence empties it, or the key expired
while Redis was out of reach and nobody took it): the renewal takes a vanished key again, so a Redis restart never
stops what runs. To stop a holder, its lease is revoked (not deleted): its next renewal finds the revocation.
"""

import uuid
from functools import cache

import redis
from django.conf import settings

# Renew while the key holds our token, or take it again when it is gone; a lease taken by another worker (or
# revoked) is not ours any more. Release only our own (or our revoked) lease.
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not holder then return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 or 0 end
return 0
"""
_RELEASE = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] or holder == ARGV[2] .. ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_REVOKE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('set', KEYS[1], ARGV[2] .. ARGV[1], 'PX', ARGV[3]) and 1 or 0
"""
REVOKED = "revoked "  # a revoked lease holds this followed by its holder's token until the holder lets it go


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
        client().eval(_RELEASE, 1, self.key, self.token, REVOKED)


def renew(leases: list[Lease]) -> list[bool]:
    """Renew many leases in one round trip; for each, whether it is still ours."""
    pipe = client().pipeline(transaction=False)
    for lease in leases:
        pipe.eval(_RENEW, 1, lease.key, lease.token, lease.ttl_ms)
    return [bool(renewed) for renewed in pipe.execute()]


def revoke(key: str, token: str, ttl_ms: int) -> bool:
    """Take the lease held with `token` from its holder, who stops at its next renewal; nobody else takes it until
    the holder lets it go or `ttl_ms` passes (the holder died)."""
    return bool(client().eval(_REVOKE, 1, key, token, REVOKED, ttl_ms))
