"""Audit screen: a tenant admin sees the trail newest first (a viewing made through the server included), pages on
with "Load more", filters it and downloads it as CSV; a viewer has no such screen."""

import csv
import io

from playwright.sync_api import expect

from tenants import audit
from tenants.catalogue import READ_SCOPES
from tenants.models import Membership
from tenants.tokens import refresh_token_for

from ..factories import MembershipFactory
from .conftest import ARTIFACTS

PLAYLIST = "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8"
OLDER = 55  # more than a page (50)


def sign_in(page, token: str):
    page.add_init_script(f"localStorage.setItem('vms_v2_token', {token!r})")
    return page


def test_an_admin_sees_the_viewing_pages_filters_and_downloads(
    page, tenant_a, tenant_b, camera_a, record, console_errors
):
    admin = MembershipFactory(tenant=tenant_a, role=Membership.Role.ADMIN, user__username="ada")
    token = str(refresh_token_for(admin).access_token)
    for n in range(OLDER):
        audit.record(tenant_a.pk, "camera.update", actor="user:sam", object_type="camera", object_id=f"cam-{n}")
    audit.record(tenant_b.pk, "camera.update", actor="user:bob", object_type="camera", object_id="cam-of-b")
    record(camera_a, count=2)
    assert page.request.get(f"{PLAYLIST}?token={token}").status == 200  # a recorded hour watched, on the server
    audit.drain()
    audit.check_chains()  # the hourly walk

    sign_in(page, token).goto("/v2/#/audit")
    expect(page.locator("[data-nav=audit]")).to_be_visible()
    expect(page.locator(".chain-state")).to_have_attribute("data-chain", "ok")
    expect(page.locator(".chain-state")).to_contain_text(f"Chain intact: {OLDER + 1} entries")
    rows = page.locator("tr[data-entry]")
    expect(rows).to_have_count(50)
    newest = rows.first
    expect(newest).to_have_attribute("data-action", "playback.view")
    expect(newest).to_contain_text("user:ada")
    expect(newest).to_contain_text("hour cam-front-01/2020-03-12/04")
    expect(newest).to_contain_text("127.0.0.1")
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(OLDER + 1)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    expect(rows.last).to_contain_text("camera cam-0")
    expect(page.get_by_text("user:bob")).to_have_count(0)  # tenant B's
    page.screenshot(path=ARTIFACTS / "audit-entries.png")

    page.get_by_label("Action").fill("playback.view")
    page.get_by_label("Action").press("Enter")
    expect(rows).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    table = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [(r["action"], r["actor"], r["camera_id"]) for r in table] == [("playback.view", "user:ada", "cam-front-01")]

    page.get_by_label("Action").fill("")
    page.get_by_label("Camera").select_option("cam-front-01")
    expect(rows).to_have_count(1)
    page.get_by_label("Actor").fill("user:nobody")
    page.get_by_label("Actor").press("Enter")
    expect(page.locator(".state-empty")).to_contain_text("No entries")
    assert console_errors == []


def test_a_viewer_has_no_audit_screen(page, make_token, tenant_a, console_errors):
    sign_in(page, make_token(tenant_a, scopes=READ_SCOPES)).goto("/v2/#/cameras")
    expect(page.locator("[data-nav=events]")).to_be_visible()
    expect(page.locator("[data-nav=audit]")).to_be_hidden()
    page.goto("/v2/#/audit")
    page.wait_for_function("() => window.location.hash === '#/cameras'")
    expect(page.locator("h1")).to_have_text("Cameras")
    assert console_errors == []
