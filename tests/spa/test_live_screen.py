"""Live view: a grid of the tenant's cameras whose streams run only while on screen, and one camera enlarged, fed by
a real recorder on the RTSP camera: MSE over the live WebSocket, HLS where the browser has no Media Source."""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import ElementHandle, WebSocket, expect

from cameras.pipeline.lease import client
from live import fmp4
from live.feed import stream_key
from playback.playlists import live_playlist

from ..factories import CameraFactory, EventFactory
from ..pipeline.test_recorder import wait_for
from .conftest import ARTIFACTS
from .test_events_screen import post_event
from .test_playback_screen import PLAYING
from .test_session import TOKEN, store, tokens

# How far the playhead is behind the newest frame the video has.
LAG = "video => video.buffered.end(video.buffered.length - 1) - video.currentTime"
# A video that no player feeds: no source, nothing loaded.
EMPTIED = "video => !video.src && !video.hasAttribute('src') && video.readyState === 0"
NO_MEDIA_SOURCE = "delete window.MediaSource; delete window.ManagedMediaSource;"


@pytest.fixture
def street(tenant_a, rtsp_url):
    """A camera of tenant A on the session's RTSP camera (its recorder is started by the test)."""
    return CameraFactory(tenant=tenant_a, slug="cam-street", name="Street", rtsp_url=rtsp_url, features=[])


@dataclass
class LiveSocket:
    """A /v2/ws/live/ socket the page opened, and the frames it received."""

    socket: WebSocket
    frames: list[str | bytes] = field(default_factory=list)

    @property
    def camera(self) -> str:
        return self.socket.url.split("?")[0].rsplit("/", 1)[1]

    def latency(self, video: ElementHandle) -> float:
        """Seconds between the recorder reading the frame the video shows and now. A segment's prft says when the
        recorder had it and the media time of its end; the first binary message is the init, with the timescale."""
        now, current = video.evaluate("video => [Date.now() / 1000, video.currentTime]")
        init = fmp4.parse_init(next(frame for frame in self.frames if isinstance(frame, bytes)))
        stamped, media_end = fmp4.producer_time(self.frames[-1])
        return now - stamped + media_end / init.video.timescale - current

    def wait_closed(self) -> None:
        if not self.socket.is_closed():
            self.socket.wait_for_event("close", timeout=5_000)


@pytest.fixture
def live_sockets(page) -> list[LiveSocket]:
    """The page's live sockets, as they open."""
    sockets = []

    def opened(socket: WebSocket) -> None:
        if "/v2/ws/live/" in socket.url:
            live = LiveSocket(socket)
            socket.on("framereceived", lambda frame: live.frames.append(frame))
            sockets.append(live)

    page.on("websocket", opened)
    return sockets


def test_a_streaming_camera_plays_live_through_mse_near_the_live_edge(
    signed_in, street, start_recorder, live_sockets, console_errors
):
    start_recorder(street)
    signed_in.goto("/v2/#/live/cam-street")
    video = signed_in.locator("video").element_handle()
    signed_in.wait_for_function(PLAYING, arg=[video, 0], timeout=20_000)
    expect(signed_in.locator(".live-mode")).to_have_text("MSE")
    expect(signed_in.locator(".notice")).to_be_hidden()
    # Fed by the socket's Media Source (no playlist), muted until the user turns the sound on.
    assert video.evaluate("video => video.src.startsWith('blob:') && video.muted && video.controls")
    assert [socket.camera for socket in live_sockets] == ["cam-street"]
    # It goes on playing, within a second of the camera: it starts at the live edge and jumps back to it (rather
    # than falling behind) whenever the newest frame it has is more than 1.5 s ahead.
    [socket] = live_sockets
    started = video.evaluate("video => video.currentTime")
    lags, latencies = [], []
    for _ in range(12):
        signed_in.wait_for_timeout(250)
        lags.append(video.evaluate(LAG))
        latencies.append(socket.latency(video))
    assert max(lags) <= 1.5, lags
    assert max(latencies) < 1, latencies
    assert video.evaluate("video => video.currentTime") > started + 2
    signed_in.screenshot(path=ARTIFACTS / "live_mse.png")
    assert console_errors == []


def test_without_media_source_it_plays_the_live_playlist(
    signed_in, street, start_recorder, live_sockets, console_errors
):
    signed_in.add_init_script(NO_MEDIA_SOURCE)
    start_recorder(street)
    # Chromium's own HLS player fails on a live playlist of one or two parts (DEMUXER_ERROR_COULD_NOT_PARSE; the
    # player tries again 10 s later): the page is opened once it has three.
    wait_for(lambda: live_playlist(street, timezone.now()).count("#EXTINF") >= 3, timeout=20)
    signed_in.goto("/v2/#/live/cam-street")
    video = signed_in.locator("video").element_handle()
    signed_in.wait_for_function(PLAYING, arg=[video, 0.5], timeout=20_000)
    expect(signed_in.locator(".live-mode")).to_have_text("HLS")
    assert "/v2/hls/cam-street/live.m3u8" in video.evaluate("video => video.src")
    assert live_sockets == []  # no socket without a Media Source to play it
    assert console_errors == []


