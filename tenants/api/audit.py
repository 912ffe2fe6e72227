"""GET /v2/api/audit: the tenant's audit trail (tenants.audit), newest first and keyset-paged like the events list,
or all of it that matches the filters as a CSV download (`Accept: text/csv` or `?format=csv`)."""

import csv
from collections.abc import Iterator

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .. import audit
from ..catalogue import AUDIT_READ
from ..models import AuditEntry
from .fields import BoundedDateTimeField, IdField
from .openapi import errors
from .viewsets import TenantScopedMixin, newest_first_by_ts_page

COLUMNS = ("id", "ts", "actor", "address", "action", "object_type", "object_id", "camera_id", "outcome",
           "prev_hash", "hash")  # fmt: skip
CSV_TYPE = "text/csv"
CSV_CHUNK = 2000
# A spreadsheet runs a cell that starts so as a formula; a login's username is whatever a client sent.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class AuditQuerySerializer(serializers.Serializer):
    """GET /v2/api/audit parameters; newest first, `before` walks back page by page (the CSV has every match)."""

    since = BoundedDateTimeField(required=False, help_text="ISO-8601; entries at or after it")
    until = BoundedDateTimeField(required=False, help_text="ISO-8601; entries before it (later than since)")
    actor = serializers.CharField(required=False, max_length=200, help_text="e.g. user:alice, token:api, system")
    action = serializers.CharField(required=False, max_length=64, help_text="e.g. auth.login, export.download")
    camera_id = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=100)
    before = IdField(
        required=False, min_value=1, help_text="Keyset cursor: the id of the last entry of the page before"
    )

    def validate(self, attrs: dict) -> dict:
        if "since" in attrs and "until" in attrs and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["Must be later than since."]})
        return attrs


# Only for the schema: entry_json makes an entry.
class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ts = serializers.DateTimeField()
    actor = serializers.CharField(help_text="user:<username>, staff:<username>, token:api, share:<id> or system")
    address = serializers.CharField(allow_blank=True, help_text="The client's address, where there was one")
    action = serializers.CharField(help_text="Dotted: auth.login, camera.update, export.download, … (see the README)")
    object_type = serializers.CharField(allow_blank=True)
    object_id = serializers.CharField(allow_blank=True)
    camera_id = serializers.CharField(allow_blank=True, help_text="The camera the object is or belongs to")
    outcome = serializers.CharField(help_text="ok, or why not (e.g. denied)")
    prev_hash = serializers.CharField(allow_blank=True, help_text="SHA-256 of the tenant's entry before this one")
    hash = serializers.CharField(help_text="SHA-256 of this entry's fields and prev_hash")


def entry_json(row) -> dict:
    return row._asdict()


def wants_csv(request) -> bool:
    if request.query_params.get("format") == "csv":
        return True
    return any(part.split(";")[0].strip() == CSV_TYPE for part in request.headers.get("Accept", "").split(","))


class CsvDownload:
    """A view whose GET also answers CSV (`?format=csv` or `Accept: text/csv`), written by the view itself; anything
    else on the way (an error) keeps the API's JSON. A `format` it has no renderer for is a 400 naming it (DRF's own
    answer is a 404, as if the resource did not exist)."""

    def perform_content_negotiation(self, request, force=False):
        if wants_csv(request):
            return JSONRenderer(), JSONRenderer.media_type
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            raise ValidationError({"format": ["Must be csv (JSON is the default)."]}) from None


def _csv_cell(value) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Lines:
    """csv.writer's file: hands each written line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(rows) -> Iterator[str]:
    writer = csv.writer(_Lines())
    yield writer.writerow(COLUMNS)
    for row in rows.values_list(*COLUMNS).iterator(chunk_size=CSV_CHUNK):
        yield writer.writerow([_csv_cell(value) for value in row])


class ChainStateSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField(allow_null=True, help_text="When the chain was last walked; null: not yet")
    entries = serializers.IntegerField(help_text="Entries walked")
    intact = serializers.BooleanField(allow_null=True, help_text="Every entry's hash and link held; null: not checked")
    broken_entry = serializers.IntegerField(allow_null=True, help_text="The first entry whose hash or link is wrong")
    problem = serializers.CharField(allow_blank=True, help_text="What is wrong with it")


NOT_CHECKED = {"checked_at": None, "entries": 0, "intact": None, "broken_entry": None, "problem": ""}


class AuditViewSet(CsvDownload, TenantScopedMixin, viewsets.GenericViewSet):
    """The tenant's audit trail: who signed in, issued tokens, changed cameras, watched, exported, … (audit:read)."""

    queryset = AuditEntry.objects.all()
    required_scope = AUDIT_READ

    @extend_schema(
        parameters=[
            AuditQuerySerializer,
            OpenApiParameter("format", str, enum=["csv"], required=False, description="csv: the CSV download"),
            OpenApiParameter(
                "Link", str, OpenApiParameter.HEADER, response=[200], description='<next page>; rel="next" (full pages)'
            ),
        ],
        responses={
            (200, "application/json"): AuditEntrySerializer(many=True),
            (200, CSV_TYPE): OpenApiResponse(OpenApiTypes.STR, description="Every match, newest first, header row"),
            **errors(400),
        },
    )
    def list(self, request):
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        entries = self.get_queryset().order_by("-ts", "-id")
        for name in ("actor", "action", "camera_id"):
            if name in params:
                entries = entries.filter(**{name: params[name]})
        if "since" in params:
            entries = entries.filter(ts__gte=params["since"])
        if "until" in params:
            entries = entries.filter(ts__lt=params["until"])
        if wants_csv(request):
            response = StreamingHttpResponse(csv_lines(entries), content_type=f"{CSV_TYPE}; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="audit-{request.user.tenant_id}.csv"'
            return response
        return newest_first_by_ts_page(request, entries, self.get_queryset(), params, COLUMNS, entry_json, "entry")

    @extend_schema(responses={200: ChainStateSerializer})
    def chain(self, request):
        """What the last hourly walk of the tenant's chain found (tenants.check_audit_chains)."""
        request.user.require_every_camera("read the state of the whole tenant's audit chain")
        return Response(audit.chain_state(request.user.tenant_id) or NOT_CHECKED)
