"""The camera admin as a tenant's staff use it: the same rules as the REST API (plan features, masked password)."""

import pytest

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera_b(tenant_b):
    tenant_b.features = ["person", "motion"]
    tenant_b.save()
    return CameraFactory(tenant=tenant_b, slug="b-cam", name="Dock", features=["person"])


def change(staff, camera, **fields):
    form = {"name": camera.name, "rtsp_url": "rtsp://viewer:***@10.0.0.5:554/stream", "features": "person",
            "fps": 5, "enabled": "on", "record": "on", **fields}  # fmt: skip
    return staff.post(f"/admin/cameras/camera/{camera.pk}/change/", form)


def test_features_outside_the_plan_are_dropped_on_change(staff_b, camera_b):
    assert change(staff_b, camera_b, features="person,vehicle,license_plate,motion").status_code == 302
    camera_b.refresh_from_db()
    assert camera_b.features == ["person", "motion"]


def test_masked_password_keeps_the_stored_one_for_the_same_host(staff_b, camera_b):
    assert change(staff_b, camera_b, rtsp_url="rtsp://viewer:***@10.0.0.5/other").status_code == 302
    camera_b.refresh_from_db()
    assert camera_b.rtsp_url == "rtsp://viewer:s3cret@10.0.0.5/other"


def test_masked_password_for_another_host_is_a_form_error(staff_b, camera_b):
    response = change(staff_b, camera_b, rtsp_url="rtsp://viewer:***@203.0.113.9:554/stream")
    assert response.status_code == 200
    assert b"send the password again" in response.content
    camera_b.refresh_from_db()
    assert camera_b.rtsp_url == "rtsp://viewer:s3cret@10.0.0.5:554/stream"
