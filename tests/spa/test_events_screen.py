"""Events screen: REST history with keyset "Load more", thumbnails, and new events pushed over the WebSocket."""

import subprocess
from datetime import UTC, datetime, timedelta

from django.conf import settings
from playwright.sync_api import expect

from playback import paths

from ..factories import CameraFactory, EventFactory

DEMO = settings.BASE_DIR.parent / "shared" / "media" / "demo-street.mp4"


def post_event(page, token, camera_id, type_="person"):
    response = page.request.post(
        "/v2/api/events",
        headers={"Authorization": f"Bearer {token}"},
        data={"camera_id": camera_id, "type": type_, "confidence": 0.91},
    )
    assert response.status == 201, response.text()
    return response.json()


def test_an_ingested_event_appears_live_and_another_tenants_does_not(
    signed_in, camera_a, tenant_b, make_token, tenant_a, console_errors
):
    CameraFactory(tenant=tenant_b, slug="cam-front-01")
    signed_in.goto("/v2/#/events")
    expect(signed_in.locator(".live-state")).to_have_text("Live")
    expect(signed_in.locator(".state-empty")).to_contain_text("No events")

    other = post_event(signed_in, make_token(tenant_b), "cam-front-01", "vehicle")
    mine = post_event(signed_in, make_token(tenant_a), "cam-front-01", "person")
    card = signed_in.locator(f"[data-event={mine['id']}]")
    expect(card).to_be_visible()
    expect(card).to_contain_text("person")
    expect(card).to_contain_text("91%")
    expect(card).to_contain_text("Front gate")
    expect(card).to_have_attribute("href", f"#/event/{mine['id']}")
    expect(signed_in.locator(".state-empty")).to_have_count(0)
    # Both were published before this check; the other tenant's never reached this tenant's socket.
    expect(signed_in.locator(f"[data-event={other['id']}]")).to_have_count(0)
    expect(signed_in.locator(".event")).to_have_count(1)
    assert console_errors == []


def test_filters_by_camera_type_and_time_apply_to_history_and_live_feed(
    signed_in, camera_a, make_token, tenant_a, console_errors
):
    CameraFactory(tenant=tenant_a, slug="cam-yard", name="Yard")
    old = EventFactory(tenant=tenant_a, camera_id="cam-yard", type="vehicle", ts=datetime(2026, 5, 1, 8, tzinfo=UTC))
    signed_in.goto("/v2/#/events")
    expect(signed_in.locator(".live-state")).to_have_text("Live")
    expect(signed_in.locator(f"[data-event={old.id}]")).to_contain_text("Yard")

    signed_in.select_option("select[name=camera]", "cam-yard")
    signed_in.select_option("select[name=type]", "vehicle")
    expect(signed_in.locator(f"[data-event={old.id}]")).to_be_visible()
    signed_in.fill("input[name=since]", "2026-06-01T00:00:00")
    expect(signed_in.locator(".state-empty")).to_contain_text("No events")

    post_event(signed_in, make_token(tenant_a), "cam-yard", "person")
    post_event(signed_in, make_token(tenant_a), "cam-front-01", "vehicle")
    vehicle = post_event(signed_in, make_token(tenant_a), "cam-yard", "vehicle")
    expect(signed_in.locator(f"[data-event={vehicle['id']}]")).to_be_visible()
    expect(signed_in.locator(".event")).to_have_count(1)
    # The detail's older/newer buttons walk this filtered list.
    expect(signed_in.locator(f"[data-event={vehicle['id']}]")).to_have_attribute(
        "href", f"#/event/{vehicle['id']}?camera=cam-yard&type=vehicle"
    )
    assert console_errors == []


def test_history_pages_back_with_load_more_and_shows_thumbnails(
    signed_in, camera_a, tenant_a, tenant_b, console_errors
):
    start = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    events = [EventFactory(tenant=tenant_a, ts=start + timedelta(minutes=i)) for i in range(30)]
    EventFactory(tenant=tenant_b, ts=start)
    snapshot = paths.new_snapshot(tenant_a.id, "cam-front-01", events[-1].ts)
    url, snapshot_file = paths.url_for_file(snapshot), paths.recordings_path(snapshot)
    snapshot_file.parent.mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(DEMO), "-frames:v", "1", "-s", "320x180", str(snapshot_file)], check=True
    )
    events[-1].snapshot = snapshot
    events[-1].save()

    signed_in.goto("/v2/#/events")
    cards = signed_in.locator(".event")
    expect(cards).to_have_count(25)
    expect(cards.first).to_have_attribute("data-event", events[-1].id)
    thumb = cards.first.locator("img.thumb")
    expect(thumb).to_have_attribute("src", f"{url}?token={signed_in.evaluate('localStorage.vms_v2_token')}")
    signed_in.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=thumb.element_handle())
    expect(cards.nth(1).locator(".thumb-empty")).to_have_text("No snapshot")

    signed_in.get_by_role("button", name="Load more").click()
    expect(cards).to_have_count(30)
    expect(cards.last).to_have_attribute("data-event", events[0].id)
    expect(signed_in.get_by_role("button", name="Load more")).to_be_hidden()
    assert console_errors == []
