"""/v2/api/schema documents every error where it happens, in the API's one error shape, and how tokens are sent."""

import jsonschema
import pytest
from rest_framework.test import APIClient

from tenants.catalogue import CAMERAS_READ

pytestmark = pytest.mark.django_db

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/v2/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_documented_error_has_the_error_shape_and_every_secured_operation_its_401_and_403(schema):
    assert schema["components"]["securitySchemes"]["tenantJWT"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    }  # fmt: skip
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"detail", "code", "fields"}
    for name, operation in operations(schema):
        errors = {status: r for status, r in operation["responses"].items() if status.startswith("4")}
        assert errors, name
        for status, response in errors.items():
            assert response["content"]["application/json"]["schema"] == ERROR, (name, status)
        if name.startswith(("POST /v2/api/auth/",)):
            assert "security" not in operation, name
        else:
            assert operation["security"] == [{"tenantJWT": []}], name
            assert {"401", "403"} <= set(errors), name


def test_the_documented_statuses_of_the_cameras_and_the_token(schema):
    def statuses(method: str, path: str) -> set[str]:
        return set(schema["paths"][path][method]["responses"])

    assert statuses("post", "/v2/api/cameras") == {"201", "400", "401", "403", "409"}
    assert statuses("get", "/v2/api/cameras/{id}") == {"200", "401", "403", "404"}
    assert statuses("patch", "/v2/api/cameras/{id}") == {"200", "400", "401", "403", "404"}
    assert statuses("delete", "/v2/api/cameras/{id}") == {"204", "401", "403", "404"}
    assert statuses("get", "/v2/api/playback/timeline") == {"200", "400", "401", "403", "404"}
    token = schema["paths"]["/v2/api/auth/token"]["post"]["responses"]
    assert {"200", "400", "401", "429"} <= set(token)
    assert "Retry-After" in token["429"]["headers"]
    # A camera's id cannot change, so the change body has none.
    assert "id" not in schema["components"]["schemas"]["PatchedCameraRequest"]["properties"]


def test_the_errors_the_api_answers_are_documented_where_they_happen(schema, client_a, make_client, camera_a):
    def check(response, method: str, path: str, status: int) -> None:
        assert response.status_code == status, response.content
        documented = schema["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), {**documented, "components": schema["components"]})

    check(client_a.post("/v2/api/cameras", {}, format="json"), "post", "/v2/api/cameras", 400)
    body = {"id": camera_a.slug, "name": "again", "rtsp_url": "rtsp://10.0.0.9/live"}
    check(client_a.post("/v2/api/cameras", body, format="json"), "post", "/v2/api/cameras", 409)
    check(client_a.get("/v2/api/cameras/nope"), "get", "/v2/api/cameras/{id}", 404)
    read_only = make_client(camera_a.tenant, [CAMERAS_READ])
    check(read_only.delete(f"/v2/api/cameras/{camera_a.slug}"), "delete", "/v2/api/cameras/{id}", 403)
    check(APIClient().get("/v2/api/cameras"), "get", "/v2/api/cameras", 401)
    check(client_a.get("/v2/api/playback/timeline"), "get", "/v2/api/playback/timeline", 400)


def test_an_empty_optional_query_parameter_is_documented_and_answered_as_absent(schema, client_a):
    parameters = schema["paths"]["/v2/api/events"]["get"]["parameters"]
    assert all(p["allowEmptyValue"] for p in parameters if p["in"] == "query")
    response = client_a.get("/v2/api/events", {"limit": "", "type": "", "before": "", "since": "", "camera_id": ""})
    assert response.status_code == 200, response.json()
