"""Every Redis key a deployment writes starts with its VMS_REDIS_PREFIX, so a test run (prefix `vms-test`, its own
database) or a second deployment never touches a running system's leases, queues, cache or WebSocket groups."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

from cameras.pipeline import supervisor
from cameras.pipeline.lease import client
from cameras.pipeline.nodes import announce


def test_leases_queues_cache_and_groups_all_carry_the_prefix(camera_a):
    redis = client()
    redis.flushdb()
    for kind in ("record", "detect"):  # a node announces itself, as its workers do
        announce("node-1", kind, capacity=100, slots=8, since=0)
    assert supervisor.reconcile()["started"] == 2  # queues the camera's record and detect pipelines on node-1
    cache.set("throttle-probe", 1)
    async_to_sync(get_channel_layer().group_add)("tenant.tenant-a", "probe-channel")

    keys = sorted(key.decode() for key in redis.keys("*"))
    assert any(":pipeline:" in key for key in keys)
    assert any(key.endswith(":celery:record.node-1") for key in keys), keys
    assert any(":node:node-1:" in key for key in keys), keys
    assert any(":asgi:" in key for key in keys), keys
    assert any("throttle-probe" in key for key in keys), keys
    assert [key for key in keys if not key.startswith(settings.VMS_REDIS_PREFIX + ":")] == []
    assert settings.VMS_REDIS_PREFIX == "vms-test"
    redis.flushdb()
