import pytest

from cameras.models import Camera

from ..factories import CameraFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_tenant_staff_see_only_their_cameras(staff_b, camera_a, tenant_b):
    CameraFactory(tenant=tenant_b, slug="b-cam", name="B camera")
    page = staff_b.get("/admin/cameras/camera/")
    assert page.status_code == 200
    assert b"b-cam" in page.content
    assert b"cam-front-01" not in page.content
    assert staff_b.get(f"/admin/cameras/camera/{camera_a.pk}/change/").status_code == 302  # "does not exist"
    assert staff_b.post(f"/admin/cameras/camera/{camera_a.pk}/delete/", {"post": "yes"}).status_code == 302
    assert Camera.objects.filter(pk=camera_a.pk).exists()


def test_staff_add_goes_to_their_tenant_within_the_limit(staff_b, tenant_b):
    form = {"slug": "", "name": "Dock", "rtsp_url": "rtsp://u:p@10.1.1.1/s", "features": "person", "fps": 5}
    assert staff_b.post("/admin/cameras/camera/add/", {**form, "enabled": "on"}).status_code == 302
    camera = Camera.objects.get(name="Dock")
    assert camera.tenant_id == "tenant-b" and camera.slug.startswith("dock-")
    tenant_b.camera_limit = 1
    tenant_b.save()
    refused = staff_b.post("/admin/cameras/camera/add/", {**form, "name": "Second"})
    assert refused.status_code == 200
    assert b"Camera limit reached" in refused.content
    assert Camera.objects.filter(tenant=tenant_b).count() == 1


def test_admin_form_masks_the_password_and_keeps_it(client, camera_a):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/cameras/camera/{camera_a.pk}/change/")
    assert b"s3cret" not in page.content
    assert b"rtsp://viewer:***@10.0.0.5:554/stream" in page.content
    form = {"tenant": "tenant-a", "name": "Gate", "rtsp_url": "rtsp://viewer:***@10.0.0.5:554/stream", "fps": 5}
    assert client.post(f"/admin/cameras/camera/{camera_a.pk}/change/", form).status_code == 302
    camera_a.refresh_from_db()
    assert (camera_a.name, camera_a.rtsp_url) == ("Gate", "rtsp://viewer:s3cret@10.0.0.5:554/stream")


def test_superuser_sees_every_tenant(client, camera_a, tenant_b):
    CameraFactory(tenant=tenant_b, slug="b-cam")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/cameras/camera/")
    assert b"b-cam" in page.content and b"cam-front-01" in page.content
