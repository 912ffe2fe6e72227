"""Errors Django answers itself (unknown path, wrong method, oversize body) and inputs that used to be a 500 (a NUL
in a path, JSON nested past Python's recursion limit) get the API's `{"detail", "code"}` JSON and a 4xx; a database
without a free connection is a JSON 503."""

import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.db import connection
from django.test import Client

from ..processes import running_daphne

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
        "/v2/exports/",
        "/v2/exports/1/cam-front-01.mkv",
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


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_write_to_an_export_file_is_a_json_405(method):
    response = getattr(Client(enforce_csrf_checks=True), method)("/v2/exports/1/cam-front-01.mp4")
    assert_json_error(response, 405, "method_not_allowed")


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


def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


LOCK_WAITS = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"


def wait_for_a_lock_wait(session: psycopg.Connection) -> None:
    for _ in range(300):
        session.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view would not change
        if session.execute(LOCK_WAITS).fetchone()[0]:
            return
        time.sleep(0.05)
    pytest.fail("no request came to wait for the lock")


@pytest.mark.django_db(transaction=True)
def test_a_request_that_finds_no_free_pooled_connection_is_a_json_503(tenant_a, make_token, tmp_path):
    headers = {"Authorization": f"Bearer {make_token(tenant_a)}"}
    pool = {"DB_POOL_MAX_SIZE": "1", "DB_POOL_MIN_SIZE": "1", "DB_POOL_TIMEOUT": "0.5"}
    with running_daphne(tmp_path / "daphne.log", **pool) as server:
        url = f"{server.url}/v2/api/cameras"
        assert fetch(url, headers)[0] == 200
        # Another session holds the tenants table, so the first request waits in PostgreSQL holding the pool's one
        # connection, and the second finds none free.
        dsn = f"host=127.0.0.1 user={connection.settings_dict['USER']} dbname={connection.settings_dict['NAME']}"
        with psycopg.connect(dsn) as locker:
            locker.execute("LOCK TABLE tenants_tenant IN ACCESS EXCLUSIVE MODE")
            first: list = []
            waiting = threading.Thread(target=lambda: first.append(fetch(url, headers)))
            waiting.start()
            try:
                wait_for_a_lock_wait(locker)
                status, response_headers, body = fetch(url, headers)
            finally:
                locker.rollback()
                waiting.join(timeout=30)
    assert status == 503, body
    assert response_headers["Content-Type"] == "application/json" and response_headers["Retry-After"].isdigit()
    assert b'"code": "database_unavailable"' in body
    assert first[0][0] == 200  # the request that held the connection finished once the table was free
