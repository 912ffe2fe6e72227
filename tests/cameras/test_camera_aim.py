"""A camera's aim (zones, masks, filters, lines, alert labels) through the API and the admin: returned as given,
bad geometry a 400 naming the field with nothing saved, and an aim-only change that keeps the pipeline running."""

import copy
import json

import pytest

from cameras.aim import InvalidAim, is_alert, validate_aim
from cameras.models import Camera

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db

CAMERAS = "/v2/api/cameras"
# The example, as a client sends it.
AIM = {
    "zones": [
        {"name": "door", "points": [[0, 0], [0.3, 0], [0.3, 1], [0, 1]], "labels": ["person"], "required": True,
         "alert": True},
    ],
    "masks": [
        {"name": "tree", "points": [[0.6, 0], [1, 0], [1, 0.4]], "kind": "object", "labels": ["vehicle"]},
        {"name": "clock", "points": [[0, 0], [0.1, 0], [0.1, 0.1]], "kind": "motion"},
    ],
    "filters": {"person": {"min_score": 0.5, "min_area": 0.002, "max_area": 0.8}},
    "lines": [{"name": "entry", "a": [0.5, 0], "b": [0.5, 1], "direction": "a_to_b", "labels": ["person"]}],
    "alert_labels": ["person"],
}  # fmt: skip
SQUARE = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4], [0.1, 0.4]]
HUGE = 10**400


def aim_of(body: dict) -> dict:
    return {field: body[field] for field in AIM}


def test_a_new_camera_has_no_zones_and_alerts_for_people_and_vehicles(client_a, tenant_a):
    response = client_a.post(CAMERAS, {"name": "Gate", "rtsp_url": "rtsp://10.0.0.7/live"}, format="json")
    assert response.status_code == 201, response.json()
    assert aim_of(response.json()) == {
        "zones": [], "masks": [], "filters": {}, "lines": [], "alert_labels": ["person", "vehicle"],
    }  # fmt: skip


def test_the_aim_is_returned_as_given_on_create_change_and_read(client_a, camera_a):
    body = {"name": "Gate", "rtsp_url": "rtsp://10.0.0.7/live", **AIM}
    created = client_a.post(CAMERAS, body, format="json")
    assert created.status_code == 201, created.json()
    assert aim_of(created.json()) == AIM
    assert aim_of(client_a.get(f"{CAMERAS}/{created.json()['id']}").json()) == AIM

    changed = client_a.patch(f"{CAMERAS}/{camera_a.slug}", AIM, format="json")
    assert changed.status_code == 200, changed.json()
    assert aim_of(changed.json()) == AIM
    camera_a.refresh_from_db()
    assert {field: getattr(camera_a, field) for field in AIM} == AIM


def bad(path: str, value) -> dict:
    """AIM with the value at `path` (e.g. ("zones", 0, "points")) replaced."""
    aim = copy.deepcopy(AIM)
    *parents, last = path
    target = aim
    for key in parents:
        target = target[key]
    target[last] = value
    return aim


