from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from playback.api.serializers import check_range
from tenants.api.fields import BoundedDateTimeField
from tenants.models import Share

DEFAULT_LIFETIME = timedelta(hours=24)
LONGEST_LIFETIME = timedelta(days=7)


class ShareCreateSerializer(serializers.Serializer):
    """POST /v2/api/shares body: a recorded clip (start, end) or live; the view checks the camera and the
    recording."""

    camera_id = serializers.CharField(max_length=64)
    live = serializers.BooleanField(required=False, default=False, help_text="Share the live view (no start, end)")
    start = BoundedDateTimeField(required=False, allow_null=True, help_text="ISO-8601; a clip's start")
    end = BoundedDateTimeField(
        required=False,
        allow_null=True,
        help_text="ISO-8601, later than start, at most the plan's max_export_seconds after it",
    )
    expires = BoundedDateTimeField(
        required=False, help_text="ISO-8601, in the future, at most 7 days from now (default: 24 hours from now)"
    )
    password = serializers.CharField(
        required=False, min_length=4, max_length=128, trim_whitespace=False, write_only=True
    )

    def validate_expires(self, expires):
        now = timezone.now()
        if expires <= now:
            raise serializers.ValidationError("Must be in the future.")
        if expires > now + LONGEST_LIFETIME:
            raise serializers.ValidationError("Must be at most 7 days from now.")
        return expires

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("expires", timezone.now() + DEFAULT_LIFETIME)
        ranged = [name for name in ("start", "end") if attrs.get(name) is not None]
        if attrs["live"]:
            if ranged:
                raise serializers.ValidationError({ranged[0]: ["A live share has no start or end."]})
            return attrs
        if len(ranged) < 2:
            message = 'Required for a clip (a live share sends "live": true).'
            raise serializers.ValidationError({name: [message] for name in ("start", "end") if name not in ranged})
        check_range(attrs, self.context["tenant"], "A shared clip")
        return attrs


class ShareSerializer(serializers.Serializer):
    """A share as the API lists it: its link's key is never shown again after it is made."""

    id = serializers.IntegerField()
    camera_id = serializers.CharField()
    live = serializers.BooleanField()
    start = serializers.DateTimeField(allow_null=True)
    end = serializers.DateTimeField(allow_null=True)
    expires = serializers.DateTimeField()
    password = serializers.BooleanField(help_text="Whether the link asks for a password")
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(help_text="The audit trail's actor who made it")
    revoked_at = serializers.DateTimeField(allow_null=True)


class ShareCreatedSerializer(ShareSerializer):
    """A share just made, with its link: the only time the link's key is shown."""

    url = serializers.CharField(help_text="The link (absolute); shown only in this answer")


def share_json(share: Share) -> dict:
    return {
        "id": share.pk,
        "camera_id": share.camera_id,
        "live": share.live,
        "start": share.start and share.start.isoformat(),
        "end": share.end and share.end.isoformat(),
        "expires": share.expires.isoformat(),
        "password": bool(share.password),
        "created_at": share.created_at.isoformat(),
        "created_by": share.created_by,
        "revoked_at": share.revoked_at and share.revoked_at.isoformat(),
    }
