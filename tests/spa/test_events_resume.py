"""The console's event feed across a reconnect: it resumes after the last event it got, so an event written while
the socket was down appears, once."""

import json
import time
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from .test_events_screen import post_event
from .test_session import store, tokens


def test_the_events_screen_resumes_after_the_server_closes_its_socket(
    page, operator, camera_a, make_token, tenant_a, console_errors
):
    # The server closes a socket when its token expires (4401); the console has renewed the token by then.
    access, refresh = tokens(operator.membership, access_ttl=4)
    sockets: list[tuple[float, str]] = []
    pushed: list[str] = []

    def watch(socket) -> None:
        sockets.append((time.time(), socket.url))
        socket.on("framereceived", lambda frame: pushed.append(json.loads(frame).get("data", {}).get("id")))

    page.on("websocket", watch)
    store(page, access, refresh)
    page.goto("/v2/#/events")
    state = page.locator(".live-state")
    expect(state).to_have_text("Live")
    seen = post_event(page, make_token(tenant_a), "cam-front-01")
    expect(page.locator(f"[data-event={seen['id']}]")).to_be_visible()

    expect(state).to_have_text("Reconnecting…", timeout=10_000)
    missed = post_event(page, make_token(tenant_a), "cam-front-01", "vehicle")
    written = time.time()
    expect(state).to_have_text("Live")
    expect(page.locator(f"[data-event={missed['id']}]")).to_contain_text("vehicle")
    expect(page.locator(".event")).to_have_count(2)

    [(_, first), (reopened, second)] = sockets
    assert "after" not in parse_qs(urlparse(first).query)
    assert parse_qs(urlparse(second).query)["after"] == [seen["id"]]
    assert reopened > written  # the second event was written while no socket was open
    assert pushed.count(seen["id"]) == 1 and pushed.count(missed["id"]) == 1
    assert console_errors == []
