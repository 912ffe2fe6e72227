from django.apps import AppConfig
from django.db.models.signals import post_delete


class PlaybackConfig(AppConfig):
    name = "playback"

    def ready(self) -> None:
        from cameras.models import Camera

        from .signals import camera_deleted

        post_delete.connect(camera_deleted, sender=Camera, dispatch_uid="playback.camera_deleted")
