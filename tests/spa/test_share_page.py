"""A share link in Chromium: its page asks for the password, plays the clip, and says so when the link is revoked; an
expired link shows its page; the tenant admin's audit screen lists the share's viewing with the share as the actor."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tenants import audit
from tenants.models import Membership, Share
from tenants.tokens import refresh_token_for

from ..factories import MembershipFactory
from ..shares.conftest import make_share
from .conftest import ARTIFACTS
from .test_audit_screen import sign_in
from .test_playback_screen import PLAYING

UNAUTHORIZED = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
GONE = "Failed to load resource: the server responded with a status of 410 (Gone)"


def test_a_clip_link_asks_its_password_plays_and_stops_at_revoke(
    page, browser, asgi_server, tenant_a, camera_a, record, client_a, console_errors
):
    record(camera_a)
    share = make_share(client_a, password="open sesame")

    page.goto(f"/v2/s/{share['key']}")
    expect(page.get_by_role("heading", name="Front gate")).to_be_visible()
    expect(page.locator("[data-shown]")).to_contain_text("Recorded clip, 2020-03-12 04:00:04 to 2020-03-12 04:00:10")
    page.get_by_label("This link asks for a password").fill("not it")
    page.get_by_role("button", name="Open").click()
    expect(page.locator("[data-password-error]")).to_have_text("Wrong password.")
    page.get_by_label("This link asks for a password").fill("open sesame")
    page.get_by_role("button", name="Open").click()

    video = page.locator("video")
    page.wait_for_function(PLAYING, arg=[video.element_handle(), 0.5], timeout=20_000)
    expect(page.locator("[data-password]")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "share-playing.png")

    assert client_a.delete(f"/v2/api/shares/{share['id']}").status_code == 204
    expect(page.locator("[data-ended]")).to_have_text("This share link has been revoked.", timeout=15_000)
    expect(page.locator("[data-player]")).to_be_hidden()
    assert console_errors == [UNAUTHORIZED, UNAUTHORIZED]  # the wrong password, then the playlist once revoked

    # The tenant's admin sees who watched: the share itself.
    admin = MembershipFactory(tenant=tenant_a, role=Membership.Role.ADMIN, user__username="ada")
    audit.drain()
    console = browser.new_context(base_url=asgi_server.url).new_page()
    sign_in(console, str(refresh_token_for(admin).access_token)).goto("/v2/#/audit")
    actor = f"share:{share['id']}"
    viewing = console.locator("tr[data-entry][data-action='playback.view']")
    expect(viewing).to_have_count(1)
    expect(viewing).to_contain_text(actor)
    expect(viewing).to_contain_text(f"share {share['id']}")
    expect(console.locator("tr[data-entry][data-action='share.open']")).to_contain_text(actor)
    expect(console.locator("tr[data-entry][data-action='share.revoke']")).to_contain_text("token:api")
    console.screenshot(path=ARTIFACTS / "share-audit.png")
    console.context.close()


def test_an_expired_link_shows_why(page, camera_a, console_errors, client_a):
    share = make_share(client_a, live=True)
    Share.objects.filter(pk=share["id"]).update(expires=timezone.now() - timedelta(seconds=1))

    response = page.goto(f"/v2/s/{share['key']}")

    assert response.status == 410
    expect(page.get_by_role("heading")).to_have_text("This link cannot be viewed")
    expect(page.locator("[data-ended]")).to_contain_text("This share link has expired.")
    expect(page.locator("video")).to_have_count(0)
    assert console_errors == [GONE]


def test_a_live_link_plays_until_it_expires(page, camera_a, console_errors, client_a):
    share = make_share(client_a, live=True, expires=(timezone.now() + timedelta(seconds=4)).isoformat())

    page.goto(f"/v2/s/{share['key']}")
    expect(page.locator("[data-shown]")).to_contain_text("Live view")
    expect(page.locator("[data-notice]")).to_have_text("No video yet: the camera is not streaming.")
    expect(page.locator("[data-ended]")).to_have_text("This share link has expired.", timeout=10_000)
    assert console_errors == []