BAD_AIMS = [
    # (what is wrong, the body, the field named, words of the message)
    ("two points", bad(("zones", 0, "points"), [[0, 0], [1, 1]]), "zones[0].points", "3 to"),
    ("outside the frame", bad(("zones", 0, "points"), [[0, 0], [1.2, 0], [1, 1]]), "zones[0].points[1]", "0 to 1"),
    ("negative", bad(("masks", 1, "points"), [[0, 0], [-0.1, 0], [1, 1]]), "masks[1].points[1]", "0 to 1"),
    (
        "a bow tie",
        bad(("zones", 0, "points"), [[0, 0], [1, 1], [1, 0], [0, 1]]),
        "zones[0].points",
        "self-intersecting",
    ),
    ("a flat polygon", bad(("masks", 0, "points"), [[0, 0], [0.5, 0.5], [1, 1]]), "masks[0].points", "no area"),
    (
        "a repeated zone name",
        bad(("zones",), [AIM["zones"][0], {"name": "door", "points": SQUARE}]),
        "zones[1].name",
        "used twice",
    ),
    ("a repeated mask name", bad(("masks", 1, "name"), "tree"), "masks[1].name", "used twice"),
    ("an empty name", bad(("lines", 0, "name"), " "), "lines[0].name", "1-64"),
    ("an unknown zone label", bad(("zones", 0, "labels"), ["person", "ufo"]), "zones[0].labels", "'ufo'"),
    ("motion is no label", bad(("alert_labels",), ["motion"]), "alert_labels", "'motion'"),
    ("an unknown filter label", bad(("filters",), {"cat": {"min_score": 0.5}}), "filters.cat", "unknown label"),
    ("a score above 1", bad(("filters", "person", "min_score"), 5), "filters.person.min_score", "0 to 1"),
    ("min above max area", bad(("filters", "person", "min_area"), 0.9), "filters.person.max_area", "min_area"),
    ("a bad direction", bad(("lines", 0, "direction"), "up"), "lines[0].direction", "a_to_b"),
    ("a point for a line", bad(("lines", 0, "b"), [0.5, 0]), "lines[0].b", "differ"),
    ("a line end of 3 numbers", bad(("lines", 0, "a"), [0, 0, 0]), "lines[0].a", "[x, y]"),
    ("labels on a motion mask", bad(("masks", 1, "labels"), ["person"]), "masks[1].labels", "object masks"),
    ("an unknown mask kind", bad(("masks", 0, "kind"), "privacy"), "masks[0].kind", "object, motion"),
    ("a misspelt key", bad(("zones", 0, "require"), True), "zones[0].require", "unknown key"),
    ("a flag as text", bad(("zones", 0, "alert"), "yes"), "zones[0].alert", "true or false"),
    ("zones as an object", bad(("zones",), {"door": SQUARE}), "zones", "list"),
    # A number of 400 digits, which float() cannot hold: compared, not converted.
    ("a huge score", bad(("filters", "person", "min_score"), HUGE), "filters.person.min_score", "0 to 1"),
    ("a huge area", bad(("filters", "person", "max_area"), HUGE), "filters.person.max_area", "0 to 1"),
    ("a huge zone x", bad(("zones", 0, "points"), [[0, 0], [HUGE, 0], [1, 1]]), "zones[0].points[1]", "0 to 1"),
    ("a huge negative y", bad(("masks", 1, "points"), [[0, 0], [1, -HUGE], [1, 1]]), "masks[1].points[1]", "0 to 1"),
    ("a huge line end", bad(("lines", 0, "a"), [0.5, HUGE]), "lines[0].a", "[x, y]"),
]


@pytest.mark.parametrize(("body", "field", "words"), [case[1:] for case in BAD_AIMS], ids=[c[0] for c in BAD_AIMS])
def test_bad_aim_is_a_400_naming_the_field_and_nothing_is_saved(client_a, camera_a, body, field, words):
    before = Camera.objects.get(pk=camera_a.pk)

    changed = client_a.patch(f"{CAMERAS}/{camera_a.slug}", {**body, "name": "renamed"}, format="json")
    assert changed.status_code == 400
    error = changed.json()
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {field}
    assert error["detail"].startswith(f"{field}: ") and words in error["detail"], error["detail"]
    after = Camera.objects.get(pk=camera_a.pk)
    assert (after.name, after.updated_at) == (before.name, before.updated_at)
    assert {f: getattr(after, f) for f in AIM} == {f: getattr(before, f) for f in AIM}

    created = client_a.post(CAMERAS, {"name": "Gate", "rtsp_url": "rtsp://10.0.0.7/live", **body}, format="json")
    assert created.status_code == 400 and set(created.json()["fields"]) == {field}
    assert Camera.objects.filter(tenant=camera_a.tenant).count() == 1


