"""WS /v2/ws/events?after=<event id>: a resuming client gets what it missed, then the live feed, each event once.

Against a real daphne (the Procfile's web process) and the real Redis channel layer, with a `websockets` client.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from events.consumers import REPLAY_LIMIT
from events.models import Event
from events.services import create_events

from ..factories import CameraFactory
from ..processes import running_daphne

pytestmark = pytest.mark.django_db(transaction=True)  # daphne reads the rows the tests write


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator:
    with running_daphne(tmp_path_factory.mktemp("ws-resume") / "daphne.log") as daphne:
        yield daphne


@pytest.fixture
def cameras(camera_a):
    CameraFactory(tenant=camera_a.tenant, slug="cam-back")
    return camera_a.tenant


def open_feed(server, token: str, **query: str) -> ClientConnection:
    """A socket of the events feed; it buffers all it gets and sends no pings, as a test may read it seconds later."""
    url = server.url.replace("http", "ws", 1) + "/v2/ws/events?" + urlencode({"token": token, **query})
    return connect(url, open_timeout=10, max_queue=None, ping_interval=None)


def read_replay(socket: ClientConnection) -> tuple[list[str], dict]:
    """The replayed events' ids, in the order they came, and the replay's closing frame."""
    ids = []
    while (message := json.loads(socket.recv(timeout=10))).get("type") != "replay":
        ids.append(message["data"]["id"])
    return ids, message


def write(tenant, count: int, **fields) -> list[str]:
    batch = [{"camera_id": "cam-front-01", "type": "person", "confidence": 0.9, **fields}] * count
    return [event.id for event in create_events(tenant, batch)]


def in_seq_order(tenant) -> list[str]:
    return list(Event.objects.filter(tenant=tenant).order_by("seq").values_list("id", flat=True))


def test_replays_the_events_after_the_one_given_in_order_then_goes_live(server, make_token, cameras):
    [anchor] = write(cameras, 1)
    missed = write(cameras, 3) + write(cameras, 2)
    with open_feed(server, make_token(cameras), after=anchor) as socket:
        replayed, end = read_replay(socket)
        assert replayed == missed == in_seq_order(cameras)[1:]
        assert end == {"type": "replay", "after": anchor, "count": 5, "complete": True}
        [live] = write(cameras, 1)
        assert json.loads(socket.recv(timeout=5))["data"]["id"] == live
        with pytest.raises(TimeoutError):
            socket.recv(timeout=0.3)


def test_nothing_missed_gives_an_empty_complete_replay(server, make_token, cameras):
    [anchor] = write(cameras, 1)
    with open_feed(server, make_token(cameras), after=anchor) as socket:
        assert read_replay(socket) == ([], {"type": "replay", "after": anchor, "count": 0, "complete": True})


def test_the_connections_filters_apply_to_the_replay(server, make_token, cameras):
    [anchor] = write(cameras, 1, camera_id="cam-back")
    back = write(cameras, 2, camera_id="cam-back")
    write(cameras, 2)
    yard = write(cameras, 1, payload={"zones": ["yard", "gate"]})
    write(cameras, 1, payload={"zones": "yard"})  # not a list: no zone filter matches it, live or replayed
    alerts = write(cameras, 2, camera_id="cam-back", severity="alert")
    token = make_token(cameras)
    for query, expected in [
        ({"camera_id": "cam-back"}, back + alerts),
        ({"zone": "yard"}, yard),
        ({"severity": "alert"}, alerts),
        ({"camera_id": "cam-front-01", "severity": "alert"}, []),
    ]:
        with open_feed(server, token, after=anchor, **query) as socket:
            replayed, end = read_replay(socket)
            assert (replayed, end["count"], end["complete"]) == (expected, len(expected), True), query


def test_a_long_gap_replays_the_newest_events_and_says_it_is_incomplete(server, make_token, cameras):
    [anchor] = write(cameras, 1)
    missed = write(cameras, REPLAY_LIMIT + 5)
    with open_feed(server, make_token(cameras), after=anchor) as socket:
        replayed, end = read_replay(socket)
        assert replayed == missed[5:]  # the newest, so the live feed follows on without a gap
        assert end == {"type": "replay", "after": anchor, "count": REPLAY_LIMIT, "complete": False}


def test_events_older_than_the_window_are_not_replayed(server, make_token, cameras):
    [anchor] = write(cameras, 1)
    old = write(cameras, 2)
    recent = write(cameras, 2)
    Event.objects.filter(pk__in=[anchor, *old]).update(created=timezone.now() - timedelta(hours=1, minutes=1))
    with open_feed(server, make_token(cameras), after=anchor) as socket:
        assert read_replay(socket) == (recent, {"type": "replay", "after": anchor, "count": 2, "complete": False})


@pytest.mark.parametrize(
    "after, code",
    [("evt-0000000000000000", 4404), ("other-tenant", 4404), ("x" * 41, 4400), ("evt-\x00", 4400)],
    ids=["unknown", "another tenant's", "too long", "NUL"],
)
def test_an_after_that_is_not_the_tenants_event_gets_an_error_and_a_close(
    server, make_token, cameras, tenant_b, after, code
):
    if after == "other-tenant":
        CameraFactory(tenant=tenant_b, slug="cam-front-01")
        [after] = write(tenant_b, 1)
    write(cameras, 2)
    with open_feed(server, make_token(cameras), after=after) as socket:
        message = json.loads(socket.recv(timeout=5))
        assert message["type"] == "error" and message["detail"]
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)
        assert closed.value.rcvd.code == code


class Writer(threading.Thread):
    """Writes `total` events of `tenant` in batches of `batch`, a few milliseconds apart (like a detector)."""

    def __init__(self, tenant, total: int, batch: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.tenant, self.total, self.batch, self.pause = tenant, total, batch, pause
        self.written: list[str] = []

    def run(self) -> None:
        try:
            while len(self.written) < self.total:
                self.written += write(self.tenant, min(self.batch, self.total - len(self.written)))
                time.sleep(self.pause)
        finally:
            connection.close()


def read_events(socket: ClientConnection, until: int, into: list[str]) -> None:
    """Event ids into `into` (replay frames skipped) until it holds `until`."""
    while len(into) < until:
        message = json.loads(socket.recv(timeout=10))
        if message.get("v") == 2:
            into.append(message["data"]["id"])


def test_a_client_that_drops_out_in_a_burst_and_resumes_gets_every_event_once_in_order(server, make_token, cameras):
    token = make_token(cameras)
    received: list[str] = []
    writer = Writer(cameras, total=300, batch=5, pause=0.02)
    with open_feed(server, token) as socket:
        writer.start()
        read_events(socket, 100, received)
    time.sleep(0.2)  # the writer goes on meanwhile
    assert writer.is_alive(), "the burst ended before the client came back: nothing was missed"
    with open_feed(server, token, after=received[-1]) as socket:
        read_events(socket, 300, received)
        writer.join(timeout=30)
        with pytest.raises(TimeoutError):
            socket.recv(timeout=0.5)
    assert received == writer.written == in_seq_order(cameras)


def test_events_committed_while_clients_resume_come_once(server, make_token, cameras):
    # Clients resume while events keep coming: some are committed after a client joined the live group but before
    # its replay's query, so they are in its replay and come live as well; the live copy is dropped.
    [anchor] = write(cameras, 1)
    write(cameras, 300)
    writer = Writer(cameras, total=300, batch=1, pause=0.001)
    token = make_token(cameras)
    feeds: list[tuple[ClientConnection, list[str]]] = []
    writer.start()
    with ExitStack() as sockets:
        while writer.is_alive() and len(feeds) < 10:
            socket = sockets.enter_context(open_feed(server, token, after=anchor))
            feeds.append((socket, read_replay(socket)[0]))
        writer.join(timeout=30)
        expected = in_seq_order(cameras)[1:]
        for socket, received in feeds:
            read_events(socket, len(expected), received)
            with pytest.raises(TimeoutError):
                socket.recv(timeout=0.2)
            assert received == expected
