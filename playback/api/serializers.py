from rest_framework import serializers


class TimelineQuerySerializer(serializers.Serializer):
    camera_id = serializers.CharField(max_length=64)
    date = serializers.DateField(input_formats=["%Y-%m-%d"], help_text="YYYY-MM-DD (UTC)")


class TimelineHourSerializer(serializers.Serializer):
    hour = serializers.IntegerField(help_text="0-23 (UTC)")
    seconds = serializers.FloatField(help_text="seconds of recording in this hour")
    segments = serializers.IntegerField()
    playlist_url = serializers.CharField(help_text="signed /v2/hls/.../index.m3u8, playable as is")


class TimelineSerializer(serializers.Serializer):
    camera_id = serializers.CharField()
    date = serializers.DateField()
    hours = TimelineHourSerializer(many=True)
