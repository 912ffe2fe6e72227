"""POST /v2/api/events:batch: many events at once under POST /v2/api/events' rules, all or nothing, scoped,
published."""

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.api.batch import BATCH_SIZE_RULE, MAX_BATCH
from events.models import Event
from events.serializers import event_json

from ..factories import CameraFactory
from .realtime import GroupListener

pytestmark = pytest.mark.django_db

BATCH = "/v2/api/events:batch"
EVENT = {"camera_id": "cam-front-01", "type": "person", "confidence": 0.87}


def events(count: int, **fields) -> list[dict]:
    """`count` valid events of camera_a, each with a trace_id that tells its place."""
    return [{**EVENT, "trace_id": f"trace-{i}", **fields} for i in range(count)]


def post(client, body):
    return client.post(BATCH, body, format="json")


def test_stores_every_event_and_answers_them_in_order_as_the_single_post_does(client_a, camera_a, tenant_a):
    CameraFactory(tenant=tenant_a, slug="cam-back")
    ts = (datetime.now(UTC) - timedelta(days=29)).replace(microsecond=123000)  # within the 30 days of retention
    sent = events(12)
    sent[3] |= {"camera_id": "cam-back", "type": "vehicle", "ts": ts.isoformat(), "payload": {"track_id": 7}}
    sent[5] |= {
        "severity": "alert",
        "tags": ["gate", "gate"],
        "snapshot_url": "https://cdn.example/5.jpg",
        "ts": ts.isoformat(),
    }
    response = post(client_a, {"events": sent})
    assert response.status_code == 201, response.json()
    answered = response.json()["events"]
    assert [e["trace_id"] for e in answered] == [f"trace-{i}" for i in range(12)]
    stored = Event.objects.in_bulk([e["id"] for e in answered])
    assert [event_json(stored[e["id"]]) for e in answered] == answered
    assert (answered[3]["camera_id"], answered[3]["ts"], stored[answered[3]["id"]].event_id) == (
        "cam-back", ts.isoformat()[:23] + "Z", 3
    )  # fmt: skip
    assert stored[answered[5]["id"]].tags == ["gate"]
    single = client_a.post("/v2/api/events", sent[5], format="json").json()
    assert {**single, "id": None} == {**answered[5], "id": None}
    assert Event.objects.filter(tenant=tenant_a).count() == 13


def test_a_batch_costs_the_same_queries_whatever_its_size(client_a, camera_a):
    def queries(count: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert post(client_a, {"events": events(count)}).status_code == 201
        return len(captured)

    assert queries(2) == queries(MAX_BATCH)


@pytest.mark.django_db(transaction=True)
def test_every_event_is_published_in_order(client_a, camera_a, tenant_a):
    listener = GroupListener(tenant_a.id)
    try:
        response = post(client_a, {"events": events(250)})
        assert response.status_code == 201
        published = []
        while len(published) < 250 and (message := listener.receive()) is not None:
            assert message["type"] == "events.created"
            published += message["events"]
    finally:
        listener.close()
    assert published == response.json()["events"]


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [*events(MAX_BATCH), {"type": "ufo"}]},  # refused for its length before its events are read
        {"events": EVENT},
        {"events": "cam-front-01"},
        {},
        [EVENT],
    ],
    ids=["empty", "over-the-limit", "an-object", "text", "no-events", "a-bare-list"],
)
def test_a_body_without_1_to_500_events_is_400_and_stores_nothing(client_a, camera_a, body):
    response = post(client_a, body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid"
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        assert error["fields"] == {"events": [BATCH_SIZE_RULE]}
    assert list(error["fields"]) in (["events"], ["non_field_errors"])  # a bare list is no body with `events`
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"confidence": "very"}, "confidence"),  # the body's check
        ({"type": "ufo"}, "type"),  # create_events' check
        ({"type": "camera_offline"}, "type"),  # ingest_events' rule for clients
        ({"ts": (datetime.now(UTC) - timedelta(days=31)).isoformat()}, "ts"),
        ({"snapshot_url": "/v2/hls/cam-b/snap.jpg"}, "snapshot_url"),  # another tenant's camera
        ({"tags": ["two words"]}, "tags"),
    ],
)
def test_a_bad_event_is_400_naming_its_place_and_nothing_is_stored(client_a, camera_a, tenant_b, fields, field):
    CameraFactory(tenant=tenant_b, slug="cam-b")
    sent = events(10)
    sent[7] |= fields
    response = post(client_a, {"events": sent})
    assert response.status_code == 400
    error = response.json()
    assert (error["code"], set(error["fields"])) == ("invalid", {f"events[7].{field}"})
    assert error["detail"].startswith(f"events[7].{field}: ")
    assert not Event.objects.exists()


