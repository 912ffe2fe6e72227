"""GET /v2/api/usage?from=YYYY-MM-DD&to=YYYY-MM-DD: what the token's tenant used on each UTC day of the range, from
the counts kept as the work is done (tenants.usage), for resellers to bill on."""

from datetime import date, timedelta

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..catalogue import CAMERAS_READ
from ..models import DailyUsage
from ..usage import COUNTERS, WHOLE_COUNTERS, camera_hours
from .openapi import errors

MAX_DAYS = 366


class _DayRange(serializers.Serializer):
    def validate(self, data: dict) -> dict:
        if data["from"] > data["to"]:
            raise serializers.ValidationError({"to": ["Must not be before `from`."]})
        if (data["to"] - data["from"]).days >= MAX_DAYS:
            raise serializers.ValidationError({"to": [f"The range may cover at most {MAX_DAYS} days."]})
        return data


# "from" is a Python keyword, so the query's serializer is built with its fields by name.
UsageQuerySerializer = type(
    "UsageQuerySerializer",
    (_DayRange,),
    {
        "from": serializers.DateField(input_formats=["%Y-%m-%d"], help_text="First day, YYYY-MM-DD (UTC)"),
        "to": serializers.DateField(
            input_formats=["%Y-%m-%d"], help_text=f"Last day, included; at most {MAX_DAYS} days from `from`"
        ),
    },
)


class UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    camera_hours = serializers.FloatField(help_text="Hours of recording made (to 3 decimals)")
    recording_bytes = serializers.IntegerField(help_text="Bytes of recording made")
    export_bytes = serializers.IntegerField(help_text="Bytes of the exports finished")
    snapshot_bytes = serializers.IntegerField(help_text="Bytes of the event snapshots written")
    events = serializers.IntegerField(help_text="Events stored (ingested, detected and camera health)")
    exports = serializers.IntegerField(help_text="Exports finished")
    deliveries = serializers.IntegerField(help_text="Webhook deliveries their receiver took (a 2xx answer), once each")


def _day_json(day: date, counts: dict) -> dict:
    return {
        "date": day,
        "camera_hours": camera_hours(counts.get("camera_seconds", 0)),
        **{name: counts.get(name, 0) for name in WHOLE_COUNTERS},
    }


class UsageView(APIView):
    """The tenant's usage per UTC day: every day of the range, a day without any use as zeros. A day's counts grow
    while work is done (a segment counts on the day it was recorded, the rest on the day it was done)."""

    required_scope = CAMERAS_READ

    @extend_schema(parameters=[UsageQuerySerializer], responses={200: UsageDaySerializer(many=True), **errors(400)})
    def get(self, request):
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        first, last = query.validated_data["from"], query.validated_data["to"]
        request.user.require_every_camera("read the usage of the whole tenant")
        rows = DailyUsage.objects.for_principal(request.user).filter(date__range=(first, last))
        counts = {row.pop("date"): row for row in rows.values("date", *COUNTERS)}
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return Response(UsageDaySerializer([_day_json(day, counts.get(day, {})) for day in days], many=True).data)