def test_another_tenants_camera_is_refused(
    signed_in, camera_a, tenant_b, rtsp_url, start_recorder, live_sockets, console_errors
):
    theirs = CameraFactory(tenant=tenant_b, slug="cam-of-b", rtsp_url=rtsp_url, features=[])
    start_recorder(theirs)
    wait_for(lambda: client().exists(stream_key(theirs.pk)), timeout=20)  # it streams live
    playlists = []
    signed_in.on("request", lambda request: "/v2/hls/" in request.url and playlists.append(request.url))
    signed_in.goto("/v2/#/live/cam-of-b")

    notice = signed_in.locator(".notice")
    expect(notice).to_have_text("No camera 'cam-of-b' in this tenant.")
    expect(notice).to_have_class("notice notice-error")
    expect(signed_in.locator("select[name=camera]")).to_have_value("")
    signed_in.wait_for_timeout(1500)  # longer than a reconnection's first wait
    [socket] = live_sockets
    assert socket.socket.is_closed()
    assert [json.loads(frame) for frame in socket.frames] == [
        {"type": "error", "detail": "No camera 'cam-of-b' in this tenant."}
    ]
    # No picture, no other way to one: the badge stays hidden and no playlist was asked for.
    assert signed_in.locator("video").evaluate(EMPTIED)
    expect(signed_in.locator(".live-mode")).to_be_hidden()
    assert playlists == []
    assert console_errors == []


def test_the_picture_goes_on_when_the_token_expires(
    page, operator, street, start_recorder, live_sockets, console_errors
):
    # Long enough for the first socket's handshake to come well before expiry on a loaded machine: a token that
    # expires in flight is a refused handshake, which sends the player to HLS.
    access, refresh = tokens(operator.membership, access_ttl=10)
    store(page, access, refresh)
    start_recorder(street)
    page.goto("/v2/#/live/cam-street")
    video = page.locator("video").element_handle()
    # At the token's expiry the server closes the socket (4401); the player opens another with the renewed token.
    page.wait_for_event(
        "websocket", lambda socket: "/v2/ws/live/" in socket.url and access not in socket.url, timeout=20_000
    )
    first, second = live_sockets
    assert parse_qs(urlsplit(first.socket.url).query)["token"] == [access]
    assert parse_qs(urlsplit(second.socket.url).query)["token"] == [page.evaluate(TOKEN)] != [access]
    assert first.socket.is_closed() and not second.socket.is_closed()
    playing_at = video.evaluate("video => video.currentTime")
    page.wait_for_function(PLAYING, arg=[video, playing_at + 0.5], timeout=10_000)
    expect(page.locator(".live-mode")).to_have_text("MSE")
    assert console_errors == []


def test_a_camera_without_video_shows_it_is_waiting(signed_in, camera_a, console_errors):
    signed_in.goto("/v2/#/live/cam-front-01")
    expect(signed_in.locator("select[name=camera]")).to_have_value("cam-front-01")
    expect(signed_in.locator(".pill")).to_have_text("offline")
    # The socket says the camera is not streaming: said in words, and the video waits for it.
    expect(signed_in.locator(".notice")).to_have_text("No video yet: the camera is not streaming.")
    signed_in.wait_for_timeout(1500)
    assert signed_in.locator("video").evaluate("video => video.currentTime === 0 && video.readyState < 2")
    expect(signed_in.locator(".notice")).to_be_visible()
    expect(signed_in.locator(".live-mode")).to_be_hidden()
    assert console_errors == []


def test_the_grid_shows_each_camera_with_its_status_and_last_event(
    signed_in, camera_a, tenant_a, tenant_b, make_token, console_errors
):
    CameraFactory(tenant=tenant_a, slug="cam-yard", name="Yard", status="online")
    CameraFactory(tenant=tenant_a, slug="cam-dock", name="Dock", enabled=False)
    CameraFactory(tenant=tenant_b, slug="cam-of-b", name="Tenant B yard")
    EventFactory(tenant=tenant_a, camera_id="cam-front-01", type="vehicle", ts=timezone.now() - timedelta(minutes=5))
    EventFactory(tenant=tenant_a, camera_id="cam-front-01", type="person", ts=timezone.now() - timedelta(hours=2))
    EventFactory(tenant=tenant_b, camera_id="cam-yard", type="person", ts=timezone.now())
    signed_in.goto("/v2/#/live")

    tiles = signed_in.locator(".tile")
    expect(tiles).to_have_count(3)
    expect(signed_in.get_by_text("Tenant B yard")).to_have_count(0)
    front = signed_in.locator(".tile[data-camera=cam-front-01]")
    expect(front.locator(".tile-name")).to_have_text("Front gate")
    expect(front.locator(".pill")).to_have_text("offline")
    expect(front.locator(".tile-event")).to_have_text("vehicle5 min ago")
    yard = signed_in.locator(".tile[data-camera=cam-yard]")
    expect(yard.locator(".pill")).to_have_text("online")
    expect(yard.locator(".tile-event")).to_have_text("No events")  # tenant B's event on a same-named camera
    dock = signed_in.locator(".tile[data-camera=cam-dock]")
    expect(dock.locator(".pill")).to_have_text("disabled")
    expect(dock.locator(".tile-notice")).to_have_text("Camera disabled")

    # A new event reaches its tile over the WebSocket.
    expect(signed_in.locator(".live-state")).to_have_text("Events live")
    post_event(signed_in, make_token(tenant_a), "cam-yard", "person")
    expect(yard.locator(".tile-event")).to_have_text("personjust now")
    signed_in.screenshot(path=ARTIFACTS / "live_grid_desktop.png", full_page=True)

    # Clicking a tile enlarges its camera.
    yard.locator(".tile-screen").click()
    expect(signed_in.locator("select[name=camera]")).to_have_value("cam-yard")
    assert signed_in.url.endswith("#/live/cam-yard")
    signed_in.get_by_role("link", name="All cameras").click()
    expect(tiles).to_have_count(3)
    assert console_errors == []


