"""Password guessing limits, per username and per client address, on Django's cache (Redis).

`POST /v2/api/auth/token` and `/v2/api/auth/refresh` count every attempt (DRF throttles); the admin's login form
counts failed attempts in the same buckets, so the doors share one budget per user and per address. The metrics'
basic auth counts its failures apart (a scraper's typo locks no one out of the API).
"""

import hashlib
import math

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle


class LoginThrottle(SimpleRateThrottle):
    """A DRF throttle whose rate is read from a setting at each request (so an operator's value, or a test's,
    applies without DRF's THROTTLE_RATES)."""

    rate_setting: str

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)

    def spent(self, request: HttpRequest) -> bool:
        """Whether the budget is used up, without counting this request (for callers that count only failures)."""
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        self.history = [at for at in self.cache.get(self.key, []) if at > self.now - self.duration]
        return len(self.history) >= self.num_requests

    def count(self) -> None:
        """Count one attempt; call after `spent()`."""
        self.throttle_success()


class LoginUsernameThrottle(LoginThrottle):
    """Keyed by whom an attempt is for: the username posted to a login, or the user that a view names with
    `throttle_user(request)` (a refresh: its token's user, None for an invalid token, which spends no one's
    budget)."""

    scope = "login-username"
    rate_setting = "VMS_LOGIN_RATE_PER_USER"

    def get_cache_key(self, request, view) -> str | None:
        if hasattr(view, "throttle_user"):
            user_id = view.throttle_user(request)
            # Never a username's key: those are SHA-256 hex digests.
            return None if user_id is None else self.cache_format % {"scope": self.scope, "ident": f"user-{user_id}"}
        # DRF's request has the parsed JSON body in `data`; the admin's is a plain form POST.
        data = request.data if hasattr(request, "data") else request.POST
        username = data.get("username", "") if hasattr(data, "get") else ""
        # Hashed: any JSON value or length fits a bounded key; case-folded: "Admin" and "admin" share a budget.
        ident = hashlib.sha256(str(username).casefold().encode(errors="replace")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginAddressThrottle(LoginThrottle):
    """Keyed by REMOTE_ADDR; X-Forwarded-For counts only behind VMS_NUM_PROXIES trusted proxies (DRF's get_ident)."""

    scope = "login-address"
    rate_setting = "VMS_LOGIN_RATE_PER_ADDRESS"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


LOGIN_THROTTLES = (LoginUsernameThrottle, LoginAddressThrottle)


class MetricsAddressThrottle(LoginAddressThrottle):
    """Failed basic-auth tries on /v2/metrics per client address. Its one account gets one account's budget;
    counted per address, not per username, so no one elsewhere can lock the scraper out."""

    scope = "metrics-address"
    rate_setting = "VMS_LOGIN_RATE_PER_USER"


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin's login form: refuses any attempt while a username or an address has used up its budget of
    failed logins, and counts each failure."""

    def clean(self) -> dict:
        throttles = [throttle() for throttle in LOGIN_THROTTLES]
        spent = [throttle for throttle in throttles if throttle.spent(self.request)]
        if spent:
            seconds = math.ceil(max(throttle.wait() for throttle in spent))
            message = "Too many failed logins. Try again in %(seconds)d seconds."
            raise forms.ValidationError(message, code="throttled", params={"seconds": seconds})
        try:
            return super().clean()
        except forms.ValidationError:
            for throttle in throttles:
                throttle.count()
            raise
