"""Event detail (#/event/<id>): the snapshot with its boxes drawn in place, the event's facts, the recording around
it played from the playback API's offset and stopped after it, older/newer events of the same list, a phone."""

import subprocess
from datetime import timedelta

from playwright.sync_api import expect

from playback import paths

from ..factories import CameraFactory, EventFactory
from ..playback.conftest import HOUR
from ..shared import DEMO_CLIP
from .test_playback_screen import DECODED

# The detector's frame and one box in it: the middle half of the picture, in pixels of a 640x360 frame.
PAYLOAD = {"track_id": 42, "label": "car", "boxes": [[160, 90, 480, 270]], "frame": {"width": 640, "height": 360}}


def with_snapshot(event) -> None:
    """Gives `event` a real 320x180 JPEG of the demo clip as its snapshot (half the detector's frame size)."""
    snapshot = paths.new_snapshot(event.tenant_id, event.camera_id, event.ts)
    target = paths.recordings_path(snapshot)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "12", "-i", DEMO_CLIP, "-frames:v", "1", "-s", "320x180", str(target)],
        check=True,
    )
    event.snapshot = snapshot
    event.save()


def assert_box_on_snapshot(page) -> None:
    """The overlay's box covers the middle half of the displayed snapshot, as the payload's pixels say."""
    image = page.locator(".snap-img").element_handle()
    page.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=image)
    image, box = page.locator(".snap-img").bounding_box(), page.locator(".box").bounding_box()
    assert image["width"] > 200, image
    assert abs(box["x"] - (image["x"] + image["width"] / 4)) < 1.5, (image, box)
    assert abs(box["y"] - (image["y"] + image["height"] / 4)) < 1.5, (image, box)
    assert abs(box["width"] - image["width"] / 2) < 1.5, (image, box)
    assert abs(box["height"] - image["height"] / 2) < 1.5, (image, box)


def test_an_event_card_opens_the_detail_with_boxes_and_the_clip_around_it(
    signed_in, camera_a, tenant_a, record, console_errors
):
    record(camera_a, start=HOUR)
    event = EventFactory(
        tenant=tenant_a, type="vehicle", ts=HOUR + timedelta(seconds=12), confidence=0.87, payload=PAYLOAD,
        model_version="yolov8n-2024.1",
    )  # fmt: skip
    with_snapshot(event)
    signed_in.goto("/v2/#/events")
    signed_in.locator(f".event[data-event={event.id}]").click()
    expect(signed_in).to_have_url(f"/v2/#/event/{event.id}")
    expect(signed_in.locator("h1")).to_have_text("Vehicle · Front gate")

    assert_box_on_snapshot(signed_in)
    expect(signed_in.locator(".box-label")).to_have_text("vehicle 87%")
    expect(signed_in.locator("[data-fact=track]")).to_have_text("42")
    expect(signed_in.locator("[data-fact=model]")).to_have_text("yolov8n-2024.1")
    expect(signed_in.locator("[data-fact=confidence]")).to_have_text("87%")
    expect(signed_in.locator("[data-fact=time]")).to_contain_text("4:00:12")
    expect(signed_in.locator("[data-fact=label]")).to_have_text("car")

    # The clip starts at the playback API's offset (12 s less the 5 s pre-roll) and shows decoded video.
    video = signed_in.locator("video")
    expect(video).to_have_attribute("data-start", "7")
    expect(video).to_have_attribute("data-end", "17")
    handle = video.element_handle()
    signed_in.wait_for_function("video => !video.paused && video.readyState >= 3", arg=handle, timeout=20_000)
    assert 7.0 <= signed_in.evaluate("video => video.currentTime", handle) < 9.0
    frame = signed_in.evaluate(DECODED, handle)
    assert frame["frames"] > 0 and frame["spread"] > 100 and frame["width"] > 0, frame
    # ... and stops 5 s after the event, offering a replay.
    signed_in.wait_for_function("video => video.paused && video.currentTime >= 17", arg=handle, timeout=20_000)
    assert signed_in.evaluate("video => video.currentTime", handle) < 18.5
    expect(signed_in.get_by_role("button", name="Replay the clip")).to_be_visible()
    signed_in.get_by_role("button", name="Replay the clip").click()
    signed_in.wait_for_function("video => !video.paused && video.currentTime < 10", arg=handle)
    signed_in.evaluate("window.scrollTo(0, 0)")  # the screenshot, with the sticky top bar at the top
    assert console_errors == []


def test_older_and_newer_walk_the_list_the_user_came_from(signed_in, camera_a, tenant_a, tenant_b, console_errors):
    CameraFactory(tenant=tenant_a, slug="cam-yard", name="Yard")
    older, middle, newer = (EventFactory(tenant=tenant_a, ts=HOUR + timedelta(seconds=s)) for s in (2, 12, 30))
    yard = EventFactory(tenant=tenant_a, camera_id="cam-yard", ts=HOUR + timedelta(seconds=20))
    EventFactory(tenant=tenant_b, ts=HOUR + timedelta(seconds=15))  # another tenant's: never a neighbour
    previous_link = signed_in.get_by_label("Older event")
    next_link = signed_in.get_by_label("Newer event")

    signed_in.goto(f"/v2/#/event/{middle.id}?camera=cam-front-01")
    expect(previous_link).to_have_attribute("href", f"#/event/{older.id}?camera=cam-front-01")
    expect(next_link).to_have_attribute("href", f"#/event/{newer.id}?camera=cam-front-01")
    next_link.click()
    expect(signed_in).to_have_url(f"/v2/#/event/{newer.id}?camera=cam-front-01")
    expect(previous_link).to_have_attribute("href", f"#/event/{middle.id}?camera=cam-front-01")
    expect(next_link).to_have_attribute("aria-disabled", "true")
    # Unfiltered, the yard camera's event is the newer neighbour.
    signed_in.goto(f"/v2/#/event/{middle.id}")
    expect(next_link).to_have_attribute("href", f"#/event/{yard.id}")
    expect(signed_in.locator(".snap-empty")).to_have_text("No snapshot")
    expect(signed_in.locator(".notice")).to_have_text("No recording covers this event.")
    assert console_errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"] * 3


def test_another_tenants_event_is_not_found(signed_in, camera_a, tenant_b, console_errors):
    theirs = EventFactory(tenant=tenant_b, ts=HOUR)
    signed_in.goto(f"/v2/#/event/{theirs.id}")
    expect(signed_in.locator(".state-empty")).to_contain_text("No such event")
    assert console_errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]


def test_the_detail_on_a_phone(signed_in, camera_a, tenant_a, record, console_errors):
    record(camera_a, start=HOUR)
    event = EventFactory(tenant=tenant_a, type="vehicle", ts=HOUR + timedelta(seconds=12), payload=PAYLOAD)
    with_snapshot(event)
    signed_in.set_viewport_size({"width": 390, "height": 844})
    signed_in.goto(f"/v2/#/event/{event.id}")
    assert_box_on_snapshot(signed_in)
    signed_in.wait_for_function(
        "video => !video.paused && video.readyState >= 3 && video.currentTime >= 7",
        arg=signed_in.locator("video").element_handle(),
        timeout=20_000,
    )
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []
