"""Bad input the second review answered with an HTML 500: each is a JSON 4xx naming what is wrong, and changes
nothing. (A 400-digit number in a camera's aim: tests/cameras/test_camera_aim.py.)"""

import pytest

from cameras.models import Camera
from events.models import Event, Subscription
from playback.models import Export

pytestmark = pytest.mark.django_db

SQUARE = "[[0, 0], [1, 0], [1, 1]]"
CAMERA = "/v2/api/cameras/cam-front-01"


@pytest.mark.parametrize(
    "path",
    ["/v2/api/playback/timeline?camera_id=cam-front-01&date=", "/v2/api/cameras/cam-front-01/counts?date="],
    ids=["timeline", "counts"],
)
def test_a_day_whose_end_overflows_is_400_naming_the_days_there_can_be(client_a, camera_a, path):
    for day in ("9999-12-31", "0001-01-01"):
        refused = client_a.get(path + day)
        assert refused.json() == {
            "detail": "date: Must be between 1970-01-01 and 9998-12-31.",
            "code": "invalid",
            "fields": {"date": ["Must be between 1970-01-01 and 9998-12-31."]},
        }
    for day in ("9998-12-31", "1970-01-01"):
        answered = client_a.get(path + day)
        assert (answered.status_code, answered.json()["date"]) == (200, day)


# Written as JSON text: a lone surrogate (an unpaired \ud800-\udfff escape) has no UTF-8 form, so PostgreSQL cannot
# store it and the renderer cannot echo it back.
LONE_SURROGATES = [
    ("patch", CAMERA, '{"zones": [{"name": "\\ud800", "points": ' + SQUARE + "}]}", "zones[0].name"),
    ("patch", CAMERA, '{"features": ["person", "\\udfff"]}', "features[1]"),
    ("patch", CAMERA, '{"alert_labels": ["\\udc00\\ud800"]}', "alert_labels[0]"),
    ("patch", CAMERA, '{"name": "Gate", "\\ud800": 1}', "a key of the body"),
    ("post", "/v2/api/cameras", '{"name": "x", "rtsp_url": "rtsp://10.0.0.7/\\ud83d"}', "rtsp_url"),
    (
        "post",
        "/v2/api/events",
        '{"camera_id": "cam-front-01", "type": "person", "confidence": 0.5, "payload": {"a": [{"\\ud800": 1}]}}',
        "a key of payload.a[0]",
    ),
    ("post", "/v2/api/subscriptions", '{"url": "https://example.com/h", "zones": ["\\ud800"]}', "zones[0]"),
    ("patch", "/v2/api/subscriptions/{sub}", '{"zones": ["\\udbff"]}', "zones[0]"),
    ("post", "/v2/api/exports", '{"camera_ids": ["c"], "start": "2026-01-01T00:00:00Z", "name": "\\ud800"}', "name"),
    ("post", "/v2/api/auth/token", '{"username": "\\ud800", "password": "x"}', "username"),
]


@pytest.mark.parametrize(
    ("method", "path", "text", "where"), LONE_SURROGATES, ids=[f"{c[0]} {c[1]} {c[3]}" for c in LONE_SURROGATES]
)
def test_a_lone_surrogate_anywhere_in_a_json_body_is_400_naming_where(client_a, camera_a, method, path, text, where):
    sub = Subscription.objects.create(tenant=camera_a.tenant, url="https://hooks.example.com/vms")
    before = Camera.objects.values().get(pk=camera_a.pk), Subscription.objects.values().get(pk=sub.pk)

    response = client_a.generic(method.upper(), path.format(sub=sub.pk), text, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json() == {
        "detail": f"JSON parse error - {where} holds a lone surrogate (an unpaired \\ud800-\\udfff escape): not "
        "Unicode text.",
        "code": "parse_error",
    }
    assert (Camera.objects.values().get(pk=camera_a.pk), Subscription.objects.values().get(pk=sub.pk)) == before
    assert Camera.objects.count() == 1 and not Event.objects.exists() and not Export.objects.exists()


def test_surrogate_pairs_are_text_and_stored(client_a, camera_a):
    text = '{"zones": [{"name": "\\ud83d\\udeaa door", "points": ' + SQUARE + "}]}"
    response = client_a.generic("PATCH", CAMERA, text, content_type="application/json")
    assert response.status_code == 200, response.content
    camera_a.refresh_from_db()
    assert camera_a.zones[0]["name"] == "\U0001f6aa door"
