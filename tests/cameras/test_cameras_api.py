import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cameras.models import STREAM_URL_FIELDS, Camera

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db

CAMERAS = "/v2/api/cameras"
SCHEMA_FIELDS = {
    "id", "tenant_id", "name", "rtsp_url", "features", "fps", "enabled", "record", "status", "created_at", "updated_at",
    "zones", "masks", "filters", "lines", "alert_labels",  # the camera's aim (issue 14)
    "detect_url", "live_url",  # substreams (issue 24)
}  # fmt: skip
STORED_URL = "rtsp://viewer:s3cret@10.0.0.5:554/stream"


def create(client, **body):
    return client.post(CAMERAS, body, format="json")


@pytest.fixture(params=STREAM_URL_FIELDS)
def url_field(request, camera_a):
    """Each of camera_a's URLs in turn, all holding the password s3cret: the same rules apply to the three."""
    Camera.objects.filter(pk=camera_a.pk).update(**dict.fromkeys(STREAM_URL_FIELDS, STORED_URL))
    camera_a.refresh_from_db()
    return request.param


def test_list_returns_a_json_array_of_the_seed_schema(client_a, camera_a):
    response = client_a.get(CAMERAS)
    assert response.status_code == 200
    [camera] = response.json()
    assert set(camera) == SCHEMA_FIELDS | {"pipelines"}  # the seed's fields, and the pipelines as in the detail
    assert camera["id"] == "cam-front-01"
    assert camera["tenant_id"] == "tenant-a"
    assert camera["created_at"].endswith("Z")


def test_list_query_count_does_not_grow_with_cameras(client_a, tenant_a):
    CameraFactory.create_batch(3, tenant=tenant_a)
    with CaptureQueriesContext(connection) as few:
        client_a.get(CAMERAS)
    CameraFactory.create_batch(7, tenant=tenant_a)
    with CaptureQueriesContext(connection) as many:
        assert len(client_a.get(CAMERAS).json()) == 10
    assert len(many) == len(few) <= 3  # the tenant, the cameras, their pipelines


def test_create_like_the_seed_quickstart(client_a):
    response = create(client_a, name="Lobby", rtsp_url="rtsp://10.0.0.9/stream", features=["person"])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Lobby"
    assert body["id"].startswith("lobby-")
    assert (body["fps"], body["enabled"], body["record"], body["status"]) == (5, True, True, "offline")
    assert Camera.objects.get(tenant_id="tenant-a", slug=body["id"]).features == ["person"]


