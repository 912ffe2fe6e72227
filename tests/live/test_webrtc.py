"""WebRTC live (POST /v2/api/cameras/<id>/webrtc, live/webrtc.py): Debian's Chromium offers to receive video, daphne
answers from a real recorder's feed, and the browser decodes the camera's H.264 as it was recorded; the server's peer
connection ends with the browser's and with the token. The API's own rules (token, scope, tenant, body) without a
browser, with offers made by aiortc as a browser would."""

import asyncio
import itertools
import time

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender

from cameras.pipeline.lease import client
from live import webrtc
from live.feed import READ_BLOCK_MS, viewers_key
from tenants.catalogue import SCOPES

from ..factories import CameraFactory

URL = "/v2/api/cameras/{}/webrtc"

# In the page: an offer to receive video only, sent once ICE gathering is over (the server takes no trickled
# candidates), the answer applied, and the size of every frame the <video> presents.
CONNECT = """async ({url, token}) => {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    window.frames = [];
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    document.body.append(video);
    pc.ontrack = event => { video.srcObject = new MediaStream([event.track]); };
    const onFrame = (now, frame) => {
        window.frames.push([frame.width, frame.height, frame.rtpTimestamp]);
        video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    pc.addTransceiver('video', {direction: 'recvonly'});
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise(resolve => {
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
        setTimeout(resolve, 2000);
    });
    const response = await fetch(url, {
        method: 'POST',
        headers: {'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json'},
        body: JSON.stringify({sdp: pc.localDescription.sdp}),
    });
    const answer = await response.json();
    if (response.ok) await pc.setRemoteDescription(answer);
    return answer;
}"""
RECEIVED = """async () => {
    const stats = [...(await window.pc.getStats()).values()];
    const inbound = stats.find(s => s.type === 'inbound-rtp' && s.kind === 'video');
    const codec = stats.find(s => s.id === inbound.codecId);
    return {codec: codec.mimeType, decoded: inbound.framesDecoded};
}"""


def watched(camera) -> bool:
    """Whether a web process reads the camera's live feed: one that does renews the camera's viewers mark every
    READ_BLOCK_MS (live/feed.py), so a mark taken away comes back."""
    client().delete(viewers_key(camera.pk))
    time.sleep(READ_BLOCK_MS / 1000 + 0.5)
    return bool(client().exists(viewers_key(camera.pk)))


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def connect(page, camera: str, token: str) -> str:
    """The answer's SDP, once the page has applied it."""
    page.goto("/v2/")  # the console (its sign-in screen): the page fetches the API from its origin
    answer = page.evaluate(CONNECT, {"url": URL.format(camera), "token": token})
    assert answer.get("type") == "answer", answer
    return answer["sdp"]


def test_chromium_plays_the_cameras_h264_until_it_closes(
    page, asgi_server, live_camera, start_recorder, make_token, console_errors
):
    start_recorder(live_camera)
    answer = connect(page, "cam-live", make_token(live_camera.tenant))
    # Chromium offers VP8 first: the answer has H.264 alone, and only host candidates (no STUN server is asked).
    assert "H264/90000" in answer and "VP8" not in answer
    assert "typ srflx" not in answer
    page.wait_for_function("() => window.frames.length >= 20", timeout=20_000)
    received = page.evaluate(RECEIVED)
    assert received["codec"] == "video/H264" and received["decoded"] >= 20, received
    # The demo camera's own pictures (1280x720), decoded from the camera's H.264 as the recorder copied it.
    assert {(width, height) for width, height, _ in page.evaluate("() => window.frames")} == {(1280, 720)}
    assert console_errors == []

    # Closing the browser's peer connection ends the server's, and with it the server's read of the feed.
    assert watched(live_camera)
    page.evaluate("() => window.pc.close()")
    assert wait_until(lambda: not watched(live_camera), timeout=10)


def test_the_server_ends_the_peer_connection_when_the_token_expires(
    page, asgi_server, live_camera, start_recorder, make_token
):
    start_recorder(live_camera)
    connect(page, "cam-live", make_token(live_camera.tenant, ttl=10))
    page.wait_for_function("() => window.frames.length >= 1", timeout=10_000)
    assert wait_until(lambda: not watched(live_camera), timeout=20)
    # Chromium keeps its connectionState "connected" (its ICE still is): the DTLS transport tells the server closed it.
    page.wait_for_function("() => window.pc.getReceivers()[0].transport.state === 'closed'", timeout=5_000)