def test_an_aim_only_change_keeps_updated_at_so_the_pipeline_keeps_running(client_a, camera_a):
    updated_at = Camera.objects.get(pk=camera_a.pk).updated_at
    url = f"{CAMERAS}/{camera_a.slug}"

    response = client_a.patch(url, {"zones": [{"name": "yard", "points": SQUARE}]}, format="json")
    assert response.status_code == 200
    camera = Camera.objects.get(pk=camera_a.pk)
    assert camera.zones == [{"name": "yard", "points": SQUARE}]
    assert camera.updated_at == updated_at
    assert response.json()["updated_at"] == client_a.get(url).json()["updated_at"]

    # The console may send the whole camera back: fields sent unchanged are no change.
    unchanged = {key: response.json()[key] for key in ("name", "fps", "features", "enabled", "rtsp_url")}
    assert client_a.patch(url, {**unchanged, **AIM}, format="json").status_code == 200
    assert Camera.objects.get(pk=camera_a.pk).updated_at == updated_at

    assert client_a.patch(url, {"name": "Back gate", "lines": []}, format="json").status_code == 200
    camera = Camera.objects.get(pk=camera_a.pk)
    assert (camera.name, camera.lines) == ("Back gate", [])
    assert camera.updated_at > updated_at


def test_another_tenants_camera_cannot_be_aimed(client_b, camera_a):
    response = client_b.patch(f"{CAMERAS}/{camera_a.slug}", AIM, format="json")
    assert response.status_code == 404
    camera_a.refresh_from_db()
    assert camera_a.zones == []


def test_the_admin_edits_the_aim_with_the_same_rules(staff_b, tenant_b):
    camera = CameraFactory(tenant=tenant_b, slug="b-cam", features=["person"])
    updated_at = camera.updated_at
    form = {"name": camera.name, "rtsp_url": "rtsp://viewer:***@10.0.0.5:554/stream", "features": "person",
            "fps": 5, "enabled": "on", "record": "on", "zones": "[]", "masks": "[]", "filters": "{}", "lines": "[]",
            "alert_labels": '["person", "vehicle"]'}  # fmt: skip
    # What the page holds for fields with a callable default, as a browser sends it back: their initial values.
    form |= {f"initial-{field}": form[field] for field in ("features", *AIM)}
    url = f"/admin/cameras/camera/{camera.pk}/change/"
    page = staff_b.get(url).content.decode()
    assert all(f'name="{field}"' in page and f'name="initial-{field}"' in page for field in AIM)
    bow_tie = '[{"name": "door", "points": [[0, 0], [1, 1], [1, 0], [0, 1]]}]'
    response = staff_b.post(url, {**form, "zones": bow_tie})
    assert response.status_code == 200
    assert b"zones[0].points: self-intersecting" in response.content
    camera.refresh_from_db()
    assert camera.zones == []

    zones = [{"name": "door", "points": SQUARE, "alert": True}]
    response = staff_b.post(url, {**form, "zones": json.dumps(zones)})
    assert response.status_code == 302
    camera.refresh_from_db()
    assert camera.zones == zones
    assert camera.updated_at == updated_at  # an aim-only change here too


def test_validate_aim_returns_the_aim_fields_as_given_and_names_the_path():
    assert validate_aim({"name": "x", **AIM}) == AIM
    with pytest.raises(InvalidAim) as raised:
        validate_aim({"lines": [AIM["lines"][0], {**AIM["lines"][0], "name": "exit", "direction": "sideways"}]})
    assert (raised.value.field, str(raised.value)) == (
        "lines[1].direction",
        "lines[1].direction: must be one of: a_to_b, b_to_a, both",
    )


@pytest.mark.parametrize(
    ("label", "entered", "zones", "alert"),
    [
        ("person", [], [], True),  # no zones: the label decides
        ("license_plate", [], [], False),
        ("person", [], [{"name": "door", "alert": True}], False),  # an alert zone the object never entered
        ("person", ["door"], [{"name": "door", "alert": True}], True),
        ("person", ["yard"], [{"name": "door", "alert": True}, {"name": "yard"}], False),
        ("person", ["yard"], [{"name": "yard"}], True),  # zones, none marked alert
        ("vehicle", ["door"], [{"name": "door", "alert": True}], False),  # not one of this camera's alert labels
    ],
)
def test_is_alert(label, entered, zones, alert):
    assert is_alert(label, entered, zones, ["person"]) is alert
