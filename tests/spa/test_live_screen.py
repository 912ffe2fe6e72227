"""Live view: a grid of the tenant's cameras whose streams run only while on screen, and one camera enlarged."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from ..factories import CameraFactory, EventFactory
from .conftest import ARTIFACTS
from .test_events_screen import post_event
from .test_playback_screen import PLAYING

# A tile's video is fed by hls.js (a blob: Media Source URL) only while its stream runs.
STREAMING = "video => video.src.startsWith('blob:')"


def test_a_recording_camera_plays_live(signed_in, camera_a, record, console_errors):
    # Segments just written, as the recorder leaves them: the live window is made of these.
    record(camera_a, start=timezone.now() - timedelta(seconds=12), count=6)
    signed_in.goto("/v2/#/live/cam-front-01")
    signed_in.wait_for_function(PLAYING, arg=[signed_in.locator("video").element_handle(), 0.5], timeout=20_000)
    expect(signed_in.locator(".notice")).to_be_hidden()
    assert console_errors == []


def test_a_camera_without_video_shows_it_is_waiting(signed_in, camera_a, console_errors):
    signed_in.goto("/v2/#/live/cam-front-01")
    expect(signed_in.locator("select[name=camera]")).to_have_value("cam-front-01")
    expect(signed_in.locator(".notice")).to_contain_text("Waiting for video")
    expect(signed_in.locator(".pill")).to_have_text("offline")
    signed_in.wait_for_timeout(1500)
    assert signed_in.locator("video").evaluate("video => video.currentTime === 0 && video.readyState < 2")
    expect(signed_in.locator(".notice")).to_be_visible()
    # Its live playlist stays empty: said in words, not as hls.js' error name.
    expect(signed_in.locator(".notice")).to_have_text("No video yet: the camera is not streaming.", timeout=20_000)
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


def test_on_a_phone_only_the_tiles_on_screen_stream(signed_in, tenant_a, record, console_errors):
    signed_in.set_viewport_size({"width": 390, "height": 844})
    cameras = [CameraFactory(tenant=tenant_a, slug=f"cam-{n}", name=f"Street {n}", status="online") for n in range(6)]
    for camera in cameras:
        record(camera, start=timezone.now() - timedelta(seconds=12), count=6)
    signed_in.goto("/v2/#/live?layout=9")
    tiles = signed_in.locator(".tile")
    expect(tiles).to_have_count(6)
    # One column, nothing wider than the screen.
    assert {box["x"] for box in (t.bounding_box() for t in tiles.all())} == {tiles.first.bounding_box()["x"]}
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    first, last = (tiles.nth(i).locator("video") for i in (0, 5))
    signed_in.wait_for_function(PLAYING, arg=[first.element_handle(), 0.5], timeout=20_000)
    expect(tiles.first.locator(".tile-notice")).to_be_hidden()
    signed_in.screenshot(path=ARTIFACTS / "live_grid_phone.png")
    # The last tile is below the fold: no player, no video source, nothing fetched.
    assert not last.evaluate(STREAMING)
    assert last.evaluate("video => video.readyState") == 0

    signed_in.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    signed_in.wait_for_function(PLAYING, arg=[last.element_handle(), 0.5], timeout=20_000)
    # Scrolled off screen, the first tile's player is gone and its video emptied.
    signed_in.wait_for_function("video => !video.src && !video.hasAttribute('src')", arg=first.element_handle())
    assert first.evaluate("video => video.readyState") == 0
    signed_in.screenshot(path=ARTIFACTS / "live_grid_phone_scrolled.png")
    assert console_errors == []
