"""VMS_CAMERA_DENY_NETS: no camera on a denied network, whether named by address or by a name resolving there."""

from ipaddress import ip_network

import pytest

from cameras.models import Camera

pytestmark = pytest.mark.django_db

CAMERAS = "/v2/api/cameras"


@pytest.fixture
def deny(settings):
    settings.VMS_CAMERA_DENY_NETS = [ip_network(net) for net in ("127.0.0.0/8", "::1/128", "10.9.0.0/16")]


@pytest.mark.parametrize(
    "url",
    ["rtsp://10.9.3.4/s", "rtsp://u:p@127.0.0.1:8554/s", "rtsp://[::1]/s", "rtsp://[::ffff:10.9.0.1]/s",
     "rtsp://localhost/s", "rtsp://2130706433/s"],  # a name and a number that resolve to 127.0.0.1
)  # fmt: skip
def test_a_host_in_a_denied_network_is_400_naming_rtsp_url(client_a, deny, url):
    response = client_a.post(CAMERAS, {"name": "x", "rtsp_url": url}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["rtsp_url"]
    assert not Camera.objects.exists()


def test_hosts_outside_the_denied_networks_are_accepted(client_a, deny):
    for url in ("rtsp://10.8.0.1/s", "rtsp://[fe80::1]/s", "rtsp://camera.invalid/s"):
        assert client_a.post(CAMERAS, {"name": "x", "rtsp_url": url}, format="json").status_code == 201, url


def test_no_denied_networks_by_default(client_a):
    assert client_a.post(CAMERAS, {"name": "x", "rtsp_url": "rtsp://127.0.0.1/s"}, format="json").status_code == 201


def test_moving_a_camera_into_a_denied_network_is_refused(client_a, camera_a, deny):
    response = client_a.patch(f"{CAMERAS}/cam-front-01", {"rtsp_url": "rtsp://viewer:x@10.9.0.7/s"}, format="json")
    assert response.status_code == 400
    camera_a.refresh_from_db()
    assert camera_a.rtsp_url == "rtsp://viewer:s3cret@10.0.0.5:554/stream"


def test_admin_form_refuses_a_denied_host(staff_b, deny):
    form = {"slug": "", "name": "Dock", "rtsp_url": "rtsp://localhost/s", "fps": 5}
    response = staff_b.post("/admin/cameras/camera/add/", form)
    assert response.status_code == 200
    assert b"must name a host cameras may be on" in response.content
    assert not Camera.objects.exists()
