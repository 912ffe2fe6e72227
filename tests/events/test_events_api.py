"""GET and POST /v2/api/events: the seed's schema, every filter and limit rule, the cursor, tenant isolation."""

from datetime import UTC, datetime, timedelta

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from events.models import Event

from ..factories import EventFactory

pytestmark = pytest.mark.django_db

EVENTS = "/v2/api/events"
SEED_FIELDS = {
    "id", "tenant_id", "camera_id", "type", "confidence", "payload",
    "snapshot_url", "trace_id", "model_version", "severity", "ts",
}  # fmt: skip
T0 = datetime(2026, 4, 30, 14, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [e["id"] for e in response.json()]


def test_list_is_newest_first_in_the_seed_schema(client_a, client_b, tenant_a):
    old = EventFactory(tenant=tenant_a, ts=at(1))
    new = EventFactory(
        tenant=tenant_a, ts=at(2), snapshot_url="/v2/hls/cam-front-01/2026-04-30/14/snap-12.jpg", payload={"a": 1}
    )
    response = client_a.get(EVENTS)
    assert ids(response) == [new.id, old.id]
    body = response.json()[0]
    assert set(body) == SEED_FIELDS
    assert body["ts"] == "2026-04-30T14:02:00.000Z"
    assert body["snapshot_url"] == "/v2/hls/cam-front-01/2026-04-30/14/snap-12.jpg"
    assert (body["tenant_id"], body["payload"]) == ("tenant-a", {"a": 1})
    assert ids(client_b.get(EVENTS)) == []


def test_only_the_tokens_tenant(client_b, tenant_a, tenant_b):
    EventFactory(tenant=tenant_a)
    mine = EventFactory(tenant=tenant_b)
    assert ids(client_b.get(EVENTS)) == [mine.id]
    assert ids(client_b.get(EVENTS, {"camera_id": "cam-front-01"})) == [mine.id]


def test_filters_by_camera_type_and_since(client_a, tenant_a):
    gate_person = EventFactory(tenant=tenant_a, camera_id="gate", type="person", ts=at(1))
    gate_car = EventFactory(tenant=tenant_a, camera_id="gate", type="vehicle", ts=at(2))
    lobby_person = EventFactory(tenant=tenant_a, camera_id="lobby", type="person", ts=at(3))
    assert ids(client_a.get(EVENTS, {"camera_id": "gate"})) == [gate_car.id, gate_person.id]
    assert ids(client_a.get(EVENTS, {"type": "person"})) == [lobby_person.id, gate_person.id]
    assert ids(client_a.get(EVENTS, {"since": "2026-04-30T14:02:00Z"})) == [lobby_person.id, gate_car.id]
    assert ids(client_a.get(EVENTS, {"since": "2026-04-30T16:02:00+02:00"})) == [lobby_person.id, gate_car.id]
    assert ids(client_a.get(EVENTS, {"camera_id": "gate", "type": "person", "since": "2026-04-30T14:00:00Z"})) == [
        gate_person.id
    ]


def test_limit_defaults_to_50_and_caps_the_page(client_a, tenant_a):
    EventFactory.create_batch(52, tenant=tenant_a)
    assert len(ids(client_a.get(EVENTS))) == 50
    assert len(ids(client_a.get(EVENTS, {"limit": 100}))) == 52
    assert len(ids(client_a.get(EVENTS, {"limit": 1}))) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-01T00:00:00Z"}, "since"),
        ({"type": "violence"}, "type"),
        ({"before": "evt-nope"}, "before"),
    ],
)
def test_bad_query_is_400_naming_the_parameter(client_a, tenant_a, params, field):
    response = client_a.get(EVENTS, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {field}
    assert body["detail"].startswith(f"{field}: ")


def test_before_cursor_walks_every_event_once_even_with_equal_timestamps(client_a, tenant_a, tenant_b):
    # Three share one ts, so the cursor must break ties by id.
    events = [EventFactory(tenant=tenant_a, ts=at(m)) for m in (1, 2, 2, 2, 3, 4, 5)]
    expected = [e.id for e in sorted(events, key=lambda e: (e.ts, e.id), reverse=True)]
    walked, params = [], {"limit": 2}
    while True:
        response = client_a.get(EVENTS, params)
        page = ids(response)
        walked += page
        if "Link" not in response.headers:
            break
        assert response.headers["Link"].endswith('rel="next"')
        params = {"limit": 2, "before": page[-1]}
    assert walked == expected
    # Another tenant's event id is no cursor here.
    other = EventFactory(tenant=tenant_b)
    assert client_a.get(EVENTS, {"before": other.id}).status_code == 400


def test_list_query_count_does_not_grow(client_a, tenant_a):
    EventFactory.create_batch(3, tenant=tenant_a)
    with CaptureQueriesContext(connection) as few:
        client_a.get(EVENTS)
    EventFactory.create_batch(20, tenant=tenant_a)
    with CaptureQueriesContext(connection) as many:
        assert len(ids(client_a.get(EVENTS))) == 23
    assert len(many) == len(few) <= 2


def test_list_plan_uses_the_tenant_index(tenant_a):
    """EXPLAIN of the list queries: each is an index scan, never a sort of the tenant's rows."""
    # Rows of 20 cameras and 5 types, and their statistics: on an empty table (or on statistics earlier tests' rows
    # left) the planner has no reason to prefer the narrower index.
    EventFactory.create_batch(
        2000,
        tenant=tenant_a,
        camera_id=factory.Iterator([f"cam-{i}" for i in range(20)]),
        type=factory.Iterator(["person", "vehicle", "motion", "line_crossing", "license_plate"]),
    )
    base = Event.objects.filter(tenant=tenant_a)
    for queryset, index in [
        (base, "event_tenant_ts"),
        (base.filter(camera_id="cam-3"), "event_tenant_camera_ts"),
        (base.filter(type="person"), "event_tenant_type_ts"),
    ]:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # an empty test table would otherwise be seq-scanned
            cursor.execute(f"ANALYZE {Event._meta.db_table}")
        plan = queryset[:50].explain()
        assert index in plan, plan
        assert "Sort" not in plan, plan


def test_reading_needs_events_read(make_client, tenant_a):
    assert make_client(tenant_a, scopes=["cameras:read"]).get(EVENTS).status_code == 403
    assert make_client(tenant_a, scopes=["events:read"]).get(EVENTS).status_code == 200
    assert APIClient().get(EVENTS).status_code == 401


def test_one_event_by_id_in_the_seed_schema_and_another_tenants_is_404(client_a, client_b, tenant_a, make_client):
    event = EventFactory(tenant=tenant_a, ts=at(1), payload={"track_id": 7, "boxes": [[1, 2, 3, 4]]})
    response = client_a.get(f"{EVENTS}/{event.id}")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == SEED_FIELDS
    assert (body["id"], body["ts"], body["payload"]) == (event.id, "2026-04-30T14:01:00.000Z", event.payload)
    other = client_b.get(f"{EVENTS}/{event.id}")
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"
    assert client_a.get(f"{EVENTS}/evt-nope").status_code == 404
    assert make_client(tenant_a, scopes=["cameras:read"]).get(f"{EVENTS}/{event.id}").status_code == 403


def test_until_bounds_the_window_and_another_tenant_sees_none_of_it(client_a, client_b, tenant_a):
    events = {m: EventFactory(tenant=tenant_a, ts=at(m)) for m in (1, 2, 3, 4)}
    assert ids(client_a.get(EVENTS, {"until": "2026-04-30T14:03:00Z"})) == [events[2].id, events[1].id]  # ts < until
    window = {"since": "2026-04-30T14:02:00Z", "until": "2026-04-30T16:04:00+02:00"}
    assert ids(client_a.get(EVENTS, window)) == [events[3].id, events[2].id]
    assert ids(client_a.get(EVENTS, {**window, "limit": 1, "before": events[3].id})) == [events[2].id]
    assert ids(client_b.get(EVENTS, window)) == []
    assert ids(client_b.get(EVENTS, {"until": "2026-05-01T00:00:00Z"})) == []


@pytest.mark.parametrize(
    "params",
    [{"until": "tomorrow"}, {"since": "2026-04-30T14:02:00Z", "until": "2026-04-30T14:02:00Z"},
     {"since": "2026-04-30T14:02:00Z", "until": "2026-04-30T15:01:00+02:00"}],
)  # fmt: skip
def test_bad_until_or_until_not_after_since_is_400_naming_until(client_a, tenant_a, params):
    response = client_a.get(EVENTS, params)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], set(body["fields"])) == ("invalid", {"until"})
    assert body["detail"].startswith("until: ")