def test_layouts_and_pages(signed_in, tenant_a, console_errors):
    for n in range(1, 6):
        CameraFactory(tenant=tenant_a, slug=f"cam-{n:02}", name=f"Camera {n}")
    signed_in.goto("/v2/#/live")
    grid = signed_in.locator(".live-grid")
    expect(grid).to_have_attribute("data-layout", "4")
    expect(signed_in.locator(".tile")).to_have_count(4)
    assert len({box["x"] for box in (t.bounding_box() for t in signed_in.locator(".tile").all())}) == 2
    expect(signed_in.locator(".pager")).to_contain_text("Page 1 of 2 · 5 cameras")

    signed_in.get_by_role("button", name="Next").click()
    expect(signed_in.locator(".tile")).to_have_count(1)
    expect(signed_in.locator(".tile-name")).to_have_text("Camera 5")
    expect(signed_in.get_by_role("button", name="Next")).to_be_disabled()

    signed_in.locator(".layout-picker [data-layout='9']").click()
    expect(grid).to_have_attribute("data-layout", "9")
    expect(signed_in.locator(".tile")).to_have_count(5)
    expect(signed_in.locator(".pager")).to_have_count(0)
    expect(signed_in.locator(".layout-picker [data-layout='9']")).to_have_attribute("aria-pressed", "true")
    # The layout is remembered for the next visit.
    signed_in.goto("/v2/#/cameras")
    signed_in.locator("[data-nav=live]").click()
    expect(signed_in.locator(".live-grid")).to_have_attribute("data-layout", "9")

    signed_in.locator(".layout-picker [data-layout='1']").click()
    expect(signed_in.locator(".tile")).to_have_count(1)
    expect(signed_in.locator(".pager")).to_contain_text("Page 1 of 5")
    assert console_errors == []


def test_on_a_phone_only_the_tiles_on_screen_stream(
    signed_in, tenant_a, rtsp_url, start_recorder, live_sockets, console_errors
):
    signed_in.set_viewport_size({"width": 390, "height": 844})
    for n in range(5):
        CameraFactory(tenant=tenant_a, slug=f"cam-{n}", name=f"Street {n}")
    # The last one streams (the others have no video: a socket each while on screen, which says so).
    start_recorder(CameraFactory(tenant=tenant_a, slug="cam-5", name="Street 5", rtsp_url=rtsp_url, features=[]))
    signed_in.goto("/v2/#/live?layout=9")
    tiles = signed_in.locator(".tile")
    expect(tiles).to_have_count(6)
    # One column, nothing wider than the screen.
    assert {box["x"] for box in (t.bounding_box() for t in tiles.all())} == {tiles.first.bounding_box()["x"]}
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    first, last = (tiles.nth(i).locator("video") for i in (0, 5))
    expect(tiles.first.locator(".tile-notice")).to_have_text("No video yet: the camera is not streaming.")
    signed_in.screenshot(path=ARTIFACTS / "live_grid_phone.png")
    # The last tile is below the fold: no socket, no video source, nothing fetched.
    on_screen = {socket.camera for socket in live_sockets}
    assert "cam-0" in on_screen and "cam-5" not in on_screen
    assert last.evaluate(EMPTIED)

    signed_in.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    signed_in.wait_for_function(PLAYING, arg=[last.element_handle(), 0], timeout=20_000)
    expect(tiles.last.locator(".live-mode")).to_have_text("MSE")
    expect(tiles.last.locator(".tile-notice")).to_be_hidden()
    # Scrolled off screen, the first tile's socket is closed and its video emptied.
    first_socket = next(socket for socket in live_sockets if socket.camera == "cam-0")
    first_socket.wait_closed()
    assert first.evaluate(EMPTIED)
    signed_in.screenshot(path=ARTIFACTS / "live_grid_phone_scrolled.png")

    # And the playing one stops as it leaves the screen.
    signed_in.evaluate("window.scrollTo(0, 0)")
    signed_in.wait_for_function(EMPTIED, arg=last.element_handle())
    last_socket = next(socket for socket in live_sockets if socket.camera == "cam-5")
    last_socket.wait_closed()
    expect(tiles.last.locator(".live-mode")).to_be_hidden()
    assert console_errors == []
