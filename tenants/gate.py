"""The one tenant gate: every protocol (REST, Kalay GraphQL, HLS, WebSocket, admin) turns its caller into a
`TenantPrincipal`, asks it for a scope with `principal.require(SCOPE)`, and starts every query from
`Model.objects.for_principal(principal)`, so another tenant's row is never found (NetBox's `restrict()`).
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

    is_authenticated = True
    is_active = True

    @property
    def tenant_id(self) -> str | None:
        return self.tenant.pk if self.tenant is not None else None

    def has(self, scope: str) -> bool:
        return self.sees_all or scope in self.scopes

    def require(self, *any_of: str) -> TenantPrincipal:
        """Return self when the principal has one of `any_of`; raise MissingScope otherwise."""
        if not any(self.has(scope) for scope in any_of):
            raise MissingScope(*any_of)
        return self


class TenantQuerySet(models.QuerySet):
    """A queryset that can be confined to a principal's tenant. A model names the lookup that leads to its
    tenant's primary key in `tenant_lookup` (default `tenant_id`)."""

    def for_principal(self, principal: TenantPrincipal) -> TenantQuerySet:
        if principal.sees_all:
            return self
        if principal.tenant_id is None:
            return self.none()
        return self.filter(**{getattr(self.model, "tenant_lookup", "tenant_id"): principal.tenant_id})
