"""VMS_CAMERA_DENY_NETS: no camera on a denied network, whether named by address, by an IPv6 address carrying a denied
IPv4 one, or by a name resolving there; with a deny list, a name that resolves to nothing is refused too (ffmpeg
would resolve it again later, perhaps elsewhere), at save and again at each pipeline start."""

from ipaddress import ip_network

import pytest

from cameras.models import STREAM_URL_FIELDS, Camera, PipelineState
from cameras.pipeline import supervisor
from cameras.pipeline.registry import PipelineKind

pytestmark = pytest.mark.django_db

CAMERAS = "/v2/api/cameras"


@pytest.fixture
def deny(settings):
    settings.VMS_CAMERA_DENY_NETS = [ip_network(net) for net in ("127.0.0.0/8", "::1/128", "10.9.0.0/16")]


@pytest.mark.parametrize(
    "url",
    ["rtsp://10.9.3.4/s", "rtsp://u:p@127.0.0.1:8554/s", "rtsp://[::1]/s", "rtsp://[::ffff:10.9.0.1]/s",
     "rtsp://localhost/s", "rtsp://2130706433/s",  # a name and a number that resolve to 127.0.0.1
     "rtsp://[64:ff9b::a09:1]/s", "rtsp://[2002:a09:1::]/s",  # 10.9.0.1 through NAT64 and 6to4
     "rtsp://camera.invalid/s", "rtsp://127.0.0.1\\.example/s", "rtsp://10.9.0.1%2f/s"],
)  # fmt: skip
def test_a_host_in_a_denied_network_is_400_naming_rtsp_url(client_a, deny, url):
    response = client_a.post(CAMERAS, {"name": "x", "rtsp_url": url}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["rtsp_url"]
    assert not Camera.objects.exists()


@pytest.mark.parametrize("field", ["detect_url", "live_url"])
def test_a_substream_on_a_denied_host_is_400_naming_it(client_a, deny, field):
    body = {"name": "x", "rtsp_url": "rtsp://10.8.0.1/s", field: "rtsp://u:p@10.9.3.4/sub"}
    response = client_a.post(CAMERAS, body, format="json")
    assert response.json()["fields"] == {field: ["RTSP URL must name a host cameras may be on."]}
    assert not Camera.objects.exists()


def test_hosts_outside_the_denied_networks_are_accepted(client_a, deny, settings):
    for url in ("rtsp://10.8.0.1/s", "rtsp://[fe80::1]/s", "rtsp://[64:ff9b::a08:1]/s", "rtsp://u:p@10.8.0.1:8554/s"):
        assert client_a.post(CAMERAS, {"name": "x", "rtsp_url": url}, format="json").status_code == 201, url
    settings.VMS_CAMERA_DENY_NETS = [ip_network("10.9.0.0/16")]
    assert client_a.post(CAMERAS, {"name": "x", "rtsp_url": "rtsp://localhost/s"}, format="json").status_code == 201


def test_no_denied_networks_by_default(client_a):
    for url in ("rtsp://127.0.0.1/s", "rtsp://camera.invalid/s"):  # nothing to judge a name by: not resolved
        assert client_a.post(CAMERAS, {"name": "x", "rtsp_url": url}, format="json").status_code == 201


def test_the_messages_say_what_is_wrong(client_a, deny):
    for url, message in {
        "rtsp://10.9.0.1/s": "RTSP URL must name a host cameras may be on.",
        "rtsp://camera.invalid/s": "RTSP URL must name a host that resolves.",
        "rtsp://u:p@cam\\x/s": "RTSP URL must not contain a backslash (write it as %5C).",
    }.items():
        response = client_a.post(CAMERAS, {"name": "x", "rtsp_url": url}, format="json")
        assert response.json()["fields"] == {"rtsp_url": [message]}, url


started: list[int] = []


def record_start(camera, should_stop) -> None:
    started.append(camera.pk)


@pytest.mark.parametrize("field", STREAM_URL_FIELDS)
@pytest.mark.parametrize("url", ["rtsp://camera.invalid/s", "rtsp://[2002:a09:1::]/s", "rtsp://10.9.0.1\\.x/s"])
def test_a_pipeline_does_not_start_on_a_host_refused_since(camera_a, deny, settings, monkeypatch, url, field):
    """Saved before the deny list (or before today's rules): the start checks again, and says why it did not run."""
    started.clear()
    monkeypatch.setattr(supervisor, "KINDS", {"probe": PipelineKind("probe", queue="probeq", wanted=lambda c: True)})
    settings.VMS_PIPELINE_RUNNERS = {"probe": f"{__name__}.record_start"}
    Camera.objects.filter(pk=camera_a.pk).update(**{"rtsp_url": "rtsp://10.8.0.1/s", field: url})
    supervisor.run_pipeline("probe", camera_a.pk)
    state = PipelineState.objects.get(camera=camera_a, kind="probe")
    assert started == []
    expected = "host does not resolve" if "invalid" in url else "host is not allowed"
    assert (state.state, state.last_error) == ("failed", expected)


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
