"""Playback screen: the day bar (recorded spans, gaps, event markers, zoom), seeking by click and drag across hours
without a reload, and an event played from its offset."""

from datetime import timedelta

from playwright.sync_api import expect

from ..factories import CameraFactory, EventFactory
from ..playback.conftest import HOUR
from .conftest import ARTIFACTS

PLAYING = "([video, from]) => !video.paused && video.readyState >= 3 && video.currentTime > from"
# A frame the browser decoded: frames counted by the decoder, and a picture drawn from it that is not one flat
# colour (the demo street, not a black or grey screen).
DECODED = """video => {
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 36;
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0, 64, 36);
  const pixels = context.getImageData(0, 0, 64, 36).data;
  let low = 765, high = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const light = pixels[i] + pixels[i + 1] + pixels[i + 2];
    low = Math.min(low, light);
    high = Math.max(high, light);
  }
  return { frames: video.getVideoPlaybackQuality().totalVideoFrames, spread: high - low, width: video.videoWidth };
}"""
DAY_S = 86400


def hour_title(hh: str) -> str:
    return f"{hh}:00 \N{EN DASH} {hh}:59 UTC"


def playing_near(page, expected: float, slack: float = 2.5, early: float = 0.6) -> float:
    """Waits until the video plays at `expected` seconds (or a little after) and returns its currentTime."""
    video = page.locator("video").element_handle()
    page.wait_for_function(
        "([video, low, high]) => !video.paused && video.readyState >= 3 && video.currentTime >= low"
        " && video.currentTime <= high",
        arg=[video, expected - early, expected + slack],
        timeout=20_000,
    )
    return page.evaluate("video => video.currentTime", video)


def x_of(page, moment, view_start, view_seconds) -> tuple[float, float]:
    """The page coordinates of `moment` on the day bar showing `view_seconds` from `view_start`."""
    box = page.locator(".tl-bar").bounding_box()
    fraction = (moment - view_start).total_seconds() / view_seconds
    return box["x"] + fraction * box["width"], box["y"] + box["height"] * 0.75


def test_an_event_opens_its_day_and_plays_from_its_offset(signed_in, camera_a, tenant_a, record, console_errors):
    record(camera_a, start=HOUR)
    event = EventFactory(tenant=tenant_a, camera_id="cam-front-01", type="vehicle", ts=HOUR + timedelta(seconds=12))
    signed_in.goto(f"/v2/#/playback/cam-front-01?event={event.id}")

    expect(signed_in.locator("input[name=date]")).to_have_value("2020-03-12")
    expect(signed_in.locator(".tl-title")).to_have_text(hour_title("04"))
    marker = signed_in.locator(f".tl-marker[data-event={event.id}]")
    expect(marker).to_have_attribute("style", "left: 0.3333%;")
    expect(marker).to_have_class("tl-marker tl-marker-vehicle")
    video = signed_in.locator("video")
    expect(video).to_have_attribute("data-event", event.id)
    # 12 s less the 5 s pre-roll: the player starts there and plays on.
    assert 7.0 <= playing_near(signed_in, 7.0) <= 9.5
    expect(signed_in.locator(".caption")).to_have_text("2020-03-12 04:00:07 UTC")
    assert signed_in.locator(".notice").is_hidden()
    assert console_errors == []


def test_a_day_without_recordings_and_another_tenants_event(signed_in, camera_a, tenant_b, record, console_errors):
    theirs = EventFactory(tenant=tenant_b, camera_id="cam-front-01", ts=HOUR)
    signed_in.goto(f"/v2/#/playback/cam-front-01?event={theirs.id}")
    expect(signed_in.locator(".toast")).to_have_text("No recording covers this event.")
    expect(signed_in.locator(".state-empty")).to_contain_text("No recordings on this day")
    expect(signed_in.locator(".tl-span")).to_have_count(0)
    expect(signed_in.locator(".tl-marker")).to_have_count(0)
    assert console_errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]


