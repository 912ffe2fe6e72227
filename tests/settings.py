"""Settings of the test suite: vms.settings on a Redis database and key prefix of its own, so `make test` can run
beside `make run` on one machine (the database is Django's own test database). TEST_REDIS_URL picks another."""

import os

os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["VMS_REDIS_PREFIX"] = "vms-test"

from vms.settings import *  # noqa: F403
