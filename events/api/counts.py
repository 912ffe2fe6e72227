"""GET /v2/api/cameras/{id}/counts: a camera's line crossings per line and label, per hour of one day (`date=`) or
per day of a range of days (`from=`, `to=`, both inclusive) (it reads events, so it lives here; its URL stays with the
cameras API)."""

from datetime import UTC, datetime, timedelta

from django.db.models import Count
from django.db.models.fields.json import KT
from django.db.models.functions import ExtractHour, TruncDate
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
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


# Days a range may span, both ends included: a quarter.
MAX_RANGE_DAYS = 92


def _day_field(help_text: str) -> BoundedDateField:
    return BoundedDateField(required=False, input_formats=["%Y-%m-%d"], help_text=help_text)


class _DayOrRange(serializers.Serializer):
    def validate(self, attrs: dict) -> dict:
        ranged = "from" in attrs or "to" in attrs
        if "date" in attrs and ranged:
            raise serializers.ValidationError({"date": ["Give either date, or from and to."]})
        if not ranged:
            if "date" not in attrs:
                raise serializers.ValidationError({"date": ["This field is required (or from and to)."]})
            return attrs
        for name, other in (("from", "to"), ("to", "from")):
            if name not in attrs:
                raise serializers.ValidationError({name: [f"This field is required with {other}."]})
        days = (attrs["to"] - attrs["from"]).days + 1
        if days < 1:
            raise serializers.ValidationError({"to": ["Must be from or a later day."]})
        if days > MAX_RANGE_DAYS:
            raise serializers.ValidationError({"to": [f"At most {MAX_RANGE_DAYS} days, both ends included."]})
        return attrs


# "from" is a Python keyword, so this one is built with its fields by name.
CountsQuerySerializer = type(
    "CountsQuerySerializer",
    (_DayOrRange,),
    {
        "date": _day_field("YYYY-MM-DD (UTC): that day's counts per hour"),
        "from": _day_field(f"YYYY-MM-DD (UTC), with to: counts per day, at most {MAX_RANGE_DAYS} days"),
        "to": _day_field("YYYY-MM-DD (UTC), included"),
    },
)


# "in" is a Python keyword, so these two are built with their fields by name.
InOutSerializer = type(
    "InOutSerializer",
    (serializers.Serializer,),
    {
        "in": serializers.IntegerField(help_text="crossings from a to b"),
        "out": serializers.IntegerField(help_text="crossings from b to a"),
    },
)
LABELS = serializers.DictField(child=InOutSerializer(), help_text="The same counts per label")
HourCountSerializer = type(
    "HourCountSerializer",
    (InOutSerializer,),
    {"hour": serializers.IntegerField(min_value=0, max_value=23, help_text="UTC"), "labels": LABELS},
)
DayCountSerializer = type(
    "DayCountSerializer", (InOutSerializer,), {"date": serializers.DateField(help_text="UTC"), "labels": LABELS}
)


class CountsSerializer(serializers.Serializer):
    camera_id = serializers.CharField()
    date = serializers.DateField()
    lines = serializers.DictField(
        child=HourCountSerializer(many=True),
        help_text="Per line (the camera's lines, and any other line with crossings that day): the hours with "
        "crossings, in order",
    )


RangeCountsSerializer = type(
    "RangeCountsSerializer",
    (serializers.Serializer,),
    {
        "camera_id": serializers.CharField(),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "lines": serializers.DictField(
            child=DayCountSerializer(many=True),
            help_text="Per line (the camera's lines, and any other line with crossings in the range): the days with "
            "crossings, in order",
        ),
    },
)


def tally(camera: Camera, rows, period: str) -> dict[str, list[dict]]:
    """Crossings `rows` (per `period`, line, direction and label) as each line's periods with crossings, in order:
    {line: [{period: ..., "in", "out", "labels": {label: {"in", "out"}}}]}."""
    lines: dict[str, dict] = {shape["name"]: {} for shape in camera.lines}
    for row in rows:
        side = SIDES.get(row["direction"])
        if side is None or row["line"] is None:  # an ingested event without a line or a direction
            continue
        key = row[period]
        counts = lines.setdefault(row["line"], {}).setdefault(key, {period: key, "in": 0, "out": 0, "labels": {}})
        counts[side] += row["crossings"]
        label = counts["labels"].setdefault(row["label"] or "", {"in": 0, "out": 0})
        label[side] += row["crossings"]
    return {line: [periods[key] for key in sorted(periods)] for line, periods in lines.items()}


class LineCountsView(APIView):
    required_scope = EVENTS_READ

    @extend_schema(
        parameters=[CountsQuerySerializer],
        responses={200: PolymorphicProxySerializer("LineCounts", [CountsSerializer, RangeCountsSerializer], None),
                   **errors(400, 404)},
    )  # fmt: skip
    def get(self, request, id: str):
        query = CountsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        camera = get_or_404(Camera.objects.for_principal(request.user).only("id", "slug", "lines"), slug=id)
        first, last = (params["date"], params["date"]) if "date" in params else (params["from"], params["to"])
        start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        end = datetime.combine(last, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
        period = "hour" if "date" in params else "date"
        per = ExtractHour("ts", tzinfo=UTC) if period == "hour" else TruncDate("ts", tzinfo=UTC)
        rows = (
            Event.objects.for_principal(request.user)
            .filter(camera_id=camera.slug, type=LINE_CROSSING, ts__gte=start, ts__lt=end)
            .values(
                **{period: per},
                line=KT("payload__line"),
                direction=KT("payload__direction"),
                label=KT("payload__label"),
            )
            .annotate(crossings=Count("id"))
            .order_by()
        )
        lines = tally(camera, rows, period)
        if period == "date":
            body = {"camera_id": camera.slug, "from": first, "to": last, "lines": lines}
            return Response(RangeCountsSerializer(body).data)
        return Response(CountsSerializer({"camera_id": camera.slug, "date": first, "lines": lines}).data)
