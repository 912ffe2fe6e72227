from rest_framework.permissions import SAFE_METHODS, BasePermission

from .gate import TenantPrincipal


class HasTenantScope(BasePermission):
    """Needs a tenant token with `<view.scope_resource>:read` (safe methods) or `:write`, through the gate's
    `principal.require` (a missing scope is a 403 naming it). A view may name another scope for all its methods
    with `required_scope`."""

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, TenantPrincipal):
            return False
        needed = getattr(view, "required_scope", None)
        if needed is None:
            action = "read" if request.method in SAFE_METHODS else "write"
            needed = f"{view.scope_resource}:{action}"
        principal.require(needed)
        return True
