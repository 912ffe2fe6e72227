"""GET /v2/api/cameras/{id}/counts?date=: line crossings per line, hour and label, from line_crossing events; and
Kalay's event_id 5 lists them."""

from datetime import UTC, datetime, timedelta

import pytest

from events.services import create_event
from tenants.catalogue import CAMERAS_READ, EVENTS_READ

from ..factories import CameraFactory
from .kalay import arguments, data, post

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 4, 30, tzinfo=UTC)
LINES = [
    {"name": "entry", "a": [0.5, 0], "b": [0.5, 1], "direction": "both"},
    {"name": "exit", "a": [0, 0.5], "b": [1, 0.5], "direction": "a_to_b", "labels": ["vehicle"]},
]


@pytest.fixture
def camera(tenant_a):
    return CameraFactory(tenant=tenant_a, slug="cam-door", lines=LINES)


def cross(camera, line: str, direction: str, label: str, ts: datetime):
    """A line_crossing event as the detector writes it."""
    payload = {"line": line, "direction": direction, "label": label, "track_id": 7, "boxes": [[1, 2, 3, 4]],
               "frame": 120}  # fmt: skip
    return create_event(
        tenant=camera.tenant, camera_id=camera.slug, type="line_crossing", confidence=0.8, payload=payload, ts=ts
    )


def counts(client, camera_id: str, date: str = "2026-04-30"):
    return client.get(f"/v2/api/cameras/{camera_id}/counts", {"date": date})


def test_counts_per_line_hour_and_label(client_a, camera):
    at = DAY + timedelta(hours=9, minutes=5)
    for _ in range(3):
        cross(camera, "entry", "a_to_b", "person", at)
    cross(camera, "entry", "b_to_a", "person", at + timedelta(minutes=50))
    cross(camera, "entry", "b_to_a", "vehicle", at)
    cross(camera, "entry", "a_to_b", "person", DAY + timedelta(hours=23, minutes=59))
    cross(camera, "gone", "a_to_b", "person", at)  # a line since deleted still counts
    # Not counted: the day before and after, another kind of event, another camera.
    cross(camera, "entry", "a_to_b", "person", DAY - timedelta(seconds=1))
    cross(camera, "entry", "a_to_b", "person", DAY + timedelta(days=1))
    create_event(tenant=camera.tenant, camera_id=camera.slug, type="person", confidence=0.9, ts=at,
                 payload={"line": "entry", "direction": "a_to_b", "label": "person"})  # fmt: skip
    other = CameraFactory(tenant=camera.tenant, slug="cam-other")
    cross(other, "entry", "a_to_b", "person", at)

    response = counts(client_a, camera.slug)
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "camera_id": "cam-door",
        "date": "2026-04-30",
        "lines": {
            "entry": [
                {"hour": 9, "in": 3, "out": 2,
                 "labels": {"person": {"in": 3, "out": 1}, "vehicle": {"in": 0, "out": 1}}},
                {"hour": 23, "in": 1, "out": 0, "labels": {"person": {"in": 1, "out": 0}}},
            ],
            "exit": [],
            "gone": [{"hour": 9, "in": 1, "out": 0, "labels": {"person": {"in": 1, "out": 0}}}],
        },
    }  # fmt: skip
    assert counts(client_a, camera.slug, "2026-05-02").json()["lines"] == {"entry": [], "exit": []}


def test_another_tenants_camera_is_a_404_and_its_crossings_are_not_counted(client_a, client_b, camera, tenant_b):
    cross(camera, "entry", "a_to_b", "person", DAY)
    assert counts(client_b, camera.slug).status_code == 404
    theirs = CameraFactory(tenant=tenant_b, slug=camera.slug, lines=LINES)
    assert counts(client_b, theirs.slug).json()["lines"] == {"entry": [], "exit": []}
    assert counts(client_a, "cam-nope").status_code == 404


def test_a_bad_date_is_a_400_and_counts_need_events_read(client_a, make_client, camera):
    for date in ("", "30.04.2026", "2026-02-30"):
        response = counts(client_a, camera.slug, date)
        assert response.status_code == 400 and set(response.json()["fields"]) == {"date"}, date
    assert counts(make_client(camera.tenant, [CAMERAS_READ]), camera.slug).status_code == 403
    assert counts(make_client(camera.tenant, [EVENTS_READ]), camera.slug).status_code == 200


def test_kalay_event_id_5_lists_the_line_crossings(client_a, camera):
    crossing = cross(camera, "entry", "a_to_b", "person", DAY)
    create_event(tenant=camera.tenant, camera_id=camera.slug, type="person", confidence=0.9, ts=DAY)
    window = {"device": camera.slug, "start_time": str(int((DAY - timedelta(minutes=1)).timestamp() * 1000)),
              "end_time": str(int((DAY + timedelta(minutes=1)).timestamp() * 1000))}  # fmt: skip
    listed = data(post(client_a, f"{{get_event_list({arguments(**window, event_id=5)}){{pk event_id}}}}"))
    assert listed == {"get_event_list": [{"pk": crossing.id, "event_id": 5}]}
    assert data(post(client_a, f"{{get_event_count({arguments(**window, event_id=5)})}}")) == {"get_event_count": 1}
