"""GET /v2/api/reports/activity: how many events each camera had of each type, per hour or day, from one SQL
aggregate through the tenant gate (so a camera-limited token counts only its cameras); as JSON, or the same rows as
CSV (`Accept: text/csv` or `?format=csv`)."""

import csv
import io
from datetime import UTC

from django.db.models import Count
from django.db.models.functions import Trunc
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from events.models import Event
from tenants.api.audit import CSV_TYPE, CsvDownload, wants_csv
from tenants.api.openapi import errors
from tenants.catalogue import EVENTS_READ

from .serializers import ActivityQuerySerializer, ActivityRowSerializer

COLUMNS = ("bucket", "camera_id", "type", "count")


def activity(principal, params: dict) -> list[dict]:
    """The rows of the report `params` (validated) ask for, oldest bucket first."""
    events = Event.objects.for_principal(principal).filter(ts__gte=params["from"], ts__lt=params["to"])
    for name in ("camera_id", "type"):
        if name in params:
            events = events.filter(**{name: params[name]})
    return list(
        events.values("camera_id", "type", bucket=Trunc("ts", params["bucket"], tzinfo=UTC))
        .annotate(count=Count("id"))
        .order_by("bucket", "camera_id", "type")
    )


def csv_text(rows: list[dict]) -> str:
    # Every cell is a time, a camera id (starts with a letter or digit), a catalogue type or a number: none can
    # start a spreadsheet formula.
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class ActivityView(CsvDownload, APIView):
    """Events per bucket, camera and type (events:read): what the console's Reports screen draws."""

    required_scope = EVENTS_READ

    @extend_schema(
        parameters=[
            ActivityQuerySerializer,
            OpenApiParameter("format", str, enum=["csv"], required=False, description="csv: the same rows as CSV"),
        ],
        responses={
            (200, "application/json"): ActivityRowSerializer(many=True),
            (200, CSV_TYPE): OpenApiResponse(OpenApiTypes.STR, description="The same rows, header row first"),
            **errors(400),
        },
    )
    def get(self, request):
        query = ActivityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = ActivityRowSerializer(activity(request.user, query.validated_data), many=True).data
        if not wants_csv(request):
            return Response(rows)
        response = HttpResponse(csv_text(rows), content_type=f"{CSV_TYPE}; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="activity.csv"'
        return response
