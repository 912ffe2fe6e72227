"""JWTs that carry the tenant and the scopes; every API authenticates with them."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from .catalogue import PLATFORM_SCOPES, SCOPES, SHARE_CLIP, SHARE_LIVE
from .models import Membership, Share, Tenant


def parse_scopes(text: str) -> tuple[str, ...]:
    """Split a space- or comma-separated scope list; unknown names raise ValueError."""
    scopes = tuple(dict.fromkeys(text.replace(",", " ").split()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)} (known: {' '.join(SCOPES)})")
    return scopes


CAMERAS_CLAIM = "cameras"
SHARE_CLAIM = "share"


def _access_token(tenant_id: str, scopes: tuple[str, ...], ttl: timedelta, cameras: tuple[str, ...]) -> AccessToken:
    token = AccessToken()
    token.set_exp(lifetime=ttl)
    token["tenant_id"] = tenant_id
    token["scope"] = " ".join(scopes)
    if cameras:
        token[CAMERAS_CLAIM] = list(cameras)
    return token


def issue_access_token(tenant: Tenant, scopes: tuple[str, ...], ttl: timedelta, cameras: tuple[str, ...] = ()) -> str:
    """A token for a system integration: no user, only a tenant and scopes, and maybe the only cameras it sees."""
    return str(_access_token(tenant.id, scopes, ttl, cameras))


def issue_share_token(share: Share) -> str:
    """The token a share link's page plays with: its one camera, only what the share shows (SHARE_LIVE or
    SHARE_CLIP), until the share expires; a revoked share's token is refused (tenants.auth)."""
    scope = SHARE_LIVE if share.live else SHARE_CLIP
    token = _access_token(share.tenant_id, (scope,), share.expires - datetime.now(UTC), (share.camera_id,))
    token[SHARE_CLAIM] = share.pk
    return str(token)


PLATFORM_CLAIM = "platform"


def issue_platform_token(ttl: timedelta) -> str:
    """A token for platform staff: no tenant, only the platform's scopes (the nodes API)."""
    token = AccessToken()
    token.set_exp(lifetime=ttl)
    token[PLATFORM_CLAIM] = True
    token["scope"] = " ".join(PLATFORM_SCOPES)
    return str(token)


AUTH_HASH_CLAIM = "auth_hash"


class UserRefreshToken(RefreshToken):
    """A user's refresh token. Its `auth_hash` is checked only by a refresh, and stays out of the access tokens
    made from it (they travel in URLs: HLS, WebSocket)."""

    no_copy_claims = (*RefreshToken.no_copy_claims, AUTH_HASH_CLAIM)


def _auth_hash(user: AbstractBaseUser) -> str:
    # A keyed digest of the password hash, never the hash itself: it changes with the password, so a password
    # change ends every refresh token issued before it, as Django's session auth hash ends the sessions.
    return salted_hmac("tenants.tokens.auth_hash", user.password, algorithm="sha256").hexdigest()[:16]


USERNAME_CLAIM = "username"


def _set_membership_claims(token: Token, membership: Membership) -> None:
    token["tenant_id"] = membership.tenant_id
    token["scope"] = " ".join(membership.scopes)
    # A refresh copies its claims into each access token: a limit lifted since the login is taken out.
    token.payload.pop(CAMERAS_CLAIM, None)
    if membership.cameras:
        token[CAMERAS_CLAIM] = list(membership.cameras)
    # Names the user in the audit trail without a query per audited request (tenants.audit.actor_of).
    token[USERNAME_CLAIM] = membership.user.get_username()


def refresh_token_for(membership: Membership) -> UserRefreshToken:
    """A user's refresh token, with the tenant and scopes of the user's membership at login."""
    refresh = UserRefreshToken.for_user(membership.user)
    refresh[AUTH_HASH_CLAIM] = _auth_hash(membership.user)
    _set_membership_claims(refresh, membership)
    return refresh


def refresh_token_user(raw: object) -> str | None:
    """The user id of a valid refresh token (signature, type and expiry checked), None for anything else."""
    if not isinstance(raw, str):
        return None
    try:
        return str(UserRefreshToken(raw)[api_settings.USER_ID_CLAIM])
    except (TokenError, KeyError):
        return None


def access_token_from_refresh(refresh: UserRefreshToken) -> AccessToken:
    """A new access token for a refresh token's user, with the tenant and scopes of the user's membership now (a
    role changed since the login applies at once); AuthenticationFailed when the user is gone, inactive or in no
    tenant, or has changed password since the token was issued."""
    membership = (
        Membership.objects.select_related("user")
        .filter(user_id=refresh.get(api_settings.USER_ID_CLAIM), user__is_active=True)
        .first()
    )
    if membership is None:
        raise AuthenticationFailed("This refresh token's user has no active account in a tenant.", "no_active_account")
    if not constant_time_compare(str(refresh.get(AUTH_HASH_CLAIM, "")), _auth_hash(membership.user)):
        message = "This refresh token was issued before the user's password changed: log in again."
        raise AuthenticationFailed(message, "password_changed")
    access = refresh.access_token
    _set_membership_claims(access, membership)
    return access
