"""A share link's key, its row, and the principal its viewer is.

The key is the link's only secret: it is shown once, when the share is made, and only its SHA-256 is kept, so the
table does not hold working links. Whoever holds the key (and the share's password, when it has one) gets a share
token (tenants.tokens.issue_share_token) for what the share shows, and nothing else.
"""

import hashlib
import math
import secrets

from django.utils import timezone

from tenants.catalogue import SHARE_CLIP, SHARE_LIVE
from tenants.gate import TenantPrincipal
from tenants.models import Share
from tenants.throttles import LoginThrottle

# The characters of secrets.token_urlsafe, bounded: a path part that cannot be a key is no lookup.
KEY_PATTERN = r"[A-Za-z0-9_-]{1,100}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh link key and the hash that is stored."""
    key = secrets.token_urlsafe(32)
    return key, key_hash(key)


def page_path(key: str) -> str:
    return f"/v2/s/{key}"


def by_key(key: str) -> Share | None:
    """The share a link's key opens. Not through the gate: the key is the credential, as a token is for auth."""
    return Share.objects.select_related("tenant").filter(key_hash=key_hash(key)).first()


def viewer(share: Share) -> TenantPrincipal:
    """The principal a share's viewer is, as its token makes it (tenants.auth), for the page that issues the token."""
    scope = SHARE_LIVE if share.live else SHARE_CLIP
    return TenantPrincipal(
        tenant=share.tenant, scopes=frozenset({scope}), cameras=frozenset({share.camera_id}), share_id=share.pk
    )


def seconds_left(share: Share) -> int:
    """Whole seconds until the share expires (at least 1), for what must not outlive it."""
    return max(1, math.floor((share.expires - timezone.now()).total_seconds()))


class SharePasswordThrottle(LoginThrottle):
    """Failed password tries per share and client address: a link's password gets one account's budget
    (VMS_LOGIN_RATE_PER_USER), counted per address so no one elsewhere can lock its viewers out."""

    scope = "share-password"
    rate_setting = "VMS_LOGIN_RATE_PER_USER"

    def __init__(self, share_id: int) -> None:
        super().__init__()
        self.share_id = share_id

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": f"{self.share_id}-{self.get_ident(request)}"}
