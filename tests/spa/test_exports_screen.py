"""Exports in the console: the Export dialog of playback (range from the zoomed hour, cameras, field errors), and the
downloads list (progress pushed over the WebSocket, files with size, duration, gaps and a copyable SHA-256 that
matches the downloaded MP4, legal hold, delete), with a real export worker and real recordings."""

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from playwright.sync_api import expect

from cameras.pipeline.lease import client
from playback.models import Export, ExportFile
from tenants.groups import tenant_group

from ..factories import CameraFactory
from ..playback.conftest import HOUR
from ..processes import running_worker
from .conftest import ARTIFACTS


def test_an_export_from_playback_is_made_downloaded_held_and_deleted(
    signed_in, camera_a, tenant_a, tenant_b, record, tmp_path, console_errors
):
    record(camera_a, start=HOUR)
    yard = CameraFactory(tenant=tenant_a, slug="cam-yard", name="Yard")
    record(yard, start=HOUR, count=5)
    theirs = Export.objects.create(tenant=tenant_b, name="Theirs", start=HOUR, end=HOUR + timedelta(seconds=10),
                                   expires=HOUR + timedelta(days=7))  # fmt: skip
    signed_in.context.grant_permissions(["clipboard-read", "clipboard-write"])
    client().flushdb()
    with running_worker(tmp_path / "worker.log", queue="export"):
        signed_in.goto("/v2/#/playback/cam-front-01?date=2020-03-12")
        signed_in.locator(".tl-hour[data-hour='04']").click()
        signed_in.get_by_role("button", name="Export", exact=True).click()
        dialog = signed_in.locator("dialog")
        # The range starts as the hour the bar shows; the camera on screen is ticked.
        expect(dialog.locator("input[name=start]")).to_have_value("04:00:00")
        expect(dialog.locator("input[name=end]")).to_have_value("05:00:00")
        expect(dialog.locator("input[value=cam-front-01]")).to_be_checked()
        expect(dialog.locator("input[value=cam-yard]")).not_to_be_checked()

        # The server's 400 shows beside the field it names.
        dialog.locator("input[name=end]").fill("03:59:00")
        dialog.get_by_role("button", name="Start export").click()
        expect(dialog.locator("[data-field=end] .field-error")).to_be_visible()
        assert Export.objects.filter(tenant=tenant_a).count() == 0

        dialog.locator("input[name=end]").fill("04:00:16")
        dialog.locator("input[value=cam-yard]").check()
        dialog.locator("input[name=name]").fill("Incident 42")
        signed_in.screenshot(path=ARTIFACTS / "export_dialog.png")
        dialog.get_by_role("button", name="Start export").click()

        expect(signed_in).to_have_url(re.compile(r"#/exports$"))
        card = signed_in.locator(".export").filter(has_text="Incident 42")
        expect(card).to_have_attribute("data-state", "done", timeout=30_000)
    expect(signed_in.locator(".export")).to_have_count(1)  # not the other tenant's
    assert not signed_in.get_by_text(theirs.name).count()

    job = Export.objects.get(tenant=tenant_a)
    files = {f.camera_slug: f for f in ExportFile.objects.filter(export=job)}
    assert sorted(files) == ["cam-front-01", "cam-yard"]
    expect(card.locator(".export-range-text")).to_have_text("2020-03-12 04:00:00 \N{EN DASH} 04:00:16 UTC")
    front = card.locator("tr[data-camera=cam-front-01]")
    expect(front.locator("td").first).to_contain_text("Front gate")
    expect(front.locator(".sha")).to_have_text(files["cam-front-01"].sha256)
    expect(front.locator("[data-size]")).to_have_text(re.compile(r"^\d+(\.\d)? (KB|MB)$"))
    expect(front.locator("[data-duration]")).to_have_text(re.compile(r"^0:1[4-8]$"))
    expect(front.locator("[data-gaps]")).to_have_text("none")
    # The yard recorded 10 s of the 16: the rest is a gap, shown, not bridged.
    expect(card.locator("tr[data-camera=cam-yard] [data-gaps] li")).to_have_count(1)

    # The link downloads the file whose hash is shown, and the server says the same hash.
    href = front.locator("a[data-download]").get_attribute("href")
    response = signed_in.request.get(href)
    assert response.status == 200
    body = response.body()
    assert hashlib.sha256(body).hexdigest() == files["cam-front-01"].sha256
    assert response.headers["x-content-sha256"] == files["cam-front-01"].sha256
    assert response.headers["content-disposition"].startswith("attachment")

    front.get_by_role("button", name="Copy").click()
    expect(signed_in.locator(".toast", has_text="SHA-256 copied.")).to_be_visible()
    assert signed_in.evaluate("navigator.clipboard.readText()") == files["cam-front-01"].sha256

    # Legal hold: on (never expires), then released.
    expect(card.locator(".export-expiry")).to_have_text(re.compile(r"^Expires "))
    card.get_by_label("Legal hold").check()
    expect(card.locator(".export-expiry")).to_have_text("Legal hold: never expires")
    job.refresh_from_db()
    assert job.legal_hold is True
    card.get_by_label("Legal hold").uncheck()
    expect(card.locator(".export-expiry")).to_have_text(re.compile(r"^Expires "))
    job.refresh_from_db()
    assert job.legal_hold is False
    signed_in.screenshot(path=ARTIFACTS / "exports_done.png", full_page=True)

    signed_in.once("dialog", lambda confirm: confirm.accept())
    card.get_by_role("button", name="Delete").click()
    expect(signed_in.locator(".export")).to_have_count(0)
    expect(signed_in.locator(".state-empty")).to_contain_text("No exports yet")
    assert not Export.objects.filter(tenant=tenant_a).exists()
    assert Export.objects.filter(pk=theirs.pk).exists()
    assert console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]


def test_progress_pushed_over_the_socket_moves_the_bars(signed_in, camera_a, tenant_a, console_errors):
    job = Export.objects.create(tenant=tenant_a, name="Night shift", start=HOUR, end=HOUR + timedelta(minutes=1),
                                expires=HOUR + timedelta(days=7))  # fmt: skip
    ExportFile.objects.create(export=job, camera=camera_a, camera_slug=camera_a.slug)
    signed_in.goto("/v2/#/exports")
    card = signed_in.locator(f".export[data-export='{job.pk}']")
    expect(card).to_have_attribute("data-state", "queued")
    expect(signed_in.locator(".live-state")).to_have_text("Live")

    # No worker runs: what moves the bars is the socket's message, as the export job sends it.
    pushed = {
        "id": job.pk, "name": job.name, "state": "running", "progress": 40, "error": "", "legal_hold": False,
        "created_at": job.created_at.isoformat(), "expires": job.expires.isoformat(),
        "files": [{"camera_id": camera_a.slug, "url": None, "sha256": "", "size": None, "duration": None, "gaps": [],
                   "progress": 40}],
    }  # fmt: skip
    # From another thread: Playwright's loop runs in this one, where async_to_sync refuses to run.
    message = {"type": "export.progress", "export": pushed}
    with ThreadPoolExecutor(1) as pool:
        pool.submit(async_to_sync(get_channel_layer().group_send), tenant_group(tenant_a.id), message).result()
    expect(card).to_have_attribute("data-state", "running")
    expect(card.locator(".export-progress [role=progressbar]")).to_have_attribute("aria-valuenow", "40")
    expect(card.locator("tr[data-camera=cam-front-01] [role=progressbar]")).to_have_attribute("aria-valuenow", "40")

    # The socket falls quiet: the list reads the unfinished job from the API again (here: failed meanwhile).
    Export.objects.filter(pk=job.pk).update(state="failed", error="Camera 'cam-front-01' has no recording left.")
    expect(card).to_have_attribute("data-state", "failed", timeout=5_000)
    expect(card.locator(".form-error")).to_have_text("Camera 'cam-front-01' has no recording left.")
    # On a phone the files' table scrolls inside its card; the page does not.
    signed_in.set_viewport_size({"width": 390, "height": 844})
    assert signed_in.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []
