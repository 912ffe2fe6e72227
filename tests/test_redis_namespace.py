"""Every Redis key a deployment writes starts with its VMS_REDIS_PREFIX, so a test run (prefix `vms-test`, its own
database) or a second deployment never touches a running system's leases, queues, cache or WebSocket groups."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

from cameras.pipeline import supervisor
from cameras.pipeline.lease import client


def test_leases_queues_cache_and_groups_all_carry_the_prefix(camera_a):
    redis = client()
    redis.flushdb()
    assert supervisor.reconcile()["started"] == 2  # queues the camera's record and detect pipelines
    cache.set("throttle-probe", 1)
    async_to_sync(get_channel_layer().group_add)("tenant.tenant-a", "probe-channel")

    keys = sorted(key.decode() for key in redis.keys("*"))
    assert any(":pipeline:" in key for key in keys)
    assert any(key.endswith(":celery:record") for key in keys), keys
    assert any(":asgi:" in key for key in keys), keys
    assert any("throttle-probe" in key for key in keys), keys
    assert [key for key in keys if not key.startswith(settings.VMS_REDIS_PREFIX + ":")] == []
    assert settings.VMS_REDIS_PREFIX == "vms-test"
    redis.flushdb()
