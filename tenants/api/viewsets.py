"""Base classes that make every tenant API declarative: scoping, auth and errors live here."""

from rest_framework import mixins, viewsets


class TenantScopedMixin:
    """Querysets always start from the token's tenant, so another tenant's row is a 404.

    Subclasses set `queryset` (unfiltered) and `scope_resource` (e.g. "cameras").
    """

    scope_resource: str

    def get_queryset(self):
        return super().get_queryset().for_principal(self.request.user)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request is not None and self.request.user is not None:
            context["tenant"] = self.request.user.tenant
        return context


class TenantModelViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List/create/retrieve/PATCH/delete within the token's tenant (no PUT: the contract is PATCH)."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
