"""The notification relay's log: per-tenant commit order, durable cursors, at-least-once hand-over, one relay."""

import threading
import time

import pytest
from django.db import connection

from events.models import Event, NotifyCursor
from events.notify.relay import BATCH, Relay, relay_once, start_cursors
from events.services import create_events

from ..factories import CameraFactory, TenantFactory
from .concurrency import second_waits_for_first


class Recorder:
    """A sink that keeps what it is handed; `fail` makes the next hand-over raise."""

    name = "webhooks"

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.fail = False
        self.closed = False

    def handle(self, events: list[Event]) -> None:
        if self.fail:
            raise ConnectionError("receiver away")
        self.events.extend(events)

    def close(self) -> None:
        self.closed = True


def write(tenant, camera, count: int = 1) -> list[str]:
    fields = {"camera_id": camera.slug, "type": "person", "confidence": 0.9}
    return [e.id for e in create_events(tenant, [fields] * count)]


@pytest.fixture
def cam_a(tenant_a):
    return CameraFactory(tenant=tenant_a, slug="cam-a")


@pytest.fixture
def cam_b(tenant_b):
    return CameraFactory(tenant=tenant_b, slug="cam-b")


@pytest.mark.django_db(transaction=True)
def test_a_tenants_seq_rises_in_commit_order(tenant_a, cam_a):
    """A writer that inserts while another's transaction is open waits for its commit, so it numbers after it."""
    first, second = second_waits_for_first(lambda: write(tenant_a, cam_a), lambda: write(tenant_a, cam_a))
    ids = {"first": first, "second": second}
    seq = dict(Event.objects.filter(id__in=ids["first"] + ids["second"]).values_list("id", "seq"))
    assert seq[ids["second"][0]] > seq[ids["first"][0]]


@pytest.mark.django_db
def test_hands_each_tenants_events_once_in_order_and_moves_the_cursors(tenant_a, tenant_b, cam_a, cam_b):
    sink = Recorder()
    written_a = write(tenant_a, cam_a, 3) + write(tenant_a, cam_a, 2)
    written_b = write(tenant_b, cam_b, 2)

    assert relay_once(sink) == 7
    assert [e.id for e in sink.events if e.tenant_id == tenant_a.id] == written_a
    assert [e.id for e in sink.events if e.tenant_id == tenant_b.id] == written_b
    assert relay_once(sink) == 0
    newer = write(tenant_b, cam_b)
    assert relay_once(sink) == 1
    assert sink.events[-1].id == newer[0]
    cursors = dict(NotifyCursor.objects.filter(sink="webhooks").values_list("tenant_id", "seq"))
    assert cursors[tenant_a.id] == Event.objects.get(id=written_a[-1]).seq


@pytest.mark.django_db
def test_a_failing_sink_gets_the_same_events_again(tenant_a, cam_a):
    sink = Recorder()
    written = write(tenant_a, cam_a, 2)
    sink.fail = True
    with pytest.raises(ConnectionError):
        relay_once(sink)
    sink.fail = False
    assert relay_once(sink) == 2
    assert [e.id for e in sink.events] == written


@pytest.mark.django_db
def test_reads_at_most_a_batch_per_tenant(tenant_a, cam_a):
    sink = Recorder()
    write(tenant_a, cam_a, BATCH + 3)
    assert relay_once(sink) == BATCH
    assert relay_once(sink) == 3


@pytest.mark.django_db
def test_a_tenant_that_predates_the_sink_starts_at_its_newest_event(cam_a, tenant_a):
    """A new tenant's cursor starts at its first event; one without a cursor (a sink added later) does not replay
    the past."""
    sink = Recorder()
    write(tenant_a, cam_a, 2)
    NotifyCursor.objects.filter(tenant=tenant_a).delete()
    start_cursors(sink)
    assert relay_once(sink) == 0
    newer = write(tenant_a, cam_a)
    assert relay_once(sink) == 1
    assert [e.id for e in sink.events] == newer

    tenant_c = TenantFactory(id="tenant-c")
    assert set(NotifyCursor.objects.filter(tenant=tenant_c).values_list("sink", "seq")) == {
        ("webhooks", 0),
        ("mqtt", 0),
        ("watchlists", 0),  # a sink of an app above events (VMS_RELAY_SINKS)
    }


def wait_for(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def run_relay(sink: Recorder, stop: threading.Event) -> None:
    try:
        Relay([sink]).run(stop)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_one_relay_runs_and_a_second_stands_by(tenant_a, cam_a):
    first, second = Recorder(), Recorder()
    stop_first, stop_second = threading.Event(), threading.Event()
    first_thread = threading.Thread(target=run_relay, args=(first, stop_first))
    second_thread = threading.Thread(target=run_relay, args=(second, stop_second))
    first_thread.start()
    written = write(tenant_a, cam_a, 3)
    assert wait_for(lambda: len(first.events) == 3)
    second_thread.start()
    written += write(tenant_a, cam_a)
    assert wait_for(lambda: len(first.events) == 4)
    time.sleep(0.3)
    assert [e.id for e in first.events] == written
    assert second.events == []

    stop_first.set()  # the holder stops, lets go of its sinks and its lease: the standby takes over
    first_thread.join(10)
    assert first.closed and not second.closed
    later = write(tenant_a, cam_a)
    assert wait_for(lambda: second.events)
    stop_second.set()
    second_thread.join(10)
    assert [e.id for e in second.events] == later
