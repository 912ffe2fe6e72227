"""Login screen: the JWTs from POST /v2/api/auth/token land in localStorage (vms_v2_token, vms_v2_refresh); an
expired token without a refresh token sends back to login (renewal: test_session.py)."""

from playwright.sync_api import expect


def test_wrong_password_is_refused_then_login_opens_the_cameras(page, operator, console_errors):
    page.goto("/v2/")
    page.fill("input[name=username]", "olivia")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".form-error")).to_have_text("Wrong username or password.")
    assert page.evaluate("localStorage.getItem('vms_v2_token')") is None

    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Cameras")).to_be_visible()
    expect(page.locator("[data-tenant]")).to_have_text("tenant-a")
    assert page.url.endswith("/v2/#/cameras")
    assert page.evaluate("localStorage.getItem('vms_v2_token')").count(".") == 2
    assert page.evaluate("localStorage.getItem('vms_v2_refresh')").count(".") == 2  # renews the session
    assert console_errors == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]


def test_an_expired_token_sends_the_user_back_to_login(page, make_token, tenant_a, console_errors):
    page.add_init_script(f"localStorage.setItem('vms_v2_token', {make_token(tenant_a, ttl=-60)!r})")
    page.goto("/v2/#/events")
    expect(page.locator(".form-error")).to_have_text("Your session has expired.")
    expect(page.locator(".topbar")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('vms_v2_token')") is None
    assert console_errors == []


def test_sign_out_forgets_the_token(signed_in, console_errors):
    signed_in.goto("/v2/")
    signed_in.evaluate("localStorage.setItem('vms_v2_refresh', 'a-refresh-token')")
    signed_in.click("[data-logout]")
    expect(signed_in.get_by_role("button", name="Sign in")).to_be_visible()
    assert signed_in.evaluate("[localStorage.vms_v2_token, localStorage.vms_v2_refresh]") == [None] * 2
    assert console_errors == []