def test_the_day_bar_shows_gaps_and_markers_and_seeks_across_hours(
    signed_in, camera_a, tenant_a, tenant_b, record, console_errors
):
    # 04:00: five segments, ten minutes without recording, five more; 05:00: three segments.
    first = record(camera_a, start=HOUR, gap_after=5, gap=600)
    record(camera_a, start=HOUR + timedelta(hours=1), count=3)
    gap_start, gap_end = first[4].start + timedelta(seconds=first[4].duration), first[5].start
    CameraFactory(tenant=tenant_a, slug="cam-yard")
    person = EventFactory(tenant=tenant_a, type="person", ts=HOUR + timedelta(seconds=5))
    vehicle = EventFactory(tenant=tenant_a, type="vehicle", ts=gap_end + timedelta(seconds=5))
    plate = EventFactory(tenant=tenant_a, type="license_plate", ts=HOUR + timedelta(hours=3, minutes=30))
    # Not this camera's, not this tenant's, not this day's: no markers.
    EventFactory(tenant=tenant_a, camera_id="cam-yard", ts=HOUR + timedelta(minutes=6))
    EventFactory(tenant=tenant_b, ts=HOUR + timedelta(minutes=5))
    EventFactory(tenant=tenant_a, ts=HOUR - timedelta(hours=4, seconds=1))
    EventFactory(tenant=tenant_a, ts=HOUR + timedelta(hours=20))
    day_start = HOUR - timedelta(hours=4)

    signed_in.goto("/v2/#/playback/cam-front-01?date=2020-03-12")
    signed_in.evaluate("window.sameDocument = true")
    expect(signed_in.locator(".tl-title")).to_have_text("Whole day (UTC)")
    expect(signed_in.locator(".tl-span")).to_have_count(3)
    markers = signed_in.locator(".tl-marker")
    expect(markers).to_have_count(3)
    for event in (person, vehicle, plate):
        left = (event.ts - day_start).total_seconds() / DAY_S * 100
        marker = signed_in.locator(f".tl-marker[data-event={event.id}]")
        assert abs(marker.evaluate("el => parseFloat(el.style.left)") - left) < 0.001
        expect(marker).to_have_class(f"tl-marker tl-marker-{event.type}")

    # Zoom to 04:00: the ten minutes without recording show as the gap between two spans.
    signed_in.locator(".tl-hour[data-hour='04']").click()
    expect(signed_in.locator(".tl-title")).to_have_text(hour_title("04"))
    spans = signed_in.locator(".tl-span")
    expect(spans).to_have_count(2)
    bar = signed_in.locator(".tl-bar").bounding_box()
    left, right = spans.nth(0).bounding_box(), spans.nth(1).bounding_box()
    gap_px = right["x"] - (left["x"] + left["width"])
    assert abs(gap_px - bar["width"] * (gap_end - gap_start).total_seconds() / 3600) < 1.5, gap_px
    assert abs(left["x"] - bar["x"]) < 1
    expect(signed_in.locator(".event-rows li")).to_have_count(2)
    signed_in.screenshot(path=ARTIFACTS / "playback_hour_with_a_gap.png")

    # A click 5 s into the second span plays the hour's playlist from 5 s past the first span (gaps take no time).
    recorded_before = (gap_start - HOUR).total_seconds()
    signed_in.mouse.click(*x_of(signed_in, gap_end + timedelta(seconds=5), HOUR, 3600))
    assert recorded_before + 4 <= playing_near(signed_in, recorded_before + 5)
    assert signed_in.locator("video").get_attribute("data-hour") == "04"
    frame = signed_in.evaluate(DECODED, signed_in.locator("video").element_handle())
    assert frame["frames"] > 0 and frame["spread"] > 100 and frame["width"] > 0, frame

    # A drag seeks where it is let go.
    x0, y = x_of(signed_in, HOUR + timedelta(seconds=1), HOUR, 3600)
    x1, _ = x_of(signed_in, HOUR + timedelta(seconds=4), HOUR, 3600)
    signed_in.mouse.move(x0, y)
    signed_in.mouse.down()
    signed_in.mouse.move(x1, y, steps=5)
    expect(signed_in.locator(".tl-tip")).to_be_visible()
    signed_in.mouse.up()
    assert playing_near(signed_in, 4.0) < 7
    # A click in the gap plays from where the recording resumes.
    signed_in.mouse.click(*x_of(signed_in, gap_start + timedelta(minutes=5), HOUR, 3600))
    expect(signed_in.locator(".caption")).to_have_text(f"2020-03-12 {gap_end:%H:%M:%S} UTC")

    # The next hour: another playlist in the same player, the page never reloaded.
    signed_in.get_by_role("button", name="Next hour").click()
    expect(signed_in.locator(".tl-title")).to_have_text(hour_title("05"))
    signed_in.mouse.click(*x_of(signed_in, HOUR + timedelta(hours=1, seconds=3), HOUR + timedelta(hours=1), 3600))
    playing_near(signed_in, 3.0)
    assert signed_in.locator("video").get_attribute("data-hour") == "05"
    assert signed_in.evaluate("window.sameDocument") is True
    assert console_errors == []


def test_the_day_bar_on_a_phone(signed_in, camera_a, tenant_a, record, console_errors):
    record(camera_a, start=HOUR)
    EventFactory(tenant=tenant_a, type="person", ts=HOUR + timedelta(seconds=8))
    signed_in.set_viewport_size({"width": 390, "height": 844})
    signed_in.goto("/v2/#/playback/cam-front-01?date=2020-03-12")
    expect(signed_in.locator(".tl-marker")).to_have_count(1)
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    signed_in.locator(".tl-hour[data-hour='04']").click()
    expect(signed_in.locator(".tl-title")).to_have_text(hour_title("04"))
    # A pixel of a phone's bar is some 11 s of an hour.
    signed_in.mouse.click(*x_of(signed_in, HOUR + timedelta(seconds=10), HOUR, 3600))
    playing_near(signed_in, 10.0, slack=12, early=8)
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []
