from rest_framework import serializers

from ..playlists import GAP_TOLERANCE


class TimelineQuerySerializer(serializers.Serializer):
    camera_id = serializers.CharField(max_length=64)
    date = serializers.DateField(input_formats=["%Y-%m-%d"], help_text="YYYY-MM-DD (UTC)")


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
