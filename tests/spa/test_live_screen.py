"""Live view: the camera's live playlist through hls.js; a camera that is not recording says so."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from .test_playback_screen import PLAYING


def test_a_recording_camera_plays_live(signed_in, camera_a, record, console_errors):
    # Segments just written, as the recorder leaves them: the live window is made of these.
    record(camera_a, start=timezone.now() - timedelta(seconds=12), count=6)
    signed_in.goto("/v2/#/live/cam-front-01")
    signed_in.wait_for_function(PLAYING, arg=[signed_in.locator("video").element_handle(), 0.5], timeout=20_000)
    expect(signed_in.locator(".notice")).to_be_hidden()
    assert console_errors == []


def test_a_camera_without_video_shows_it_is_waiting(signed_in, camera_a, console_errors):
    signed_in.goto("/v2/#/live")
    expect(signed_in.locator("select[name=camera]")).to_have_value("cam-front-01")
    expect(signed_in.locator(".notice")).to_contain_text("Waiting for video")
    expect(signed_in.locator(".pill")).to_have_text("offline")
    signed_in.wait_for_timeout(1500)
    assert signed_in.locator("video").evaluate("video => video.currentTime === 0 && video.readyState < 2")
    expect(signed_in.locator(".notice")).to_be_visible()
    assert console_errors == []
