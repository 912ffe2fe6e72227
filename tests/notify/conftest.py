"""Fixtures of the notification tests."""

from contextlib import ExitStack, contextmanager

import pytest

from ..processes import running_relay, running_worker

# Short back-off for the tests; camera health events (the relay's tick) kept out of the receivers' logs.
FAST = {"VMS_WEBHOOK_RETRY_BASE": "0.2", "VMS_WEBHOOK_RETRY_MAX": "1", "VMS_CAMERA_HEALTH_DEBOUNCE": "3600"}


@pytest.fixture
def notify(tmp_path):
    """Starts the relay and a notify worker (threads, like the Procfile's) with FAST and `env` on top."""

    @contextmanager
    def start(relay: bool = True, concurrency: int = 4, **env: str):
        env = {**FAST, **env}
        with ExitStack() as stack:
            stack.enter_context(
                running_worker(tmp_path / "worker.log", "notify", pool="threads", concurrency=concurrency, **env)
            )
            if relay:
                stack.enter_context(running_relay(tmp_path / "relay.log", **env))
            yield

    return start
