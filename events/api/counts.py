"""GET /v2/api/cameras/{id}/counts?date=YYYY-MM-DD: a camera's line crossings per line, hour and label (it reads
events, so it lives here; its URL stays with the cameras API)."""

from datetime import UTC, datetime, timedelta

from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.functions import ExtractHour
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cameras.models import Camera
from playback.api.views import get_or_404
from tenants.api.fields import BoundedDateField
from tenants.api.openapi import errors
from tenants.catalogue import EVENTS_READ

from ..models import Event

LINE_CROSSING = "line_crossing"
# A crossing from a to b counts in, from b to a out.
SIDES = {"a_to_b": "in", "b_to_a": "out"}


class CountsQuerySerializer(serializers.Serializer):
    date = BoundedDateField(input_formats=["%Y-%m-%d"], help_text="YYYY-MM-DD (UTC)")


# "in" is a Python keyword, so these two are built with their fields by name.
InOutSerializer = type(
    "InOutSerializer",
    (serializers.Serializer,),
    {
        "in": serializers.IntegerField(help_text="crossings from a to b"),
        "out": serializers.IntegerField(help_text="crossings from b to a"),
    },
)
HourCountSerializer = type(
    "HourCountSerializer",
    (InOutSerializer,),
    {
        "hour": serializers.IntegerField(min_value=0, max_value=23, help_text="UTC"),
        "labels": serializers.DictField(child=InOutSerializer(), help_text="The same counts per label"),
    },
)


class CountsSerializer(serializers.Serializer):
    camera_id = serializers.CharField()
    date = serializers.DateField()
    lines = serializers.DictField(
        child=HourCountSerializer(many=True),
        help_text="Per line (the camera's lines, and any other line with crossings that day): the hours with "
        "crossings, in order",
    )


class LineCountsView(APIView):
    required_scope = EVENTS_READ

    @extend_schema(parameters=[CountsQuerySerializer], responses={200: CountsSerializer, **errors(400, 404)})
    def get(self, request, id: str):
        query = CountsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data["date"]
        camera = get_or_404(Camera.objects.for_principal(request.user).only("id", "slug", "lines"), slug=id)
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        rows = (
            Event.objects.for_principal(request.user)
            .filter(camera_id=camera.slug, type=LINE_CROSSING, ts__gte=start, ts__lt=start + timedelta(days=1))
            .values(
                hour=ExtractHour("ts", tzinfo=UTC),
                line=KT("payload__line"),
                direction=KT("payload__direction"),
                label=KT("payload__label"),
            )
            .annotate(crossings=Count("id"))
            .order_by()
        )
        lines: dict[str, dict[int, dict]] = {shape["name"]: {} for shape in camera.lines}
        for row in rows:
            side = SIDES.get(row["direction"])
            if side is None or row["line"] is None:  # an ingested event without a line or a direction
                continue
            hour = lines.setdefault(row["line"], {}).setdefault(
                row["hour"], {"hour": row["hour"], "in": 0, "out": 0, "labels": {}}
            )
            hour[side] += row["crossings"]
            label = hour["labels"].setdefault(row["label"] or "", {"in": 0, "out": 0})
            label[side] += row["crossings"]
        body = {
            "camera_id": camera.slug,
            "date": day,
            "lines": {line: [hours[h] for h in sorted(hours)] for line, hours in lines.items()},
        }
        return Response(CountsSerializer(body).data)
