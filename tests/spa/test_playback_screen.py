"""Playback screen: a day's hours from the timeline, events marked on it, and an event played from its offset."""

from datetime import timedelta

from playwright.sync_api import expect

from ..factories import EventFactory
from ..playback.conftest import HOUR

PLAYING = "([video, from]) => !video.paused && video.readyState >= 3 && video.currentTime > from"


def test_an_event_opens_its_day_and_plays_from_its_offset(signed_in, camera_a, tenant_a, record, console_errors):
    record(camera_a, start=HOUR)
    event = EventFactory(tenant=tenant_a, camera_id="cam-front-01", type="vehicle", ts=HOUR + timedelta(seconds=12))
    signed_in.goto(f"/v2/#/playback/cam-front-01?event={event.id}")

    expect(signed_in.locator("input[name=date]")).to_have_value("2020-03-12")
    expect(signed_in.locator(".hour.has-video")).to_have_count(1)
    expect(signed_in.locator(".hour[data-hour='04']")).to_have_class("hour has-video has-events active")
    marker = signed_in.locator(f".event-track .marker[data-event={event.id}]")
    expect(marker).to_have_attribute("style", "left: 0.333%;")
    video = signed_in.locator("video")
    expect(video).to_have_attribute("data-event", event.id)
    # The playback API's offset is 12 s less its 5 s pre-roll: the player starts there and plays on.
    signed_in.wait_for_function(PLAYING, arg=[video.element_handle(), 7.0], timeout=20_000)
    assert signed_in.locator(".notice").is_hidden()
    assert console_errors == []


def test_a_day_without_recordings_and_another_tenants_event(signed_in, camera_a, tenant_b, record, console_errors):
    theirs = EventFactory(tenant=tenant_b, camera_id="cam-front-01", ts=HOUR)
    signed_in.goto(f"/v2/#/playback/cam-front-01?event={theirs.id}")
    expect(signed_in.locator(".toast")).to_have_text("No recording covers this event.")
    expect(signed_in.locator(".state-empty")).to_contain_text("No recordings on this day")
    assert console_errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]


def test_clicking_an_hour_plays_it_from_the_start(signed_in, camera_a, record, console_errors):
    record(camera_a, start=HOUR, count=3)
    signed_in.goto("/v2/#/playback/cam-front-01?date=2020-03-12")
    signed_in.locator(".hour[data-hour='04']").click()
    expect(signed_in.locator(".caption")).to_have_text("2020-03-12 04:00 UTC")
    expect(signed_in.locator(".event-rows")).to_have_text("No events in this hour.")
    signed_in.wait_for_function(PLAYING, arg=[signed_in.locator("video").element_handle(), 0.5], timeout=20_000)
    assert console_errors == []
