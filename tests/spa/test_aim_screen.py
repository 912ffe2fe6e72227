"""Aim editor (#/aim/<camera>): zones, masks and lines drawn on the camera's latest picture and saved through the
camera API (its 400s shown next to the shape); the aim overlaid on live view and event snapshots; alerts only."""

from playwright.sync_api import expect

from cameras.models import Camera

from ..factories import EventFactory
from ..playback.conftest import HOUR
from .test_event_detail import with_snapshot

ZONE = {"name": "door", "points": [[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]], "alert": True}
NOT_FOUND = "Failed to load resource: the server responded with a status of 404 (Not Found)"
BAD_REQUEST = "Failed to load resource: the server responded with a status of 400 (Bad Request)"


def click_points(page, points) -> None:
    """Clicks each (x, y) fraction of the editor's picture."""
    stage = page.locator(".aim-stage").bounding_box()
    for x, y in points:
        page.mouse.click(stage["x"] + x * stage["width"], stage["y"] + y * stage["height"])


def drag_point(page, index, to) -> None:
    """Drags the selected shape's point `index` to the (x, y) fraction `to` of the picture."""
    stage = page.locator(".aim-stage").bounding_box()
    handle = page.locator(f".aim-handle[data-handle='{index}']").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(stage["x"] + to[0] * stage["width"], stage["y"] + to[1] * stage["height"], steps=5)
    page.mouse.up()


def assert_points(actual, expected, tolerance=0.01) -> None:
    assert len(actual) == len(expected), actual
    for (ax, ay), (ex, ey) in zip(actual, expected, strict=True):
        assert abs(ax - ex) < tolerance and abs(ay - ey) < tolerance, (actual, expected)


def wait_for_picture(page) -> None:
    image = page.locator(".aim-img").element_handle()
    page.wait_for_function("img => img.complete && img.naturalWidth === 1280", arg=image)


def test_a_zone_drawn_on_the_picture_is_saved_and_comes_back(
    signed_in, camera_a, record, make_token, tenant_a, console_errors
):
    record(camera_a, start=HOUR, count=1)  # the latest picture is a frame of the demo street
    signed_in.goto("/v2/#/cameras")
    signed_in.locator("tr[data-camera=cam-front-01]").get_by_role("link", name="Zones").click()
    expect(signed_in).to_have_url("/v2/#/aim/cam-front-01")
    expect(signed_in.locator("h1")).to_have_text("Zones and lines · Front gate")
    wait_for_picture(signed_in)

    signed_in.get_by_role("button", name="Add zone").click()
    click_points(signed_in, [(0.1, 0.5), (0.4, 0.5), (0.4, 0.9), (0.1, 0.9)])
    expect(signed_in.locator(".aim-handle")).to_have_count(4)
    signed_in.get_by_role("button", name="Done").click()
    card = signed_in.locator(".shape-card[data-shape='zones:0']")
    card.locator(".shape-name").fill("driveway")
    card.locator(".shape-name").press("Tab")
    card.get_by_label("alert").check()
    card.get_by_label("person").check()
    drag_point(signed_in, 2, (0.6, 0.9))  # the third point, to the right
    signed_in.get_by_label("person min score").fill("0.6")
    signed_in.get_by_label("person min score").press("Tab")
    signed_in.get_by_role("button", name="Save").click()
    expect(signed_in.locator(".toast-success")).to_contain_text("Saved the zones of Front gate")

    camera = Camera.objects.get(pk=camera_a.pk)
    [zone] = camera.zones
    assert {key: value for key, value in zone.items() if key != "points"} == {
        "name": "driveway", "required": False, "alert": True, "labels": ["person"],
    }  # fmt: skip
    assert_points(zone["points"], [[0.1, 0.5], [0.4, 0.5], [0.6, 0.9], [0.1, 0.9]])
    assert camera.filters == {"person": {"min_score": 0.6}}
    response = signed_in.request.get(
        "/v2/api/cameras/cam-front-01", headers={"Authorization": f"Bearer {make_token(tenant_a)}"}
    )
    assert response.json()["zones"] == camera.zones

    signed_in.reload()
    wait_for_picture(signed_in)
    expect(signed_in.locator(".shape-card[data-shape='zones:0'] .shape-name")).to_have_value("driveway")
    expect(signed_in.locator("polygon.aim-zone-alert[data-shape='zones:0']")).to_have_count(1)
    expect(signed_in.locator("[data-label='zones:0']")).to_have_text("driveway")
    expect(signed_in.get_by_label("person min score")).to_have_value("0.6")
    assert console_errors == []


def test_a_self_intersecting_zone_shows_the_servers_error_next_to_it(signed_in, camera_a, console_errors):
    signed_in.goto("/v2/#/aim/cam-front-01")
    # No recording yet: a grey box to draw on.
    expect(signed_in.locator(".aim-no-picture")).to_contain_text("No picture yet")
    signed_in.get_by_role("button", name="Add object mask").click()
    click_points(signed_in, [(0.6, 0.1), (0.9, 0.1), (0.9, 0.4)])
    signed_in.get_by_role("button", name="Add zone").click()  # the mask is finished, a zone begun
    click_points(signed_in, [(0.1, 0.1), (0.5, 0.5), (0.5, 0.1), (0.1, 0.5)])  # a bow tie
    signed_in.get_by_role("button", name="Save").click()

    error = signed_in.locator(".shape-card[data-shape='zones:0'] .shape-error")
    expect(error).to_contain_text("zones[0].points")
    expect(error).to_contain_text("self-intersecting")
    expect(signed_in.locator(".shape-card[data-shape='masks:0'] .shape-error")).to_be_hidden()
    assert Camera.objects.get(pk=camera_a.pk).zones == []
    assert Camera.objects.get(pk=camera_a.pk).masks == []
    # A click on a shape selects it.
    signed_in.locator("polygon[data-shape='masks:0']").click()
    expect(signed_in.locator(".shape-card.selected")).to_have_attribute("data-shape", "masks:0")
    expect(signed_in.locator(".aim-handle")).to_have_count(3)
    zone = signed_in.locator("polygon[data-shape='zones:0']")
    zone.click(position={"x": 10, "y": zone.bounding_box()["height"] / 2})
    expect(signed_in.locator(".shape-card.selected")).to_have_attribute("data-shape", "zones:0")

    # Moved into a proper square; then a filter's error goes to its row; corrected, it all saves.
    drag_point(signed_in, 1, (0.5, 0.1))
    drag_point(signed_in, 2, (0.5, 0.5))
    signed_in.get_by_label("vehicle min area").fill("0.5")
    signed_in.get_by_label("vehicle max area").fill("0.1")
    signed_in.get_by_label("vehicle max area").press("Tab")
    signed_in.get_by_role("button", name="Save").click()
    expect(signed_in.locator("tr[data-filter=vehicle] .field-error")).to_contain_text("filters.vehicle.max_area")
    expect(signed_in.locator(".shape-error:visible")).to_have_count(0)
    signed_in.get_by_label("vehicle max area").fill("")
    signed_in.get_by_label("vehicle max area").press("Tab")
    signed_in.get_by_role("button", name="Save").click()
    expect(signed_in.locator(".toast-success")).to_be_visible()
    expect(signed_in.locator(".shape-error:visible")).to_have_count(0)
    camera = Camera.objects.get(pk=camera_a.pk)
    assert_points(camera.zones[0]["points"], [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]])
    assert camera.masks[0]["kind"] == "object"
    assert camera.filters == {"vehicle": {"min_area": 0.5}}
    signed_in.evaluate("window.scrollTo(0, 0)")
    assert console_errors == [NOT_FOUND, BAD_REQUEST, BAD_REQUEST]  # no picture; the bow tie; the filter


def test_the_aim_is_drawn_over_live_view_and_event_snapshots(signed_in, camera_a, tenant_a, console_errors):
    Camera.objects.filter(pk=camera_a.pk).update(
        zones=[ZONE], lines=[{"name": "entry", "a": [0.5, 0], "b": [0.5, 1], "direction": "a_to_b"}]
    )
    signed_in.goto("/v2/#/live/cam-front-01")
    expect(signed_in.locator(".player polygon.aim-zone-alert")).to_have_count(1)
    expect(signed_in.locator(".player line.aim-line")).to_have_count(1)
    expect(signed_in.locator(".player [data-label='lines:0']")).to_have_text("entry A → B")
    layer, video = signed_in.locator(".player .aim-layer").bounding_box(), signed_in.locator("video").bounding_box()
    assert abs(layer["width"] - video["width"]) < 1.5 and abs(layer["height"] - video["height"]) < 1.5, (layer, video)
    signed_in.get_by_label("Zones").uncheck()
    expect(signed_in.locator(".player .aim-layer")).to_be_hidden()

    event = EventFactory(tenant=tenant_a, type="person", ts=HOUR, payload={"zones": ["door"]}, severity="alert")
    with_snapshot(event)
    signed_in.goto(f"/v2/#/event/{event.id}")
    image = signed_in.locator(".snap-img")
    signed_in.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=image.element_handle())
    shown, zone = image.bounding_box(), signed_in.locator(".snap polygon.aim-zone").bounding_box()
    # The top left quarter of the picture (give or take the 2 px stroke).
    assert abs(zone["x"] - shown["x"]) < 2.5 and abs(zone["y"] - shown["y"]) < 2.5, (shown, zone)
    assert abs(zone["width"] - shown["width"] / 2) < 2.5 and abs(zone["height"] - shown["height"] / 2) < 2.5
    expect(signed_in.locator("[data-fact=zones]")).to_have_text("door")
    expect(signed_in.locator("[data-fact=severity]")).to_have_text("alert")
    expect(signed_in.locator(".notice")).to_have_text("No recording covers this event.")
    assert console_errors == [NOT_FOUND]  # the clip's


def post_event(page, token, severity):
    response = page.request.post(
        "/v2/api/events",
        headers={"Authorization": f"Bearer {token}"},
        data={"camera_id": "cam-front-01", "type": "person", "confidence": 0.8, "severity": severity},
    )
    assert response.status == 201, response.text()
    return response.json()


def test_alerts_only_lists_and_pushes_only_alerts(signed_in, camera_a, tenant_a, make_token, console_errors):
    alert = EventFactory(tenant=tenant_a, severity="alert", payload={"zones": ["door", "yard"]})
    detection = EventFactory(tenant=tenant_a, severity="detection", ts=HOUR.replace(minute=5))
    sockets = []
    signed_in.on("websocket", lambda socket: sockets.append(socket.url))
    signed_in.goto("/v2/#/events")
    expect(signed_in.locator(".live-state")).to_have_text("Live")
    expect(signed_in.locator(".event")).to_have_count(2)
    card = signed_in.locator(f"[data-event={alert.id}]")
    expect(card.locator("[data-severity]")).to_have_text("alert")
    expect(card.locator(".event-zones")).to_have_text("door, yard")
    expect(signed_in.locator(f"[data-event={detection.id}] [data-severity]")).to_have_text("detection")

    signed_in.get_by_label("Alerts only").check()
    expect(signed_in.locator(".event")).to_have_count(1)
    expect(card).to_be_visible()
    expect(card).to_have_attribute("href", f"#/event/{alert.id}?severity=alert")
    expect(signed_in.locator(".live-state")).to_have_text("Live")
    assert "severity=alert" in sockets[-1] and "severity" not in sockets[0], sockets  # the server filters too
    token = make_token(tenant_a)
    post_event(signed_in, token, "detection")
    pushed = post_event(signed_in, token, "alert")
    expect(signed_in.locator(f"[data-event={pushed['id']}]")).to_be_visible()
    expect(signed_in.locator(".event")).to_have_count(2)

    signed_in.get_by_label("Alerts only").uncheck()
    expect(signed_in.locator(".event")).to_have_count(4)
    assert console_errors == []


def test_the_editor_on_a_phone(signed_in, camera_a, record, console_errors):
    record(camera_a, start=HOUR, count=1)
    Camera.objects.filter(pk=camera_a.pk).update(zones=[ZONE])
    signed_in.set_viewport_size({"width": 390, "height": 844})
    signed_in.goto("/v2/#/aim/cam-front-01")
    wait_for_picture(signed_in)
    expect(signed_in.locator("polygon.aim-zone")).to_have_count(1)
    signed_in.get_by_role("button", name="Add line").click()
    click_points(signed_in, [(0.7, 0.2), (0.7, 0.8)])
    card = signed_in.locator(".shape-card[data-shape='lines:0']")
    card.locator("select[name=direction]").select_option("b_to_a")
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    signed_in.get_by_role("button", name="Save").click()
    expect(signed_in.locator(".toast-success")).to_be_visible()
    [line] = Camera.objects.get(pk=camera_a.pk).lines
    assert line["name"] == "line-1" and line["direction"] == "b_to_a"
    assert_points([line["a"], line["b"]], [[0.7, 0.2], [0.7, 0.8]])
    signed_in.evaluate("window.scrollTo(0, 0)")
    assert console_errors == []
