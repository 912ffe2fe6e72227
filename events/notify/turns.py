"""Whose webhook drain runs next: tenants take turns, and within a tenant its subscriptions do, so a tenant with
fifty subscriptions behind on their deliveries takes one worker thread's turn in every round, not fifty turns
before another tenant's first.

The turns live in Redis (one list of tenants waiting, and per tenant a list of its subscriptions waiting, each at
most once); a drain message only asks a worker to take the next turn. Redis losing them costs latency only: the
sweep offers every subscription with a due delivery again.
"""

from django.conf import settings

from cameras.pipeline.lease import client

# KEYS: the tenants' list, the tenant's own list; ARGV: tenant id, subscription id.
_OFFER = """
if not redis.call('lpos', KEYS[2], ARGV[2]) then redis.call('rpush', KEYS[2], ARGV[2]) end
if not redis.call('lpos', KEYS[1], ARGV[1]) then redis.call('rpush', KEYS[1], ARGV[1]) end
"""
# KEYS: the tenants' list; ARGV: the prefix of a tenant's own list. The first tenant's first subscription, the
# tenant going to the back of the line while it has more.
_TAKE = """
while true do
    local tenant = redis.call('lpop', KEYS[1])
    if not tenant then return false end
    local own = ARGV[1] .. tenant
    local subscription = redis.call('lpop', own)
    if redis.call('llen', own) > 0 then redis.call('rpush', KEYS[1], tenant) end
    if subscription then return {subscription, tenant} end
end
"""


def _tenants_key() -> str:
    return f"{settings.VMS_REDIS_PREFIX}:notify:turns"


def _own_prefix() -> str:
    return f"{settings.VMS_REDIS_PREFIX}:notify:turns:"


def offer(subscription_id: int, tenant_id: str) -> None:
    """Put the subscription in its tenant's line (unless it is there), and the tenant in the line of tenants."""
    client().eval(_OFFER, 2, _tenants_key(), _own_prefix() + tenant_id, tenant_id, subscription_id)


def take() -> tuple[int, str] | None:
    """The (subscription id, tenant id) whose turn it is, out of the lines; None when no one waits."""
    taken = client().eval(_TAKE, 1, _tenants_key(), _own_prefix())
    return (int(taken[0]), taken[1].decode()) if taken else None
