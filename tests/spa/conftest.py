"""Browser tests of the SPA: Debian's Chromium driven by Playwright against a real daphne (HTTP + WebSocket).

The server is a daphne process over the pytest-django test database (so the test's rows, committed by
`transactional_db`, are what the browser sees) and the test's Redis, stopped after the package's tests.
No browser is ever downloaded: Playwright launches Debian's /usr/bin/chromium (scripts/install.sh).
Screenshots of each test's last screen, and the server's log, are left under test-artifacts/spa/.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from playwright import sync_api

from ..factories import MembershipFactory, UserFactory
from ..playback.conftest import record  # noqa: F401  (the recordings the playback tests make)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "spa"


@dataclass(frozen=True)
class LiveServer:
    url: str
    recordings: Path


@pytest.fixture(scope="package")
def asgi_server(django_db_setup, tmp_path_factory) -> Iterator[LiveServer]:
    """A daphne (HTTP + WebSocket) over the test database and Redis, in a fresh process, for this package.

    A separate interpreter, not a fork: a fork would inherit the test process's database sockets, Redis pools
    and asgiref executor threads, which deadlock the server's consumers.
    """
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    recordings = tmp_path_factory.mktemp("spa-recordings")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{quote(db['NAME'])}",
        "REDIS_URL": settings.REDIS_URL,
        "VMS_RECORDINGS_ROOT": str(recordings),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the server keeps Django's async safety checks
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "daphne.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-e", "tcp:port=0:interface=127.0.0.1", "tests.spa.asgi:application"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (port := re.search(r"Listening on TCP address 127\.0\.0\.1:(\d+)", log_path.read_text())):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield LiveServer(url=f"http://127.0.0.1:{port[1]}", recordings=recordings)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(autouse=True)
def _server_recordings(settings, asgi_server, _recordings_root, transactional_db) -> None:
    """Recordings a test makes go where the server reads them; rows are committed so the server sees them."""
    shutil.rmtree(asgi_server.recordings)
    asgi_server.recordings.mkdir()
    settings.VMS_RECORDINGS_ROOT = asgi_server.recordings


@pytest.fixture(scope="package")
def browser() -> Iterator[sync_api.Browser]:
    """Chromium for this package's tests only: Playwright's sync API keeps an asyncio loop running meanwhile,
    which Django takes for an async context, so the ORM calls of these (sync) tests are allowed explicitly."""
    with pytest.MonkeyPatch.context() as patch, sync_api.sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page wrote to the console or threw: a product page has none, so tests assert it is empty."""
    return []


@pytest.fixture
def page(browser, asgi_server, console_errors, request) -> Iterator[sync_api.Page]:
    """A fresh browser context on the live server; its screenshot is saved under test-artifacts/spa/."""
    context = browser.new_context(base_url=asgi_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', request.node.name)}.png", full_page=True)
        context.close()


@pytest.fixture
def operator(tenant_a):
    """An operator user of tenant A, with the factory's password."""
    return MembershipFactory(tenant=tenant_a, user=UserFactory(username="olivia")).user


@pytest.fixture
def signed_in(page, make_token, tenant_a):
    """`page` with a valid token of tenant A in localStorage.vms_v2_token, as after a login."""
    page.add_init_script(f"localStorage.setItem('vms_v2_token', {make_token(tenant_a)!r})")
    return page
