from rest_framework import serializers

from tenants.api.fields import BoundedDateField, BoundedDateTimeField

from ..playlists import GAP_TOLERANCE
from ..signing import signed_url


class TimelineQuerySerializer(serializers.Serializer):
    camera_id = serializers.CharField(max_length=64)
    date = BoundedDateField(input_formats=["%Y-%m-%d"], help_text="YYYY-MM-DD (UTC)")


class TimelineHourSerializer(serializers.Serializer):
    hour = serializers.IntegerField(help_text="0-23 (UTC)")
    seconds = serializers.FloatField(help_text="seconds of recording in this hour")
    segments = serializers.IntegerField()
    playlist_url = serializers.CharField(help_text="signed /v2/hls/.../index.m3u8, playable as is")


class TimelineSpanSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class TimelineSerializer(serializers.Serializer):
    camera_id = serializers.CharField()
    date = serializers.DateField()
    hours = TimelineHourSerializer(many=True)
    spans = TimelineSpanSerializer(
        many=True,
        help_text=f"Recorded spans, oldest first, clipped to the day; a gap of more than {GAP_TOLERANCE:g} s between "
        "segments separates two",
    )


def check_range(attrs: dict, tenant, noun: str) -> None:
    """A range of recording to hand out (an export, a share's clip): `end` after `start`, and at most the plan's
    max_export_seconds long."""
    if attrs["end"] <= attrs["start"]:
        raise serializers.ValidationError({"end": ["Must be later than start."]})
    limit = tenant.max_export_seconds
    if (attrs["end"] - attrs["start"]).total_seconds() > limit:
        message = f"{noun} covers at most {limit} seconds (the plan's max_export_seconds)."
        raise serializers.ValidationError({"end": [message]})


class ExportCreateSerializer(serializers.Serializer):
    """POST /v2/api/exports body; the view checks the cameras, the plan's max_export_seconds and the recordings."""

    camera_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=16)
    start = BoundedDateTimeField(help_text="ISO-8601")
    end = BoundedDateTimeField(help_text="ISO-8601, later than start")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    legal_hold = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict) -> dict:
        check_range(attrs, self.context["tenant"], "An export")
        attrs["camera_ids"] = list(dict.fromkeys(attrs["camera_ids"]))
        return attrs


class ExportChangeSerializer(serializers.Serializer):
    legal_hold = serializers.BooleanField(help_text="A held export (and its source recordings) is never deleted")


class ExportGapSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class ExportFileSerializer(serializers.Serializer):
    camera_id = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="Signed, expiring download URL; null until the job is done")
    sha256 = serializers.CharField(allow_null=True)
    size = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    gaps = ExportGapSerializer(many=True, help_text="Time in the range without recording (not in the file)")
    progress = serializers.IntegerField()


class ExportSerializer(serializers.Serializer):
    """An export job, as the API returns it and the WebSocket pushes it."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    progress = serializers.IntegerField(help_text="0-100")
    error = serializers.CharField(allow_blank=True)
    legal_hold = serializers.BooleanField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    expires = serializers.DateTimeField(allow_null=True, help_text="When it is deleted; null while held")
    files = ExportFileSerializer(many=True)


def export_url(export_id: int, camera_slug: str) -> str:
    return f"/v2/exports/{export_id}/{camera_slug}.mp4"


def export_json(export) -> dict:
    """The job's JSON; files' URLs are signed for the export's tenant and exist only once the job is done."""
    done = export.state == "done"
    files = [
        {
            "camera_id": f.camera_slug,
            "url": signed_url(export_url(export.pk, f.camera_slug), export.tenant_id) if done and f.path else None,
            "sha256": f.sha256 or None,
            "size": f.size,
            "duration": f.duration,
            "gaps": f.gaps,
            "progress": f.progress,
        }
        for f in export.files.all()
    ]
    return {
        "id": export.pk,
        "name": export.name,
        "state": export.state,
        "progress": export.progress,
        "error": export.error,
        "legal_hold": export.legal_hold,
        "start": export.start.isoformat(),
        "end": export.end.isoformat(),
        "created_at": export.created_at.isoformat(),
        "expires": None if export.legal_hold else export.expires.isoformat(),
        "files": files,
    }
