"""The OpenAPI schema of /v2/api/events says what the API answers: the event is event_json's shape, defined once."""

import jsonschema
import pytest

from events.api.serializers import EventSerializer
from events.serializers import event_json

from ..factories import EventFactory

pytestmark = pytest.mark.django_db

EVENTS = "/v2/api/events"


def response_schema(client, method: str, status: int) -> dict:
    """The schema /v2/api/schema gives for `method` /v2/api/events answering `status`, with its components."""
    document = client.get("/v2/api/schema", HTTP_ACCEPT="application/json").json()
    schema = document["paths"][EVENTS][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def test_the_schemas_event_has_exactly_the_keys_of_event_json(tenant_a):
    assert set(EventSerializer().fields) == set(event_json(EventFactory(tenant=tenant_a)))


def test_the_list_and_the_created_event_match_the_schema(client, client_a, camera_a):
    EventFactory(tenant=camera_a.tenant, payload={"box": [1, 2, 3, 4]})
    created = client_a.post(EVENTS, {"camera_id": camera_a.slug, "type": "person", "confidence": 0.5}, format="json")
    assert created.status_code == 201, created.json()
    jsonschema.validate(created.json(), response_schema(client, "post", 201))

    listed = client_a.get(EVENTS)
    assert listed.status_code == 200 and len(listed.json()) == 2
    jsonschema.validate(listed.json(), response_schema(client, "get", 200))


def test_a_rejected_event_matches_the_documented_error(client, client_a, camera_a):
    response = client_a.post(EVENTS, {"camera_id": camera_a.slug, "type": "ufo", "confidence": 2}, format="json")
    assert response.status_code == 400
    jsonschema.validate(response.json(), response_schema(client, "post", 400))


def test_options_describes_the_ingest_body(client_a):
    response = client_a.options(EVENTS)
    assert response.status_code == 200
    assert {"camera_id", "type", "confidence"} <= set(response.json()["actions"]["POST"])
