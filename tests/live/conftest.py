"""Fixtures of the live tests, from their packages: a recording camera of tenant A (`live_camera`, on the session's
RTSP camera) and the browser tests' daphne and Chromium (`asgi_server`, `page`)."""

from ..pipeline.conftest import live_camera  # noqa: F401
from ..spa.conftest import asgi_server, browser, console_errors, page  # noqa: F401
