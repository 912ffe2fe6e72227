"""Server and worker processes that tests start: real daphne and Celery on this test's database, Redis, keys and
recordings root, with production's other settings (database connections included)."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection


def child_env(name: str, **extra: str) -> dict[str, str]:
    """The process's environment; `name` is its PostgreSQL application_name (see pg_stat_activity)."""
    database = f"{connection.settings_dict['USER']}@127.0.0.1:5432/{connection.settings_dict['NAME']}"
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("DB_POOL_")},
        "DATABASE_URL": f"postgres://{database}?application_name={name}",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "VMS_RECORDINGS_ROOT": str(settings.VMS_RECORDINGS_ROOT),
        "VMS_PIPELINE_LEASE_MS": str(settings.VMS_PIPELINE_LEASE_MS),
        "DEBUG": "true",
        **extra,
    }


@contextmanager
def started(argv: list[str], log: Path, ready: str, env: dict[str, str]) -> Iterator[re.Match]:
    """Run `argv` (output in `log`) until the block ends; enters once `ready`, a regex, matches the log."""
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(ready, log.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{' '.join(argv[1:3])} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield found
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def running_daphne(log: Path, **env: str) -> Iterator[SimpleNamespace]:
    """daphne serving vms.asgi on a free port, started as the Procfile starts it: `.url`, `.log`."""
    argv = [sys.executable, "-m", "vms.server", "-e", "tcp:0:interface=127.0.0.1", "vms.asgi:application"]
    with started(argv, log, r"Listening on TCP address (127\.0\.0\.1:\d+)", child_env("daphne", **env)) as found:
        yield SimpleNamespace(url=f"http://{found.group(1)}", log=log)


@contextmanager
def running_worker(
    log: Path, queue: str = "default", pool: str = "solo", concurrency: int = 1, **env: str
) -> Iterator[None]:
    """A Celery worker of `queue` (the Procfile's `notify` runs `pool="threads"`), with `env` on top."""
    argv = [sys.executable, "-m", "celery", "-A", "vms", "worker", "-Q", queue, "--pool", pool,
            "--concurrency", str(concurrency), "-l", "info",
            "--without-mingle", "--without-gossip", "--without-heartbeat"]  # fmt: skip
    with started(argv, log, r"ready\.", child_env(f"celery-{queue}", **env)):
        yield


@contextmanager
def running_relay(log: Path, **env: str) -> Iterator[None]:
    """The notification relay (`manage.py run_relay`, the Procfile's `relay`), with `env` on top (VMS_MQTT_URL...)."""
    argv = [sys.executable, "manage.py", "run_relay"]
    with started(argv, log, r"notification relay running", child_env("relay", **env)):
        yield
