import base64

import pytest

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_liveness(client):
    response = client.get("/v2/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readiness_checks_postgres_and_redis(client):
    response = client.get("/v2/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


def test_readiness_is_503_naming_redis_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/v2/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["postgres"] == "ok"


def test_metrics_need_basic_auth(client, settings):
    assert client.get("/v2/metrics").status_code == 401
    wrong = client.get("/v2/metrics", HTTP_AUTHORIZATION=basic(settings.METRICS_USER, "wrong"))
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Basic")
    assert client.get("/v2/metrics", HTTP_AUTHORIZATION="Basic !!!").status_code == 401


def test_metrics_expose_django_and_camera_gauges(client, settings, tenant_a):
    settings.METRICS_PASSWORD = "m-secret"
    CameraFactory.create_batch(2, tenant=tenant_a, status="online")
    CameraFactory(tenant=tenant_a, enabled=False)
    response = client.get("/v2/metrics", HTTP_AUTHORIZATION=basic(settings.METRICS_USER, "m-secret"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'vms_cameras{enabled="true",status="online"} 2.0' in text
    assert 'vms_cameras{enabled="false",status="offline"} 1.0' in text
    assert "django_http_requests_total_by_method_total" in text


def test_openapi_schema_and_docs(client):
    schema = client.get("/v2/api/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/v2/api/cameras", "/v2/api/cameras/{id}", "/v2/api/auth/token"} <= set(paths)
    docs = client.get("/v2/api/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.parametrize(
    "authorization",
    [basic("mé", "pässword"), basic("metrics", "pässword"), "Basic é", "Basic " + "é" * 8],
    ids=["non-ascii user", "non-ascii password", "non-ascii header", "non-ascii header of base64 length"],
)
def test_metrics_with_non_ascii_credentials_are_a_401(client, settings, authorization):
    settings.METRICS_PASSWORD = "m-secret"
    response = client.get("/v2/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_metrics_basic_auth_guesses_are_throttled_per_address(client, settings):
    settings.METRICS_PASSWORD = "m-secret"
    good = basic(settings.METRICS_USER, "m-secret")
    assert [client.get("/v2/metrics", HTTP_AUTHORIZATION=good).status_code for _ in range(15)] == [200] * 15
    guesses = [basic(settings.METRICS_USER, f"guess{n}") for n in range(40)]
    codes = [client.get("/v2/metrics", HTTP_AUTHORIZATION=guess).status_code for guess in guesses]
    first_refusal = codes.index(429)
    assert 0 < first_refusal <= 20 and set(codes[first_refusal:]) == {429}  # well before 40 tries a minute
    refused = client.get("/v2/metrics", HTTP_AUTHORIZATION=good)  # the right password, too late
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled"
    assert client.get("/v2/metrics", HTTP_AUTHORIZATION=good, REMOTE_ADDR="10.0.0.2").status_code == 200
