"""GET /v2/api/reports/activity: events per bucket, camera and type from one SQL aggregate, through the tenant gate
(another tenant's events never counted, a camera-limited token counts only its cameras), as JSON or the same rows
as CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants.catalogue import CAMERAS_READ, EVENTS_READ, SCOPES
from tenants.tokens import issue_access_token

from ..factories import EventFactory

pytestmark = pytest.mark.django_db

ACTIVITY = "/v2/api/reports/activity"
DAY = datetime(2026, 4, 30, tzinfo=UTC)
WHOLE_DAY = {"from": "2026-04-30T00:00:00Z", "to": "2026-05-01T00:00:00Z"}


@pytest.fixture
def events(tenant_a, tenant_b):
    """Tenant A: 3 persons and a vehicle on the lobby at 09:xx, a person on the lobby and 2 on the yard at 10:xx,
    one person the day before and one the day after; tenant B: persons on its own lobby."""

    def at(tenant, camera_id, type, ts, n=1):
        EventFactory.create_batch(n, tenant=tenant, camera_id=camera_id, type=type, ts=ts)

    at(tenant_a, "lobby", "person", DAY + timedelta(hours=9, minutes=1), 2)
    at(tenant_a, "lobby", "person", DAY + timedelta(hours=9, minutes=59, seconds=59))
    at(tenant_a, "lobby", "vehicle", DAY + timedelta(hours=9, minutes=30))
    at(tenant_a, "lobby", "person", DAY + timedelta(hours=10))
    at(tenant_a, "yard", "person", DAY + timedelta(hours=10, minutes=5), 2)
    at(tenant_a, "lobby", "person", DAY - timedelta(microseconds=1))
    at(tenant_a, "lobby", "person", DAY + timedelta(days=1))
    at(tenant_b, "lobby", "person", DAY + timedelta(hours=9), 5)


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()


def row(bucket: str, camera_id: str, type: str, count: int) -> dict:
    return {"bucket": bucket, "camera_id": camera_id, "type": type, "count": count}


def test_hourly_buckets_per_camera_and_type_oldest_first(client_a, events):
    with CaptureQueriesContext(connection) as queries:
        body = rows(client_a.get(ACTIVITY, {**WHOLE_DAY, "bucket": "hour"}))
    assert body == [
        row("2026-04-30T09:00:00Z", "lobby", "person", 3),
        row("2026-04-30T09:00:00Z", "lobby", "vehicle", 1),
        row("2026-04-30T10:00:00Z", "lobby", "person", 1),
        row("2026-04-30T10:00:00Z", "yard", "person", 2),
    ]
    aggregates = [q["sql"] for q in queries.captured_queries if "events_event" in q["sql"]]
    assert len(aggregates) == 1 and "GROUP BY" in aggregates[0] and "DATE_TRUNC('hour'" in aggregates[0]


def test_daily_buckets_are_the_default_and_the_range_is_half_open(client_a, events):
    two_days = {"from": "2026-04-29", "to": "2026-05-01"}  # a bare date is its midnight UTC
    assert rows(client_a.get(ACTIVITY, two_days)) == [
        row("2026-04-29T00:00:00Z", "lobby", "person", 1),
        row("2026-04-30T00:00:00Z", "lobby", "person", 4),
        row("2026-04-30T00:00:00Z", "lobby", "vehicle", 1),
        row("2026-04-30T00:00:00Z", "yard", "person", 2),
    ]
    # A range inside a bucket counts only its own events; the bucket is still named by its start.
    part = {"from": "2026-04-30T09:30:00+02:00", "to": "2026-04-30T10:00:00Z", "bucket": "hour"}  # 07:30 UTC on
    assert rows(client_a.get(ACTIVITY, part)) == [
        row("2026-04-30T09:00:00Z", "lobby", "person", 3),
        row("2026-04-30T09:00:00Z", "lobby", "vehicle", 1),
    ]
    assert rows(client_a.get(ACTIVITY, {"from": "2026-06-01", "to": "2026-06-02"})) == []


def test_camera_and_type_filters(client_a, events):
    assert rows(client_a.get(ACTIVITY, {**WHOLE_DAY, "camera_id": "yard"})) == [
        row("2026-04-30T00:00:00Z", "yard", "person", 2)
    ]
    assert rows(client_a.get(ACTIVITY, {**WHOLE_DAY, "type": "vehicle", "bucket": "hour"})) == [
        row("2026-04-30T09:00:00Z", "lobby", "vehicle", 1)
    ]
    assert rows(client_a.get(ACTIVITY, {**WHOLE_DAY, "camera_id": "nowhere"})) == []


def test_another_tenants_events_are_never_counted(client_b, events):
    assert rows(client_b.get(ACTIVITY, WHOLE_DAY)) == [row("2026-04-30T00:00:00Z", "lobby", "person", 5)]


def test_a_camera_limited_token_counts_only_its_cameras(tenant_a, events):
    token = issue_access_token(tenant_a, SCOPES, timedelta(hours=1), cameras=("lobby",))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert rows(client.get(ACTIVITY, WHOLE_DAY)) == [
        row("2026-04-30T00:00:00Z", "lobby", "person", 4),
        row("2026-04-30T00:00:00Z", "lobby", "vehicle", 1),
    ]
    assert rows(client.get(ACTIVITY, {**WHOLE_DAY, "camera_id": "yard"})) == []


@pytest.mark.parametrize("how", [{"format": "csv"}, {"accept": "text/csv"}])
def test_the_csv_has_the_same_rows_as_the_json(client_a, events, how):
    query = {**WHOLE_DAY, "bucket": "hour"}
    expected = rows(client_a.get(ACTIVITY, query))
    if "format" in how:
        response = client_a.get(ACTIVITY, {**query, **how})
    else:
        response = client_a.get(ACTIVITY, query, HTTP_ACCEPT=how["accept"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="activity.csv"'
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [{**r, "count": int(r["count"])} for r in table] == expected
    assert response.content.decode().splitlines()[0] == "bucket,camera_id,type,count"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2026-05-01"}, "from"),
        ({"from": "2026-04-30"}, "to"),
        ({"from": "yesterday", "to": "2026-05-01"}, "from"),
        ({"from": "2026-05-01", "to": "2026-05-01"}, "to"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ({"from": "2026-04-01", "to": "2026-05-02T00:00:01Z", "bucket": "hour"}, "to"),  # over 31 days of hours
        ({"from": "2026-01-01", "to": "2027-01-03"}, "to"),  # over 366 days
        ({**WHOLE_DAY, "bucket": "week"}, "bucket"),
        ({**WHOLE_DAY, "type": "dragon"}, "type"),
        ({**WHOLE_DAY, "camera_id": "x" * 65}, "camera_id"),
        ({"from": "0001-01-01", "to": "2026-05-01"}, "from"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client_a, query, field):
    for extra in ({}, {"format": "csv"}):  # the CSV form's errors are the API's JSON too
        response = client_a.get(ACTIVITY, {**query, **extra})
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] == "invalid" and set(body["fields"]) == {field}, body
        assert body["detail"].startswith(f"{field}: ")


def test_a_format_it_cannot_answer_is_a_400_naming_it_not_a_404(client_a):
    response = client_a.get(ACTIVITY, {**WHOLE_DAY, "format": "xml"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"format": ["Must be csv (JSON is the default)."]}
    assert client_a.get(ACTIVITY, {**WHOLE_DAY, "format": "json"}).status_code == 200


def test_the_longest_ranges_are_answered(client_a):
    assert rows(client_a.get(ACTIVITY, {"from": "2026-04-01", "to": "2026-05-02", "bucket": "hour"})) == []
    assert rows(client_a.get(ACTIVITY, {"from": "2026-01-01", "to": "2027-01-02"})) == []


def test_reports_need_events_read(make_client, tenant_a):
    assert make_client(tenant_a, [CAMERAS_READ]).get(ACTIVITY, WHOLE_DAY).status_code == 403
    assert make_client(tenant_a, [EVENTS_READ]).get(ACTIVITY, WHOLE_DAY).status_code == 200
    assert APIClient().get(ACTIVITY, WHOLE_DAY).status_code == 401
