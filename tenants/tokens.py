"""JWTs that carry the tenant and the scopes; every API authenticates with them."""

from datetime import timedelta

from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

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


def refresh_token_for(membership: Membership) -> RefreshToken:
    """A user's refresh token; its access tokens inherit the tenant and scope claims."""
    refresh = RefreshToken.for_user(membership.user)
    refresh["tenant_id"] = membership.tenant_id
    refresh["scope"] = " ".join(membership.scopes)
    return refresh
