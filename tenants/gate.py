"""The one tenant gate: every protocol (REST, Kalay GraphQL, HLS, WebSocket, admin) turns its caller into a
`TenantPrincipal`, asks it for a scope with `principal.require(SCOPE)`, and starts every query from
`Model.objects.for_principal(principal)`, so another tenant's row is never found (NetBox's `restrict()`).

A principal may be limited to some of its tenant's cameras (a membership's, an API token's, a share link's): the
gate applies that too, so another camera's row is never found either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from .models import Tenant


class MissingScope(Exception):
    """The caller is known but its token lacks the scope an action needs (403 at every edge)."""

    def __init__(self, *any_of: str) -> None:
        super().__init__(f"This token lacks the '{' or '.join(any_of)}' scope.")


class CameraLimited(Exception):
    """The caller sees only some cameras, and asked for what spans all of them (403 at every edge)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"This token sees only some of the tenant's cameras: it cannot {action}.")


@dataclass(frozen=True)
class TenantPrincipal:
    """Who is calling: a tenant and the token's scopes (and, for a user's token, the user and the token's expiry).

    `sees_all` is only ever set for a platform superuser in the Django admin. An API token has a tenant, except a
    platform token (tenant None, only the platform's scopes): it finds no tenant's rows and passes no tenant scope.
    """

    tenant: Tenant | None
    scopes: frozenset[str]
    user_id: int | None = None
    username: str | None = None  # the token's, when it names one (tokens issued before it did do not)
    expires_at: int | None = None  # the token's `exp` (epoch seconds)
    sees_all: bool = False
    # The only cameras (API ids) it may see; None: every camera of its tenant.
    cameras: frozenset[str] | None = None
    share_id: int | None = None  # a share link's token: the link, not a user or an integration, is the viewer

    is_authenticated = True
    is_active = True

    @property
    def tenant_id(self) -> str | None:
        return self.tenant.pk if self.tenant is not None else None

    def has(self, scope: str) -> bool:
        return self.sees_all or scope in self.scopes

    def sees_camera(self, camera_id: str) -> bool:
        """Whether a camera of its tenant (by API id) is one it may see."""
        return self.sees_all or self.cameras is None or camera_id in self.cameras

    def require_every_camera(self, action: str) -> TenantPrincipal:
        """Return self when the principal sees every camera of its tenant; raise CameraLimited(action) otherwise."""
        if self.cameras is not None and not self.sees_all:
            raise CameraLimited(action)
        return self

    def require(self, *any_of: str) -> TenantPrincipal:
        """Return self when the principal has one of `any_of`; raise MissingScope otherwise."""
        if not any(self.has(scope) for scope in any_of):
            raise MissingScope(*any_of)
        return self


class TenantQuerySet(models.QuerySet):
    """A queryset that can be confined to a principal's tenant and cameras. A model names the lookup that leads to
    its tenant's primary key in `tenant_lookup` (default `tenant_id`), and the one that leads to its camera's API id
    in `camera_lookup`; a model without one holds what belongs to the tenant as a whole (its plan, members, webhooks,
    usage), which a principal limited to some cameras does not see."""

    def for_principal(self, principal: TenantPrincipal) -> TenantQuerySet:
        if principal.sees_all:
            return self
        if principal.tenant_id is None:
            return self.none()
        rows = self.filter(**{getattr(self.model, "tenant_lookup", "tenant_id"): principal.tenant_id})
        return rows if principal.cameras is None else rows.of_cameras(principal.cameras)

    def of_cameras(self, cameras: frozenset[str]) -> TenantQuerySet:
        """The rows that concern only `cameras` (API ids)."""
        lookup = getattr(self.model, "camera_lookup", None)
        return self.filter(**{f"{lookup}__in": sorted(cameras)}) if lookup else self.none()