@pytest.mark.django_db(transaction=True)  # committed: daphne finds the tenant and the camera
def test_the_picture_comes_back_when_the_recorder_starts_a_new_stream(
    page, asgi_server, rtsp_server, tenant_a, start_recorder, make_token, console_errors
):
    camera = CameraFactory(tenant=tenant_a, slug="cam-cut", rtsp_url=rtsp_server.url, features=[])
    start_recorder(camera)
    connect(page, "cam-cut", make_token(tenant_a))
    page.wait_for_function("() => window.frames.length >= 10", timeout=20_000)
    rtsp_server.stop()  # the recorder's ffmpeg ends; the next one's times start over (its init the same bytes)
    time.sleep(3)
    cut = page.evaluate("() => window.frames.length")
    rtsp_server.start()
    page.wait_for_function(f"() => window.frames.length >= {cut + 20}", timeout=40_000)
    # The RTP clock ran on across the restart, by the wall-clock time between, and never went back: the browser
    # shows the new stream's frames rather than waiting for it to pass the old one's times.
    rtp = [frame[2] for frame in page.evaluate("() => window.frames")]
    assert 3 < (rtp[cut] - rtp[cut - 1]) % 2**32 / 90_000 < 40
    assert all(0 < (after - before) % 2**32 < 2**31 for before, after in itertools.pairwise(rtp))
    assert console_errors == []


def offer(kind: str = "video", mime_type: str | None = None) -> str:
    """An offer to receive `kind` as aiortc writes one (its codecs limited to `mime_type` when given)."""

    async def make() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        transceiver = pc.addTransceiver(kind, direction="recvonly")
        if mime_type is not None:
            codecs = RTCRtpSender.getCapabilities(kind).codecs
            transceiver.setCodecPreferences([codec for codec in codecs if codec.mimeType == mime_type])
        sdp = (await pc.createOffer()).sdp
        await pc.close()
        return sdp

    return asyncio.run(make())


@pytest.mark.parametrize("header", [{}, {"HTTP_AUTHORIZATION": "Bearer x"}, {"HTTP_AUTHORIZATION": "Basic x"}])
def test_no_token_or_a_bad_one_is_401_as_in_the_rest_api(client, camera_a, header):
    response = client.post(URL.format("cam-front-01"), {"sdp": offer()}, content_type="application/json", **header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    rest = client.get("/v2/api/cameras", **header)
    assert (rest.status_code, rest.json()) == (401, response.json())


def test_a_token_without_cameras_read_is_403(make_client, tenant_a, camera_a):
    others = [scope for scope in SCOPES if scope != "cameras:read"]
    response = make_client(tenant_a, scopes=others).post(URL.format("cam-front-01"), {"sdp": offer()}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "This token lacks the 'cameras:read' scope.", "code": "permission_denied"}


def test_another_tenants_camera_is_404(client_b, camera_a, tenant_b):
    CameraFactory(tenant=tenant_b, slug="cam-b")
    response = client_b.post(URL.format("cam-front-01"), {"sdp": offer()}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ("{", "parse_error", "JSON parse error"),
        ("[]", "invalid", "Invalid data. Expected a dictionary, but got list."),
        ("{}", "invalid", "sdp: This field is required."),
        ('{"sdp": ["v=0"]}', "invalid", "sdp: Not a valid string."),
        ('{"sdp": "v=0", "type": "answer"}', "invalid", 'type: "answer" is not a valid choice.'),
        ('{"sdp": "hello"}', "invalid", "sdp: The offer has no video."),
        ('{"sdp": "v=0\\r\\nm=video\\r\\n"}', "invalid", "sdp: The offer is not usable SDP"),
    ],
)
def test_a_body_that_is_not_an_offer_is_400(client_a, camera_a, body, code, detail):
    response = client_a.post(URL.format("cam-front-01"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"].startswith(detail)
    assert webrtc._peers == set()


@pytest.mark.parametrize(
    ("kind", "mime_type", "detail"),
    [
        ("audio", None, "sdp: The offer has no video."),
        ("video", "video/VP8", "sdp: The offer's video has no H.264 (packetization-mode 1)."),
    ],
)
def test_an_offer_without_h264_video_is_400(client_a, camera_a, kind, mime_type, detail):
    response = client_a.post(URL.format("cam-front-01"), {"sdp": offer(kind, mime_type)}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": detail, "code": "invalid", "fields": {"sdp": [detail[len("sdp: ") :]]}}
    assert webrtc._peers == set()


def test_a_full_process_answers_503(client_a, camera_a, monkeypatch):
    monkeypatch.setattr(webrtc, "MAX_PEERS", 0)
    response = client_a.post(URL.format("cam-front-01"), {"sdp": offer()}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "too_many_streams"


def test_only_post(client_a, camera_a):
    response = client_a.get(URL.format("cam-front-01"))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
