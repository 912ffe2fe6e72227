"""Cameras screen: the tenant's cameras with status; add/edit/delete with the server's field errors shown inline."""

from playwright.sync_api import expect

from cameras.models import Camera, PipelineState

from ..factories import CameraFactory
from .conftest import ARTIFACTS

RUNNING, FAILED, WAITING = PipelineState.State.RUNNING, PipelineState.State.FAILED, PipelineState.State.WAITING


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
    dialog.locator("input[name=detect_url]").fill("rtsp://admin:pa55@10.0.0.9:554/sub")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    row = signed_in.locator("tr[data-camera=cam-lobby]")
    expect(row).to_contain_text("Lobby")
    expect(row).to_contain_text("rtsp://admin:***@10.0.0.9:554/stream")
    camera = Camera.objects.get(tenant=tenant_a, slug="cam-lobby")
    assert camera.rtsp_url == "rtsp://admin:pa55@10.0.0.9:554/stream"
    assert (camera.detect_url, camera.live_url) == ("rtsp://admin:pa55@10.0.0.9:554/sub", "")
    assert camera.features == ["person"]
    row.get_by_role("button", name="Edit").click()  # the substream's password is masked in the form too
    expect(dialog.locator("input[name=detect_url]")).to_have_value("rtsp://admin:***@10.0.0.9:554/sub")
    dialog.get_by_role("button", name="Cancel").click()
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


def test_each_camera_shows_its_pipelines_state(signed_in, camera_a, tenant_a, console_errors):
    yard = CameraFactory(tenant=tenant_a, slug="cam-yard", name="Yard")
    lobby = CameraFactory(tenant=tenant_a, slug="cam-lobby", name="Lobby")
    gate = CameraFactory(tenant=tenant_a, slug="cam-gate", name="Gate")
    CameraFactory(tenant=tenant_a, slug="cam-dock", name="Dock", enabled=False)
    behind = "falling behind: analysed 2.5 of 5 fps over the last 60 s, skipping 150 frames to stay live"
    no_model = (
        "detector model '/srv/models/yolo.onnx' cannot be loaded: FileNotFoundError: no such file; "
        "object detection is off, motion events go on"
    )
    refused = "ffmpeg exited with 1: rtsp://viewer:***@10.0.0.5:554/stream: Connection refused"
    for camera, kind, state, detail, last_error in [
        (camera_a, "record", RUNNING, "", ""),
        (camera_a, "detect", RUNNING, behind, ""),
        (yard, "record", FAILED, "", refused),
        (yard, "detect", RUNNING, f"{no_model}; {behind}", ""),
        (lobby, "record", RUNNING, "", ""),
        (lobby, "detect", RUNNING, "", ""),
        (gate, "record", WAITING, "waiting for capacity", ""),
    ]:
        PipelineState.objects.create(camera=camera, kind=kind, state=state, detail=detail, last_error=last_error)
    signed_in.goto("/v2/#/cameras")

    def badges(slug):
        return signed_in.locator(f"tr[data-camera={slug}] .pipe")

    expect(badges("cam-front-01")).to_have_text(["recording", "falling behind"])
    expect(badges("cam-front-01").nth(1)).to_have_class("pipe pipe-warn")
    expect(badges("cam-front-01").nth(1)).to_have_attribute("title", behind)
    expect(badges("cam-yard")).to_have_text(["recording failed", "model missing", "falling behind"])
    expect(badges("cam-yard").first).to_have_class("pipe pipe-failed")
    expect(signed_in.locator("tr[data-camera=cam-yard] .pipe-error")).to_have_text(f"recording: {refused}")
    expect(badges("cam-lobby")).to_have_text(["recording", "detecting"])
    expect(badges("cam-lobby").first).to_have_class("pipe pipe-ok")
    expect(badges("cam-gate")).to_have_text(["no room to record"])
    expect(badges("cam-gate").first).to_have_class("pipe pipe-warn")
    expect(signed_in.locator("tr[data-camera=cam-dock]")).to_contain_text("disabled")
    expect(badges("cam-dock")).to_have_count(0)
    signed_in.screenshot(path=ARTIFACTS / "cameras_pipelines_desktop.png", full_page=True)

    # On a phone the state stays in view (the status column is the one kept).
    signed_in.set_viewport_size({"width": 390, "height": 844})
    expect(badges("cam-yard").first).to_be_visible()
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []
