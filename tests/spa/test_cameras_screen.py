"""Cameras screen: the tenant's cameras with status; add/edit/delete with the server's field errors shown inline."""

from playwright.sync_api import expect

from cameras.models import Camera

from ..factories import CameraFactory


def test_lists_only_the_tenants_cameras_with_their_status(signed_in, camera_a, tenant_b, console_errors):
    CameraFactory(tenant=tenant_b, slug="cam-of-b", name="Tenant B yard")
    Camera.objects.filter(pk=camera_a.pk).update(status=Camera.Status.ONLINE)
    signed_in.goto("/v2/#/cameras")
    row = signed_in.locator("tr[data-camera=cam-front-01]")
    expect(row).to_contain_text("Front gate")
    expect(row.locator(".pill")).to_have_text("online")
    expect(row).to_contain_text("rtsp://viewer:***@10.0.0.5:554/stream")
    expect(signed_in.locator("tbody tr")).to_have_count(1)
    expect(signed_in.get_by_text("Tenant B yard")).to_have_count(0)
    assert console_errors == []


def test_an_empty_tenant_sees_an_empty_state(signed_in, console_errors):
    signed_in.goto("/v2/#/cameras")
    expect(signed_in.locator(".state-empty")).to_contain_text("No cameras yet")
    assert console_errors == []


def test_add_shows_the_servers_field_error_then_adds(signed_in, tenant_a, console_errors):
    signed_in.goto("/v2/#/cameras")
    signed_in.get_by_role("button", name="Add camera").click()
    dialog = signed_in.locator("dialog")
    dialog.locator("input[name=name]").fill("Lobby")
    dialog.locator("input[name=rtsp_url]").fill("http://10.0.0.9/stream")
    dialog.locator("button[type=submit]").click()
    error = dialog.locator("[data-field=rtsp_url] .field-error")
    expect(error).to_contain_text("RTSP URL")
    expect(dialog.locator("[data-field=name] .field-error")).to_be_hidden()
    assert not Camera.objects.filter(tenant=tenant_a).exists()

    dialog.locator("input[name=id]").fill("cam-lobby")
    dialog.locator("input[name=rtsp_url]").fill("rtsp://admin:pa55@10.0.0.9:554/stream")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    row = signed_in.locator("tr[data-camera=cam-lobby]")
    expect(row).to_contain_text("Lobby")
    expect(row).to_contain_text("rtsp://admin:***@10.0.0.9:554/stream")
    camera = Camera.objects.get(tenant=tenant_a, slug="cam-lobby")
    assert camera.rtsp_url == "rtsp://admin:pa55@10.0.0.9:554/stream"
    assert camera.features == ["person"]
    # The 400 of the first try is the only thing the browser logged.
    assert console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]


def test_edit_keeps_the_password_and_delete_removes(signed_in, camera_a, console_errors):
    signed_in.goto("/v2/#/cameras")
    row = signed_in.locator("tr[data-camera=cam-front-01]")
    row.get_by_role("button", name="Edit").click()
    dialog = signed_in.locator("dialog")
    dialog.locator("input[name=name]").fill("Front gate east")
    dialog.locator("input[name=fps]").fill("10")
    dialog.locator("button[type=submit]").click()
    expect(row).to_contain_text("Front gate east")
    camera_a.refresh_from_db()
    assert (camera_a.name, camera_a.fps, camera_a.rtsp_url) == (
        "Front gate east",
        10,
        "rtsp://viewer:s3cret@10.0.0.5:554/stream",
    )

    signed_in.once("dialog", lambda confirm: confirm.accept())
    row.get_by_role("button", name="Delete").click()
    expect(signed_in.locator(".state-empty")).to_contain_text("No cameras yet")
    assert not Camera.objects.filter(pk=camera_a.pk).exists()
    assert console_errors == []


def test_fits_a_phone_screen(signed_in, camera_a, console_errors):
    signed_in.set_viewport_size({"width": 390, "height": 844})
    signed_in.goto("/v2/#/cameras")
    row = signed_in.locator("tr[data-camera=cam-front-01]")
    expect(row.get_by_role("button", name="Edit")).to_be_visible()
    expect(row.locator(".mono.hide-sm")).to_be_hidden()
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []
