"""GET /v2/api/cameras/{id}/counts?from=&to=: line crossings per line, day and label over a range of days (both
ends included), beside the one-day `date=` form (tests/events/test_line_counts.py)."""

from datetime import date, timedelta

import pytest

from tenants.catalogue import CAMERAS_READ, EVENTS_READ

from ..factories import CameraFactory
from .test_line_counts import DAY, LINES, cross

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera(tenant_a):
    return CameraFactory(tenant=tenant_a, slug="cam-door", lines=LINES)


def counts(client, camera_id: str, **query):
    return client.get(f"/v2/api/cameras/{camera_id}/counts", query)


def test_counts_per_line_day_and_label(client_a, camera):
    cross(camera, "entry", "a_to_b", "person", DAY + timedelta(hours=9))
    cross(camera, "entry", "a_to_b", "person", DAY + timedelta(hours=23, minutes=59))
    cross(camera, "entry", "b_to_a", "vehicle", DAY + timedelta(hours=12))
    cross(camera, "entry", "b_to_a", "person", DAY + timedelta(days=2))  # the last day, included
    cross(camera, "exit", "a_to_b", "vehicle", DAY + timedelta(days=1, hours=3))
    # Not counted: the day before the range and the day after it, another camera.
    cross(camera, "entry", "a_to_b", "person", DAY - timedelta(microseconds=1))
    cross(camera, "entry", "a_to_b", "person", DAY + timedelta(days=3))
    cross(CameraFactory(tenant=camera.tenant, slug="cam-other"), "entry", "a_to_b", "person", DAY)

    response = counts(client_a, camera.slug, **{"from": "2026-04-30", "to": "2026-05-02"})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "camera_id": "cam-door",
        "from": "2026-04-30",
        "to": "2026-05-02",
        "lines": {
            "entry": [
                {"date": "2026-04-30", "in": 2, "out": 1,
                 "labels": {"person": {"in": 2, "out": 0}, "vehicle": {"in": 0, "out": 1}}},
                {"date": "2026-05-02", "in": 0, "out": 1, "labels": {"person": {"in": 0, "out": 1}}},
            ],
            "exit": [{"date": "2026-05-01", "in": 1, "out": 0, "labels": {"vehicle": {"in": 1, "out": 0}}}],
        },
    }  # fmt: skip
    # One day as a range: the day's hours summed.
    one_day = counts(client_a, camera.slug, **{"from": "2026-04-30", "to": "2026-04-30"}).json()["lines"]
    by_hour = counts(client_a, camera.slug, date="2026-04-30").json()["lines"]
    for line, days in one_day.items():
        assert [(d["in"], d["out"]) for d in days] == (
            [(sum(h["in"] for h in by_hour[line]), sum(h["out"] for h in by_hour[line]))] if by_hour[line] else []
        )


def test_another_tenants_camera_is_a_404_and_its_crossings_are_not_counted(client_b, camera, tenant_b):
    cross(camera, "entry", "a_to_b", "person", DAY)
    whole = {"from": "2026-04-30", "to": "2026-04-30"}
    assert counts(client_b, camera.slug, **whole).status_code == 404
    theirs = CameraFactory(tenant=tenant_b, slug=camera.slug, lines=LINES)
    assert counts(client_b, theirs.slug, **whole).json()["lines"] == {"entry": [], "exit": []}


def test_the_longest_range_is_92_days(client_a, camera):
    first = date(2026, 1, 1)
    longest = {"from": first.isoformat(), "to": (first + timedelta(days=91)).isoformat()}
    assert counts(client_a, camera.slug, **longest).status_code == 200
    too_long = {**longest, "to": (first + timedelta(days=92)).isoformat()}
    response = counts(client_a, camera.slug, **too_long)
    assert response.status_code == 400
    assert response.json()["fields"] == {"to": ["At most 92 days, both ends included."]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "date"),
        ({"from": "2026-04-30"}, "to"),
        ({"to": "2026-04-30"}, "from"),
        ({"date": "2026-04-30", "from": "2026-04-30", "to": "2026-04-30"}, "date"),
        ({"from": "2026-05-01", "to": "2026-04-30"}, "to"),
        ({"from": "30.04.2026", "to": "2026-05-01"}, "from"),
        ({"from": "2026-04-30", "to": "2026-02-30"}, "to"),
        ({"from": "1969-12-31", "to": "1970-01-01"}, "from"),
    ],
)
def test_a_bad_range_is_a_400_naming_the_field(client_a, camera, query, field):
    response = counts(client_a, camera.slug, **query)
    assert response.status_code == 400, response.content
    assert set(response.json()["fields"]) == {field}, response.json()


def test_range_counts_need_events_read(make_client, camera):
    whole = {"from": "2026-04-30", "to": "2026-05-01"}
    assert counts(make_client(camera.tenant, [CAMERAS_READ]), camera.slug, **whole).status_code == 403
    assert counts(make_client(camera.tenant, [EVENTS_READ]), camera.slug, **whole).status_code == 200