def test_given_id_is_kept_and_a_clash_is_409(client_a, client_b, camera_a):
    assert create(client_a, id="cam-2", name="Two", rtsp_url="rtsp://h/s").json()["id"] == "cam-2"
    clash = create(client_a, id="cam-front-01", name="Dup", rtsp_url="rtsp://h/s")
    assert clash.status_code == 409
    assert "cam-front-01" in clash.json()["detail"]
    # ids are unique per tenant only
    assert create(client_b, id="cam-front-01", name="B's gate", rtsp_url="rtsp://h/s").status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rtsp_url": "rtsp://h/s"}, "name"),
        ({"name": "x"}, "rtsp_url"),
        ({"name": "x", "rtsp_url": "http://h/s"}, "rtsp_url"),
        ({"name": "x", "rtsp_url": "rtsp:///nohost"}, "rtsp_url"),
        ({"name": "x", "rtsp_url": "rtsp://h:99999/s"}, "rtsp_url"),
        ({"name": "x", "rtsp_url": "rtsp://h/s s"}, "rtsp_url"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "fps": 0}, "fps"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "fps": 31}, "fps"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "fps": "fast"}, "fps"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "features": ["person", "dragon"]}, "features"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "features": "person"}, "features"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "id": "Bad Id!"}, "id"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "enabled": "maybe"}, "enabled"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "detect_url": "http://h/s"}, "detect_url"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "detect_url": None}, "detect_url"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "live_url": "rtsp://h/s s"}, "live_url"),
        ({"name": "x", "rtsp_url": "rtsp://h/s", "live_url": "rtsp://h/" + "s" * 1000}, "live_url"),
    ],
)
def test_invalid_camera_is_400_naming_the_field_and_stores_nothing(client_a, tenant_a, body, field):
    response = create(client_a, **body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert error["detail"].startswith(field)
    assert not Camera.objects.exists()


def test_rtsps_and_fps_bounds_are_accepted(client_a):
    assert create(client_a, name="a", rtsp_url="rtsps://cam.example:322/live", fps=1).status_code == 201
    assert create(client_a, name="b", rtsp_url="rtsp://[fe80::1]:554/live", fps=30).status_code == 201


def test_features_outside_the_plan_are_dropped(client_a, tenant_a):
    tenant_a.features = ["person", "motion"]
    tenant_a.save()
    response = create(client_a, name="x", rtsp_url="rtsp://h/s", features=["vehicle", "person", "license_plate"])
    assert response.status_code == 201
    assert response.json()["features"] == ["person"]
    patched = client_a.patch(f"{CAMERAS}/{response.json()['id']}", {"features": ["motion", "vehicle"]}, format="json")
    assert patched.json()["features"] == ["motion"]


def test_camera_limit_is_403_with_a_clear_message(client_a, tenant_a):
    tenant_a.camera_limit = 2
    tenant_a.save()
    CameraFactory.create_batch(2, tenant=tenant_a)
    response = create(client_a, name="third", rtsp_url="rtsp://h/s")
    assert response.status_code == 403
    assert response.json()["code"] == "camera_limit"
    assert "limit" in response.json()["detail"].lower()
    assert Camera.objects.filter(tenant=tenant_a).count() == 2


def test_password_is_masked_everywhere_and_kept_when_patch_omits_it(client_a, camera_a, url_field):
    for shown in (client_a.get(CAMERAS).json()[0], client_a.get(f"{CAMERAS}/cam-front-01").json()):
        assert shown[url_field] == "rtsp://viewer:***@10.0.0.5:554/stream"
        assert "s3cret" not in str(shown)
    patched = client_a.patch(f"{CAMERAS}/cam-front-01", {"name": "Renamed"}, format="json")
    assert "s3cret" not in patched.content.decode()
    camera_a.refresh_from_db()
    assert getattr(camera_a, url_field) == STORED_URL


def test_sending_back_the_masked_url_keeps_the_password_for_the_same_host_port_and_user(client_a, camera_a, url_field):
    response = client_a.patch(f"{CAMERAS}/cam-front-01", {url_field: "rtsp://viewer:***@10.0.0.5/other"}, format="json")
    assert response.status_code == 200  # 554 is rtsp's default port: the same endpoint
    camera_a.refresh_from_db()
    assert getattr(camera_a, url_field) == "rtsp://viewer:s3cret@10.0.0.5/other"


@pytest.mark.parametrize(
    "url",
    ["rtsp://viewer:***@10.0.0.6:554/stream", "rtsp://viewer:***@10.0.0.5:8554/stream",
     "rtsps://viewer:***@10.0.0.5:554/stream", "rtsp://admin:***@10.0.0.5:554/stream"],
)  # fmt: skip
def test_masked_password_for_another_host_port_scheme_or_user_is_400_asking_for_it(client_a, camera_a, url_field, url):
    response = client_a.patch(f"{CAMERAS}/cam-front-01", {url_field: url}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [url_field]
    assert "send the password again" in response.json()["detail"]
    camera_a.refresh_from_db()
    assert getattr(camera_a, url_field) == STORED_URL


def test_new_password_replaces_the_stored_one_and_is_masked(client_a, camera_a, url_field):
    response = client_a.patch(f"{CAMERAS}/cam-front-01", {url_field: "rtsp://admin:n%40w@10.0.0.5/s"}, format="json")
    assert response.json()[url_field] == "rtsp://admin:***@10.0.0.5/s"
    camera_a.refresh_from_db()
    assert getattr(camera_a, url_field) == "rtsp://admin:n%40w@10.0.0.5/s"


def test_substreams_are_optional_given_on_create_and_cleared_by_an_empty_string(client_a):
    body = create(client_a, id="cam-2", name="x", rtsp_url="rtsp://h/main").json()
    assert (body["detect_url"], body["live_url"]) == ("", "")
    body = create(client_a, id="cam-3", name="x", rtsp_url="rtsp://h/main", detect_url="rtsp://u:p@h/sub").json()
    assert (body["detect_url"], body["live_url"]) == ("rtsp://u:***@h/sub", "")
    camera = Camera.objects.get(slug="cam-3")
    assert (camera.detect_url, camera.detect_source) == ("rtsp://u:p@h/sub", "rtsp://u:p@h/sub")
    assert client_a.patch(f"{CAMERAS}/cam-3", {"detect_url": ""}, format="json").json()["detect_url"] == ""
    camera.refresh_from_db()
    assert (camera.detect_url, camera.detect_source) == ("", "rtsp://h/main")  # detection decodes the main stream


def test_changing_a_url_restarts_the_pipelines_and_sending_it_back_does_not(client_a, camera_a, url_field):
    """The supervisor restarts a camera's pipelines edited since they started (a newer updated_at)."""
    before = camera_a.updated_at
    client_a.patch(f"{CAMERAS}/cam-front-01", {url_field: "rtsp://viewer:***@10.0.0.5:554/stream"}, format="json")
    camera_a.refresh_from_db()
    assert camera_a.updated_at == before
    client_a.patch(f"{CAMERAS}/cam-front-01", {url_field: "rtsp://viewer:***@10.0.0.5:554/other"}, format="json")
    camera_a.refresh_from_db()
    assert camera_a.updated_at > before


def test_patch_updates_partially_and_rejects_bad_values(client_a, camera_a):
    response = client_a.patch(f"{CAMERAS}/cam-front-01", {"fps": 12, "enabled": False}, format="json")
    assert response.status_code == 200
    assert (response.json()["fps"], response.json()["enabled"], response.json()["name"]) == (12, False, "Front gate")
    for body in ({"fps": 99}, {"rtsp_url": "ftp://h"}, {"id": "other"}):
        assert client_a.patch(f"{CAMERAS}/cam-front-01", body, format="json").status_code == 400
    camera_a.refresh_from_db()
    assert (camera_a.fps, camera_a.slug) == (12, "cam-front-01")


def test_put_is_not_part_of_the_contract(client_a, camera_a):
    assert client_a.put(f"{CAMERAS}/cam-front-01", {"name": "x"}, format="json").status_code == 405


def test_delete_removes_the_camera(client_a, camera_a):
    assert client_a.delete(f"{CAMERAS}/cam-front-01").status_code == 204
    assert not Camera.objects.exists()
    assert client_a.delete(f"{CAMERAS}/cam-front-01").status_code == 404


def test_other_tenant_cannot_see_patch_or_delete(client_b, camera_a):
    assert client_b.get(CAMERAS).json() == []
    assert client_b.get(f"{CAMERAS}/cam-front-01").status_code == 404
    assert client_b.patch(f"{CAMERAS}/cam-front-01", {"name": "pwned"}, format="json").status_code == 404
    assert client_b.delete(f"{CAMERAS}/cam-front-01").status_code == 404
    camera_a.refresh_from_db()
    assert camera_a.name == "Front gate"


def test_tenant_id_in_the_body_is_ignored(client_a):
    response = create(client_a, name="x", rtsp_url="rtsp://h/s", tenant_id="tenant-b")
    assert response.json()["tenant_id"] == "tenant-a"


def test_not_found_has_the_error_shape(client_a):
    response = client_a.get(f"{CAMERAS}/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
