"""Authentication of API requests by a tenant-scoped JWT (Bearer or JWT header)."""

from rest_framework.exceptions import APIException
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from .catalogue import PLATFORM_SCOPES, TENANT_WIDE_SCOPES
from .gate import TenantPrincipal
from .models import Share, Tenant
from .tokens import CAMERAS_CLAIM, PLATFORM_CLAIM, SHARE_CLAIM, USERNAME_CLAIM

# Every authenticated request reads its tenant's row (it must still exist, and its plan applies as it is now): this
# lookup by primary key, written out, takes half the time the ORM took to build and compile it on each request.
TENANT_BY_ID = f"SELECT * FROM {Tenant._meta.db_table} WHERE id = %s"


def principal_from_token(raw_token: str | bytes) -> TenantPrincipal:
    """Validate a raw JWT and resolve its tenant; raises InvalidToken when either fails.

    Shared by DRF, the WebSocket consumer, HLS links and the GraphQL API.
    """
    try:
        token = AccessToken(raw_token)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    scopes = frozenset(str(token.get("scope", "")).split())
    if token.get(PLATFORM_CLAIM) is True:
        # Platform staff: no tenant, so every tenant query is empty, and only the platform's scopes, so every tenant
        # API answers 403.
        return TenantPrincipal(tenant=None, scopes=scopes.intersection(PLATFORM_SCOPES), expires_at=token.get("exp"))
    tenant_id = token.get("tenant_id")
    if not tenant_id:
        raise InvalidToken("Token has no tenant_id claim.")
    tenant = next(iter(Tenant.objects.raw(TENANT_BY_ID, [str(tenant_id)])), None)
    if tenant is None:
        raise InvalidToken("Token's tenant does not exist.")
    share_id = token.get(SHARE_CLAIM)
    if share_id is not None and (ended := Share.ended(share_id)):
        raise InvalidToken(ended)
    scopes = scopes.difference(PLATFORM_SCOPES)  # never a tenant's, whatever its token says
    cameras = token.get(CAMERAS_CLAIM)
    if cameras is not None:
        cameras = frozenset(map(str, cameras))
        scopes = scopes.difference(TENANT_WIDE_SCOPES)
    return TenantPrincipal(
        tenant=tenant,
        scopes=scopes,
        user_id=token.get("user_id"),
        username=token.get(USERNAME_CLAIM),
        expires_at=token.get("exp"),
        cameras=cameras,
        share_id=share_id,
    )


def failure_message(exc: APIException) -> str:
    """The sentence an authentication failure says (simplejwt's InvalidToken keeps it in a dict with its code)."""
    detail = exc.detail
    return str(detail.get("detail", detail) if isinstance(detail, dict) else detail)


class TenantJWTAuthentication(JWTAuthentication):
    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            raise InvalidToken("Authorization header must be 'Bearer <token>' or 'JWT <token>'.")
        principal = principal_from_token(raw_token)
        return principal, principal
