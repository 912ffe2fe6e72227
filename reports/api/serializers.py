"""GET /v2/api/reports/activity: its parameters (a bounded range of ISO-8601 times, a bucket size, optional
camera and type) and its rows."""

from datetime import timedelta

from rest_framework import serializers

from events.catalogue import EVENT_CATEGORIES
from tenants.api.fields import BoundedDateTimeField

# The longest range each bucket size answers: about a month of hours, a leap year of days, so one report is at most
# ~750 buckets per camera and type.
MAX_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=366)}


class _BucketedRange(serializers.Serializer):
    def validate(self, attrs: dict) -> dict:
        start, end, bucket = attrs["from"], attrs["to"], attrs["bucket"]
        if end <= start:
            raise serializers.ValidationError({"to": ["Must be later than from."]})
        if end - start > MAX_RANGE[bucket]:
            days = MAX_RANGE[bucket].days
            raise serializers.ValidationError({"to": [f"At most {days} days after from with bucket={bucket}."]})
        return attrs


# "from" is a Python keyword, so this one is built with its fields by name.
ActivityQuerySerializer = type(
    "ActivityQuerySerializer",
    (_BucketedRange,),
    {
        "from": BoundedDateTimeField(help_text="ISO-8601 (a bare date is its midnight UTC); events at or after it"),
        "to": BoundedDateTimeField(help_text="ISO-8601; events before it (later than from)"),
        "bucket": serializers.ChoiceField(
            choices=list(MAX_RANGE), default="day", help_text="Bucket size, in UTC: hour (≤ 31 days), day (≤ 366)"
        ),
        "camera_id": serializers.CharField(required=False, max_length=64),
        "type": serializers.ChoiceField(choices=list(EVENT_CATEGORIES), required=False),
    },
)


class ActivityRowSerializer(serializers.Serializer):
    bucket = serializers.DateTimeField(help_text="The bucket's start (UTC)")
    camera_id = serializers.CharField()
    type = serializers.CharField()
    count = serializers.IntegerField(help_text="The camera's events of this type in the bucket (empty buckets are "
                                     "left out)")  # fmt: skip
