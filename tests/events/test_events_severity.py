"""An event's severity and zones: stored by create_event and ingest, filtered by GET /v2/api/events?zone=&severity=
and by the WebSocket's ?zone=&severity=, each within the tenant."""

import pytest
from channels.db import database_sync_to_async

from events.models import Event
from events.services import InvalidEvent, create_event

from ..factories import CameraFactory, EventFactory
from .test_events_ws import _close_consumer_connections, connect  # noqa: F401 (the fixture closes its DB thread)

EVENTS = "/v2/api/events"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [event["id"] for event in response.json()]


@pytest.mark.django_db
def test_an_event_is_a_detection_unless_told_otherwise(camera_a):
    plain = create_event(tenant=camera_a.tenant, camera_id=camera_a.slug, type="person", confidence=0.8)
    alert = create_event(
        tenant=camera_a.tenant, camera_id=camera_a.slug, type="person", confidence=0.8, severity="alert"
    )
    stored = dict(Event.objects.values_list("id", "severity"))
    assert stored == {plain.id: "detection", alert.id: "alert"}
    with pytest.raises(InvalidEvent) as raised:
        create_event(tenant=camera_a.tenant, camera_id=camera_a.slug, type="person", confidence=0.8, severity="high")
    assert raised.value.field == "severity"
    assert Event.objects.count() == 2


@pytest.mark.django_db
def test_ingest_takes_a_severity_and_defaults_to_detection(client_a, camera_a):
    body = {"camera_id": camera_a.slug, "type": "vehicle", "confidence": 0.7}
    assert client_a.post(EVENTS, body, format="json").json()["severity"] == "detection"
    created = client_a.post(EVENTS, {**body, "severity": "alert", "payload": {"zones": ["door"]}}, format="json")
    assert created.status_code == 201
    assert (created.json()["severity"], created.json()["payload"]) == ("alert", {"zones": ["door"]})
    rejected = client_a.post(EVENTS, {**body, "severity": "urgent"}, format="json")
    assert rejected.status_code == 400 and set(rejected.json()["fields"]) == {"severity"}
    assert Event.objects.count() == 2


@pytest.fixture
def zoned_events(tenant_a, tenant_b):
    """Events of both tenants in the zones door and yard, as the detector writes them (newest first)."""
    events = {
        "door_alert": EventFactory(tenant=tenant_a, payload={"zones": ["door"]}, severity="alert"),
        "both": EventFactory(tenant=tenant_a, payload={"zones": ["door", "yard"]}),
        "yard": EventFactory(tenant=tenant_a, payload={"zones": ["yard"]}),
        "no_zone_alert": EventFactory(tenant=tenant_a, payload={}, severity="alert"),
        "a_zone_in_text": EventFactory(tenant=tenant_a, payload={"zones": "door"}),  # not a list: not in a zone
        "b_door_alert": EventFactory(tenant=tenant_b, payload={"zones": ["door"]}, severity="alert"),
    }
    return {name: event.id for name, event in events.items()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"zone": "door"}, {"door_alert", "both"}),
        ({"zone": "yard"}, {"both", "yard"}),
        ({"zone": "gate"}, set()),
        ({"severity": "alert"}, {"door_alert", "no_zone_alert"}),
        ({"severity": "detection"}, {"both", "yard", "a_zone_in_text"}),
        ({"zone": "door", "severity": "alert"}, {"door_alert"}),
        ({"zone": "", "severity": ""}, {"door_alert", "both", "yard", "no_zone_alert", "a_zone_in_text"}),
    ],
)
def test_list_filters_by_zone_and_severity(client_a, zoned_events, query, expected):
    assert set(ids(client_a.get(EVENTS, query))) == {zoned_events[name] for name in expected}


@pytest.mark.django_db
def test_another_tenant_sees_only_its_own_zone_and_alerts(client_b, zoned_events):
    assert ids(client_b.get(EVENTS, {"zone": "door", "severity": "alert"})) == [zoned_events["b_door_alert"]]
    assert ids(client_b.get(EVENTS, {"zone": "yard"})) == []


@pytest.mark.django_db
def test_an_unknown_severity_is_a_400(client_a):
    response = client_a.get(EVENTS, {"severity": "urgent"})
    assert response.status_code == 400 and set(response.json()["fields"]) == {"severity"}


@database_sync_to_async
def new_event(tenant, **fields) -> str:
    return create_event(tenant=tenant, camera_id="cam-front-01", type="person", confidence=0.9, **fields).id


@pytest.mark.django_db(transaction=True)
async def test_the_websocket_sends_only_the_zone_and_severity_asked_for(make_token, tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        await database_sync_to_async(CameraFactory)(tenant=tenant, slug="cam-front-01")
    alerts_at_door, ok = await connect(make_token(tenant_a), "&zone=door&severity=alert")
    alerts, ok_alerts = await connect(make_token(tenant_a), "&severity=alert&zone=")
    assert ok and ok_alerts

    await new_event(tenant_a, payload={"zones": ["door"]})  # a detection
    await new_event(tenant_a, payload={"zones": ["yard"]}, severity="alert")  # another zone
    await new_event(tenant_b, payload={"zones": ["door"]}, severity="alert")  # another tenant
    wanted = await new_event(tenant_a, payload={"zones": ["yard", "door"]}, severity="alert")

    assert (await alerts_at_door.receive_json_from(timeout=3))["data"]["id"] == wanted
    assert await alerts_at_door.receive_nothing(timeout=0.5)
    received = [(await alerts.receive_json_from(timeout=3))["data"] for _ in range(2)]
    assert [(event["payload"]["zones"], event["severity"]) for event in received] == [
        (["yard"], "alert"), (["yard", "door"], "alert"),
    ]  # fmt: skip
    assert await alerts.receive_nothing(timeout=0.3)
    await alerts_at_door.disconnect()
    await alerts.disconnect()
