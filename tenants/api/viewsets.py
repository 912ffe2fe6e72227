"""Base classes that make every tenant API declarative: scoping, auth and errors live here."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import IntegerField, Model, QuerySet, Subquery
from django.utils.http import urlencode
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import audit
from ..models import Tenant
from .fields import IdField


class TenantScopedMixin:
    """Querysets always start from the token's tenant, so another tenant's row is a 404.

    Subclasses set `queryset` (unfiltered) and `scope_resource` (e.g. "cameras").
    """

    scope_resource: str

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        queryset, key = getattr(cls, "queryset", None), getattr(cls, "lookup_field", "pk")
        if queryset is None or "lookup_value_regex" in vars(cls):
            return
        meta = queryset.model._meta
        if isinstance(meta.pk if key == "pk" else meta.get_field(key), IntegerField):
            # int() also reads other scripts' digits (fullwidth, Arabic-Indic), "+1", " 1" and "0_1": an integer key's
            # URL takes ASCII digits alone, so any other spelling of an id is not found rather than found.
            cls.lookup_value_regex = "[0-9]+"

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


class AuditedWrites:
    """A TenantModelViewSet's creates, updates and deletes recorded in the audit trail as
    `<audit_object_type>.create|update|delete`."""

    audit_object_type: str

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self.audit_write("create", serializer.instance.pk)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        self.audit_write("update", serializer.instance.pk)

    def perform_destroy(self, instance):
        object_id = instance.pk  # Django clears it on delete
        super().perform_destroy(instance)
        self.audit_write("delete", object_id)

    def audit_write(self, verb: str, object_id: int) -> None:
        kind = self.audit_object_type
        audit.record_request(self.request, f"{kind}.{verb}", object_type=kind, object_id=str(object_id))


class NewestFirstQuerySerializer(serializers.Serializer):
    """A newest-first list's parameters: `before` walks back page by page."""

    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=100)
    before = IdField(required=False, min_value=1, help_text="The last id of the page before")


class NewestFirstList:
    """A tenant viewset's list: newest first, paged by `before` as newest_first_page does, each row as
    `present_row` shows it (the viewset's serializer unless it says otherwise)."""

    def present_row(self, row: Model) -> dict:
        return self.get_serializer(row).data

    def list(self, request):
        query = NewestFirstQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return newest_first_page(request, self.get_queryset(), query.validated_data, self.present_row)


class LimitedPerTenant(serializers.ModelSerializer):
    """A tenant's objects of the serializer's model, at most `most_per_tenant` of them (another is a 400). A create
    takes the tenant row's lock, so concurrent creates cannot both take the last place."""

    most_per_tenant: int

    def check_room(self, tenant: Tenant) -> None:
        model = self.Meta.model
        if model.objects.filter(tenant=tenant).count() >= self.most_per_tenant:
            noun = model._meta.verbose_name_plural
            raise ValidationError(f"A tenant has at most {self.most_per_tenant} {noun}: delete one first.")

    def validate(self, attrs: dict) -> dict:
        if self.instance is None:
            self.check_room(self.context["tenant"])
        return attrs

    def create(self, validated_data: dict) -> Model:
        with transaction.atomic():
            tenant = Tenant.objects.select_for_update().get(pk=self.context["tenant"].pk)
            self.check_room(tenant)
            return super().create({**validated_data, "tenant": tenant})


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


def newest_first_by_ts_page(
    request, rows: QuerySet, scoped: QuerySet, params: dict, columns: tuple[str, ...], present: Callable, noun: str
) -> Response:
    """keyset_page of `rows` (ordered newest first by (ts, id)), each `present`ed from its `columns` (a named row):
    `params` (validated) hold `limit` and maybe `before`, the id of a row of `scoped` (the caller's tenant-scoped
    queryset); a `before` that is none of them is a 400 naming the `noun`."""
    if "before" in params:
        cursor = scoped.filter(pk=params["before"]).order_by()
        # (ts, id) < the cursor's, written so the (tenant, -ts, -id) indexes bound the scan by ts; its ts is read by a
        # subquery, so a page is one statement, and a cursor that is no row of the tenant matches nothing.
        cursor_ts = Subquery(cursor.values("ts"))
        rows = rows.filter(ts__lte=cursor_ts).exclude(ts=cursor_ts, id__gte=params["before"])
    page = [present(row) for row in rows.values_list(*columns, named=True)[: params["limit"]]]
    if not page and "before" in params and not cursor.exists():
        raise ValidationError({"before": [f"No {noun} '{params['before']}' in this tenant."]})
    return keyset_page(request, page, params["limit"])
