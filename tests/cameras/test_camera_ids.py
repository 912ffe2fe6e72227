"""Camera ids are Kalay devices too: UDIDs such as KJKWJK, kept as given, unique per tenant ignoring case."""

import pytest

from cameras.models import Camera

from ..factories import CameraFactory, UserFactory

pytestmark = pytest.mark.django_db

CAMERAS = "/v2/api/cameras"


def create(client, camera_id):
    return client.post(CAMERAS, {"id": camera_id, "name": "Kalay", "rtsp_url": "rtsp://h/s"}, format="json")


@pytest.mark.parametrize("camera_id", ["KJKWJK", "cam_front-01", "AB12CD34EF56GH78IJ90", "x", "A" * 64])
def test_a_udid_or_mixed_case_id_is_kept_as_given(client_a, camera_id):
    response = create(client_a, camera_id)
    assert response.status_code == 201, response.json()
    assert response.json()["id"] == camera_id
    fetched = client_a.get(f"{CAMERAS}/{camera_id}")
    assert (fetched.status_code, fetched.json()["id"]) == (200, camera_id)


@pytest.mark.parametrize("camera_id", ["-KJKWJK", "KJKWJK_", "KJ KW", "KJ.KW", "cam/1", "é", "A" * 65])
def test_other_ids_are_400(client_a, camera_id):
    response = create(client_a, camera_id)
    assert response.status_code == 400
    assert "id" in response.json()["fields"]


def test_an_id_differing_only_in_case_is_409(client_a, client_b):
    assert create(client_a, "KJKWJK").status_code == 201
    clash = create(client_a, "kjkwjk")
    assert (clash.status_code, clash.json()["code"]) == (409, "id_taken")
    assert list(Camera.objects.values_list("slug", flat=True)) == ["KJKWJK"]
    assert create(client_b, "kjkwjk").status_code == 201  # per tenant only


def test_hls_live_playlist_answers_for_a_udid(client, make_token, tenant_a):
    for camera_id in ("KJKWJK", "cam_front-01"):
        CameraFactory(tenant=tenant_a, slug=camera_id)
        response = client.get(f"/v2/hls/{camera_id}/live.m3u8", {"token": make_token(tenant_a)})
        assert response.status_code == 200, camera_id
        assert response.content.startswith(b"#EXTM3U")


def test_events_ingest_for_a_udid(client_a, tenant_a):
    CameraFactory(tenant=tenant_a, slug="KJKWJK")
    response = client_a.post(
        "/v2/api/events", {"camera_id": "KJKWJK", "type": "person", "confidence": 0.9}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["camera_id"] == "KJKWJK"


def test_admin_add_with_an_id_differing_only_in_case_is_a_form_error(client, tenant_a):
    CameraFactory(tenant=tenant_a, slug="KJKWJK")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {"tenant": "tenant-a", "slug": "kjkwjk", "name": "Dup", "rtsp_url": "rtsp://h/s", "fps": 5}
    response = client.post("/admin/cameras/camera/add/", form)
    assert response.status_code == 200
    assert b"already exists in this tenant" in response.content
    assert Camera.objects.count() == 1
