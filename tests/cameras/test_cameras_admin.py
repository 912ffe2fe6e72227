"""The camera admin as a tenant's staff use it: the same rules as the REST API (plan features, masked password)."""

import pytest

from cameras.models import STREAM_URL_FIELDS

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera_b(tenant_b):
    tenant_b.features = ["person", "motion"]
    tenant_b.save()
    stored = "rtsp://viewer:s3cret@10.0.0.5:554/stream"
    return CameraFactory(
        tenant=tenant_b, slug="b-cam", name="Dock", features=["person"], **dict.fromkeys(STREAM_URL_FIELDS, stored)
    )


def change(staff, camera, **fields):
    form = {"name": camera.name, **dict.fromkeys(STREAM_URL_FIELDS, "rtsp://viewer:***@10.0.0.5:554/stream"),
            "features": "person", "fps": 5, "enabled": "on", "record": "on", **fields}  # fmt: skip
    return staff.post(f"/admin/cameras/camera/{camera.pk}/change/", form)


def test_the_form_shows_every_url_with_its_password_masked(staff_b, camera_b):
    page = staff_b.get(f"/admin/cameras/camera/{camera_b.pk}/change/").content.decode()
    assert "s3cret" not in page
    for field in STREAM_URL_FIELDS:
        assert f'name="{field}" value="rtsp://viewer:***@10.0.0.5:554/stream"' in page


def test_features_outside_the_plan_are_dropped_on_change(staff_b, camera_b):
    assert change(staff_b, camera_b, features="person,vehicle,license_plate,motion").status_code == 302
    camera_b.refresh_from_db()
    assert camera_b.features == ["person", "motion"]


@pytest.mark.parametrize("field", STREAM_URL_FIELDS)
def test_masked_password_keeps_the_stored_one_for_the_same_host(staff_b, camera_b, field):
    assert change(staff_b, camera_b, **{field: "rtsp://viewer:***@10.0.0.5/other"}).status_code == 302
    camera_b.refresh_from_db()
    assert getattr(camera_b, field) == "rtsp://viewer:s3cret@10.0.0.5/other"


@pytest.mark.parametrize("field", STREAM_URL_FIELDS)
def test_masked_password_for_another_host_is_a_form_error(staff_b, camera_b, field):
    response = change(staff_b, camera_b, **{field: "rtsp://viewer:***@203.0.113.9:554/stream"})
    assert response.status_code == 200
    assert b"send the password again" in response.content
    camera_b.refresh_from_db()
    assert getattr(camera_b, field) == "rtsp://viewer:s3cret@10.0.0.5:554/stream"


def test_a_substream_is_cleared_by_an_empty_box_and_checked_like_the_main_url(staff_b, camera_b):
    assert change(staff_b, camera_b, detect_url="", live_url="").status_code == 302
    camera_b.refresh_from_db()
    assert (camera_b.detect_url, camera_b.live_url) == ("", "")
    response = change(staff_b, camera_b, live_url="http://10.0.0.5/sub")
    assert b"RTSP URL must start with rtsp:// or rtsps://" in response.content
    camera_b.refresh_from_db()
    assert camera_b.live_url == ""
