"""Base classes that make every tenant API declarative: scoping, auth and errors live here."""

from collections.abc import Callable

from django.db.models import Model, QuerySet
from django.utils.http import urlencode
from rest_framework import mixins, viewsets
from rest_framework.response import Response


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


def keyset_page(request, page: list[dict], limit: int) -> Response:
    """A list page as the API answers it: a JSON array, and when it is full a `Link: <...>; rel="next"` whose
    `before` is the id of its last item."""
    headers = {}
    if len(page) == limit:
        next_query = {**request.query_params.dict(), "before": page[-1]["id"]}
        headers["Link"] = f'<{request.path}?{urlencode(next_query)}>; rel="next"'
    return Response(page, headers=headers)


def newest_first_page(request, rows: QuerySet, params: dict, present: Callable[[Model], dict]) -> Response:
    """keyset_page of `rows` newest first by id, each shown by `present`: `params` (validated) hold `limit` and
    maybe `before`, an id."""
    rows = rows.order_by("-id")
    if "before" in params:
        rows = rows.filter(pk__lt=params["before"])
    return keyset_page(request, [present(row) for row in rows[: params["limit"]]], params["limit"])
