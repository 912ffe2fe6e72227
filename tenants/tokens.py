"""JWTs that carry the tenant and the scopes; every API authenticates with them."""

from datetime import timedelta

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from .catalogue import SCOPES
from .models import Membership, Tenant


def parse_scopes(text: str) -> tuple[str, ...]:
    """Split a space- or comma-separated scope list; unknown names raise ValueError."""
    scopes = tuple(dict.fromkeys(text.replace(",", " ").split()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)} (known: {' '.join(SCOPES)})")
    return scopes


def issue_access_token(tenant: Tenant, scopes: tuple[str, ...], ttl: timedelta) -> str:
    """A token for a system integration: no user, only a tenant and scopes."""
    token = AccessToken()
    token.set_exp(lifetime=ttl)
    token["tenant_id"] = tenant.id
    token["scope"] = " ".join(scopes)
    return str(token)


def _set_membership_claims(token: Token, membership: Membership) -> None:
    token["tenant_id"] = membership.tenant_id
    token["scope"] = " ".join(membership.scopes)


def refresh_token_for(membership: Membership) -> RefreshToken:
    """A user's refresh token, with the tenant and scopes of the user's membership at login."""
    refresh = RefreshToken.for_user(membership.user)
    _set_membership_claims(refresh, membership)
    return refresh


def access_token_from_refresh(refresh: RefreshToken) -> AccessToken:
    """A new access token for a refresh token's user, with the tenant and scopes of the user's membership now (a
    role changed since the login applies at once); AuthenticationFailed when the user is gone, inactive or in no
    tenant."""
    membership = (
        Membership.objects.select_related("user")
        .filter(user_id=refresh.get(api_settings.USER_ID_CLAIM), user__is_active=True)
        .first()
    )
    if membership is None:
        raise AuthenticationFailed("This refresh token's user has no active account in a tenant.", "no_active_account")
    access = refresh.access_token
    _set_membership_claims(access, membership)
    return access