@pytest.mark.parametrize("item", ["person", None])
def test_an_event_that_is_not_an_object_is_named(client_a, camera_a, item):
    response = post(client_a, {"events": [EVENT, item, EVENT]})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"events[1]"}
    assert not Event.objects.exists()


def test_every_bad_event_the_body_check_finds_is_named(client_a, camera_a):
    sent = events(5)
    sent[1]["confidence"], sent[4]["camera_id"] = "high", None
    response = post(client_a, {"events": sent})
    assert set(response.json()["fields"]) == {"events[1].confidence", "events[4].camera_id"}


def test_another_tenants_camera_reads_as_an_unknown_one(client_a, camera_a, tenant_b):
    CameraFactory(tenant=tenant_b, slug="cam-b")
    answers = {}
    for camera in ("cam-b", "cam-gone"):
        sent = events(5)
        sent[3]["camera_id"] = camera
        response = post(client_a, {"events": sent})
        assert response.status_code == 400
        answers[camera] = response.content.decode().replace(camera, "CAMERA")
    assert answers["cam-b"] == answers["cam-gone"]
    assert post(client_a, {"events": [{**EVENT, "camera_id": "cam-gone"}]}).json()["fields"] == {
        "events[0].camera_id": ["no camera 'cam-gone' in this tenant"]
    }
    assert not Event.objects.exists()


def test_the_tenant_comes_from_the_token(client_b, tenant_b, camera_a):
    CameraFactory(tenant=tenant_b, slug="cam-front-01")
    response = post(client_b, {"events": events(3, tenant_id="tenant-a")})
    assert response.status_code == 201
    assert set(Event.objects.values_list("tenant_id", flat=True)) == {"tenant-b"}


def test_needs_events_write(make_client, tenant_a, camera_a):
    response = post(make_client(tenant_a, scopes=["events:read"]), {"events": events(2)})
    assert response.status_code == 403
    assert "events:write" in response.json()["detail"]
    assert not Event.objects.exists()


def test_needs_a_token(client, camera_a):
    response = client.post(BATCH, {"events": events(2)}, content_type="application/json")
    assert response.status_code == 401
    assert not Event.objects.exists()


def test_the_event_routes_do_not_take_the_batch_path(client_a, camera_a):
    """`events/<pk>` must not read `events:batch` as an id, nor the batch path any other method than POST."""
    response = client_a.get(BATCH)
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")
    assert client_a.get("/v2/api/events/events:batch").status_code == 404


def test_the_schema_describes_the_body_and_the_answers(client, client_a, camera_a):
    document = client.get("/v2/api/schema", HTTP_ACCEPT="application/json").json()
    operation = document["paths"][BATCH]["post"]
    assert operation["tags"] == document["paths"]["/v2/api/events"]["post"]["tags"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/EventBatchRequest"}
    events_schema = document["components"]["schemas"]["EventBatchRequest"]["properties"]["events"]
    assert (events_schema["minItems"], events_schema["maxItems"]) == (1, MAX_BATCH)
    assert events_schema["items"] == {"$ref": "#/components/schemas/EventIngestRequest"}

    def answer_schema(status: int) -> dict:
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        return {**schema, "components": document["components"]}

    created = post(client_a, {"events": events(2)})
    jsonschema.validate(created.json(), answer_schema(201))
    rejected = post(client_a, {"events": events(2, type="ufo")})
    jsonschema.validate(rejected.json(), answer_schema(400))
    assert {"400", "401", "403"} <= set(operation["responses"])
