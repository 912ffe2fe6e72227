"""POST /v2/api/events: ingest from an external analytics source, validated, scoped, published."""

from datetime import UTC, datetime, timedelta

import pytest

from events.models import Event

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db

EVENTS = "/v2/api/events"
BODY = {"camera_id": "cam-front-01", "type": "person", "confidence": 0.87}


def post(client, **fields):
    return client.post(EVENTS, {**BODY, **fields}, format="json")


def test_ingest_stores_and_returns_the_event(client_a, client_b, camera_a):
    ts = (datetime.now(UTC) - timedelta(days=29)).replace(microsecond=123000)  # within the 30 days of retention
    response = post(
        client_a,
        ts=ts.isoformat(),
        payload={"boxes": [[1, 2, 3, 4]], "track_id": 42},
        trace_id="trace-1",
        model_version="frigate@0.14",
        snapshot_url="/v2/hls/cam-front-01/2026-04-30/14/snap-12.jpg",
        tags=["gate"],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    stored = Event.objects.get(pk=body["id"])
    assert body["id"].startswith("evt-")
    assert (body["tenant_id"], body["ts"], body["trace_id"]) == ("tenant-a", ts.isoformat()[:23] + "Z", "trace-1")
    assert (stored.event_id, stored.tags, stored.model_version) == (2, ["gate"], "frigate@0.14")
    assert stored.expires == ts + timedelta(days=30)
    assert client_b.get(EVENTS).json() == []


def test_ts_and_trace_id_default(client_a, camera_a):
    before = datetime.now(UTC)
    body = post(client_a).json()
    assert before <= datetime.fromisoformat(body["ts"]) + timedelta(milliseconds=1)
    assert len(body["trace_id"]) == 36
    assert (body["payload"], body["snapshot_url"], body["model_version"]) == ({}, "", "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "violence"}, "type"),
        ({"confidence": 1.01}, "confidence"),
        ({"confidence": -1}, "confidence"),
        ({"confidence": "very"}, "confidence"),
        ({"camera_id": "cam-unknown"}, "camera_id"),
        ({"ts": "not a time"}, "ts"),
        ({"payload": [1, 2]}, "payload"),
        ({"tags": ["two words"]}, "tags"),
        ({"trace_id": "t" * 65}, "trace_id"),
        # Archived on arrival: older than the tenant's event retention (30 days), or from before year 1 in UTC.
        ({"ts": (datetime.now(UTC) - timedelta(days=30, seconds=1)).isoformat()}, "ts"),
        ({"ts": "0001-01-01T00:00:00Z"}, "ts"),
        # Camera health is told by the system only (events.notify.health).
        ({"type": "camera_offline"}, "type"),
        ({"type": "camera_online"}, "type"),
    ],
)
def test_bad_body_is_400_naming_the_field_and_stores_nothing(client_a, camera_a, fields, field):
    response = post(client_a, **fields)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], set(body["fields"])) == ("invalid", {field})
    assert field in body["detail"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("json_fields", "field"),
    [
        # Written as JSON text: a lone surrogate has no UTF-8 form, so no client library would encode one.
        ('"payload": {"note": "\\ud800"}', "payload"),
        ('"payload": {"boxes": [{"\\udfff": 1}]}', "payload"),
        ('"payload": {"plate": "51F\\u0000"}', "payload"),
        ('"payload": {"label\\u0000": "person"}', "payload"),
        ('"payload": {"deep": ' + "[" * 40 + "]" * 40 + "}", "payload"),
        ('"payload": {"blob": "' + "x" * 16 * 1024 + '"}', "payload"),
        ('"ts": "9999-12-31T23:59:59Z"', "ts"),
        (f'"ts": "{(datetime.now(UTC) + timedelta(days=2)).isoformat()}"', "ts"),
    ],
)
def test_what_postgresql_cannot_store_or_beyond_the_limits_is_400(client_a, camera_a, json_fields, field):
    text = '{"camera_id": "cam-front-01", "type": "person", "confidence": 0.87, ' + json_fields + "}"
    response = client_a.generic("POST", EVENTS, text, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    # A lone surrogate is refused by the JSON parser (tenants.api.parsers), which names where but has no `fields`.
    assert field in body["detail"] and set(body.get("fields", {field: []})) == {field}
    assert not Event.objects.exists()


@pytest.mark.parametrize("missing", ["camera_id", "type", "confidence"])
def test_required_fields(client_a, camera_a, missing):
    body = {k: v for k, v in BODY.items() if k != missing}
    response = client_a.post(EVENTS, body, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {missing}


def test_another_tenants_camera_is_not_found_in_the_body(client_b, camera_a):
    response = post(client_b)
    assert response.status_code == 400
    assert response.json()["fields"] == {"camera_id": ["no camera 'cam-front-01' in this tenant"]}
    assert not Event.objects.exists()


def test_tenant_comes_from_the_token_not_the_body(client_b, tenant_b, camera_a):
    CameraFactory(tenant=tenant_b, slug="cam-front-01")
    body = post(client_b, tenant_id="tenant-a").json()
    assert Event.objects.get(pk=body["id"]).tenant_id == "tenant-b"


def test_ingest_needs_events_write(make_client, tenant_a, camera_a):
    response = post(make_client(tenant_a, scopes=["events:read"]))
    assert response.status_code == 403
    assert "events:write" in response.json()["detail"]
    assert not Event.objects.exists()
