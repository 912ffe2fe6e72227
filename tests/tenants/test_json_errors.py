"""Errors Django answers itself (unknown path, wrong method, oversize body) and inputs that used to be a 500 (a NUL
in a path, JSON nested past Python's recursion limit) get the API's `{"detail", "code"}` JSON and a 4xx."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/api/cameras/",  # a trailing slash (APPEND_SLASH is off)
        "/v2/api/no-such-thing",
        "/v2/api/",
        "/v2/hls/",
        "/v2/hls/cam-front-01/nothing.txt",
    ],
)
def test_an_unknown_api_or_hls_path_is_a_json_404(client_a, path):
    assert_json_error(client_a.get(path), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/v2/api/cameras/a%00b",
        "/v2/api/events/evt%00x",
        "/v2/hls/cam%00/live.m3u8",
        "/v2/hls/cam-front-01/2020-03-12/04/seg%00.ts",
    ],
)
def test_a_nul_in_a_path_is_a_json_404_not_a_500(client_a, camera_a, path):
    assert_json_error(client_a.get(path), 404, "not_found")


def test_a_nul_in_a_path_outside_the_api_is_a_404_too(staff_b):
    assert staff_b.get("/admin/tenants/tenant/tenant-b%00/change/").status_code == 404


def test_a_post_to_hls_is_a_json_405_that_names_the_allowed_methods(camera_a):
    # As a real client meets it: Django's CSRF check (off in the test client by default) runs before any view.
    response = Client(enforce_csrf_checks=True).post("/v2/hls/cam-front-01/live.m3u8")
    assert_json_error(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


@pytest.mark.parametrize("path", ["/v2/api/events", "/v2/api/cameras", "/v2/api/auth/token"])
def test_a_body_over_the_upload_limit_is_a_json_413(client_a, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client_a.post(path, '{"name": "' + "x" * 2048 + '"}', content_type="application/json")
    assert_json_error(response, 413, "request_too_large")


@pytest.mark.parametrize("path", ["/v2/api/events", "/v2/api/cameras", "/v2/api/auth/token"])
def test_json_nested_past_the_recursion_limit_is_a_400(client, client_a, path):
    sender = client if path.endswith("token") else client_a
    assert_json_error(sender.post(path, DEEP, content_type="application/json"), 400, "parse_error")


def test_pages_outside_the_api_keep_djangos_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
