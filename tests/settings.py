"""Settings of the test suite: vms.settings on a Redis database and key prefix of its own, so `make test` can run
beside `make run` on one machine (the database is Django's own test database). TEST_REDIS_URL picks another."""

import os

os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["VMS_REDIS_PREFIX"] = "vms-test"
# Objects of two 2 s segments: a recording test sees index rows within seconds, and still objects of several parts.
os.environ.setdefault("VMS_OBJECT_SECONDS", "4")
# Webhook receivers in the tests listen on 127.0.0.1 over plain http; link-local stays denied.
os.environ.setdefault("VMS_WEBHOOK_ALLOW_HTTP", "true")
os.environ.setdefault("VMS_WEBHOOK_DENY_NETS", "169.254.0.0/16,fe80::/10")

from vms.settings import *  # noqa: F403
