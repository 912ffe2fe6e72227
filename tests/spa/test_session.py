"""Sessions that last: the console renews its access token with the refresh token before it expires (and once on
a refused request); when renewal fails the user signs in again and lands back on the page they were on."""

import json
import time
from datetime import timedelta

from playwright.sync_api import expect
from rest_framework_simplejwt.tokens import AccessToken

from tenants.tokens import refresh_token_for

from .conftest import ARTIFACTS

TOKEN = "localStorage.getItem('vms_v2_token')"
UNAUTHORIZED = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"


def tokens(membership, access_ttl: float, refresh_ttl: float | None = None) -> tuple[str, str]:
    """A user's refresh token and an access token from it that expires in `access_ttl` seconds (negative: expired)."""
    refresh = refresh_token_for(membership)
    access = refresh.access_token
    access.set_exp(lifetime=timedelta(seconds=access_ttl))
    if refresh_ttl is not None:
        refresh.set_exp(lifetime=timedelta(seconds=refresh_ttl))
    return str(access), str(refresh)


def store(page, access: str, refresh: str) -> None:
    page.add_init_script(
        f"localStorage.setItem('vms_v2_token', {json.dumps(access)});"
        f"localStorage.setItem('vms_v2_refresh', {json.dumps(refresh)});"
    )


def test_the_access_token_is_renewed_before_it_expires(page, operator, camera_a, console_errors):
    access, refresh = tokens(operator.membership, access_ttl=3)
    expires = AccessToken(access)["exp"]
    renewals = []
    page.on("request", lambda r: r.url.endswith("/v2/api/auth/refresh") and renewals.append(time.time()))
    store(page, access, refresh)
    page.goto("/v2/#/cameras")
    expect(page.locator("tr[data-camera=cam-front-01]")).to_be_visible()

    page.wait_for_function(f"old => {TOKEN} !== old", arg=access, timeout=5_000)
    assert len(renewals) == 1 and renewals[0] < expires  # renewed while the old token was still valid
    # Stay on past the first token's expiry, then use the console: its requests carry the new token.
    page.wait_for_timeout(max(0, (expires + 1 - time.time()) * 1000))
    renewed = page.evaluate(TOKEN)
    with page.expect_response(lambda r: r.url.endswith("/v2/api/cameras")) as response:
        page.locator("[data-nav=live]").click()
    assert response.value.status == 200
    assert response.value.request.headers["authorization"] == f"Bearer {renewed}"
    claims = AccessToken(renewed)
    assert claims["tenant_id"] == "tenant-a" and claims["exp"] > time.time() + 1800
    expect(page.locator(".tile[data-camera=cam-front-01]")).to_be_visible()
    expect(page.locator(".topbar")).to_be_visible()
    assert page.evaluate("localStorage.getItem('vms_v2_refresh')") == refresh
    assert console_errors == []  # not one request was refused


def test_a_page_opened_after_the_token_expired_renews_it(page, operator, camera_a, console_errors):
    access, refresh = tokens(operator.membership, access_ttl=-60)
    store(page, access, refresh)
    page.goto("/v2/#/events")
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    assert page.evaluate(TOKEN) != access
    assert console_errors == []


def test_a_refused_token_is_renewed_once_and_the_request_sent_again(page, operator, camera_a, console_errors):
    access, refresh = tokens(operator.membership, access_ttl=3600)
    header, payload, _signature = access.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"  # looks valid to the browser, refused by the server
    store(page, forged, refresh)
    page.goto("/v2/#/cameras")
    expect(page.locator("tr[data-camera=cam-front-01]")).to_be_visible()
    assert page.evaluate(TOKEN) not in (forged, access)
    assert console_errors == [UNAUTHORIZED]


def test_a_refused_renewal_signs_in_again_and_returns_to_the_page(page, operator, camera_a, console_errors):
    access, refresh = tokens(operator.membership, access_ttl=3, refresh_ttl=-1)  # the refresh token has expired
    store(page, access, refresh)
    page.goto("/v2/#/live/cam-front-01")
    expect(page.locator("select[name=camera]")).to_have_value("cam-front-01")

    expect(page.locator(".form-error")).to_have_text("Your session has expired. Please sign in again.", timeout=6_000)
    expect(page.locator(".topbar")).to_be_hidden()
    assert page.evaluate("[localStorage.getItem('vms_v2_token'), localStorage.getItem('vms_v2_refresh')]") == [None] * 2
    assert page.url.endswith("/v2/#/live/cam-front-01")
    page.screenshot(path=ARTIFACTS / "session_expired_login.png")

    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page.locator("select[name=camera]")).to_have_value("cam-front-01")
    assert page.url.endswith("/v2/#/live/cam-front-01")
    assert page.evaluate("localStorage.getItem('vms_v2_refresh')").count(".") == 2
    assert console_errors == [UNAUTHORIZED]  # the refused renewal
