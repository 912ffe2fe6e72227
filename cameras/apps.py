from django.apps import AppConfig


class CamerasConfig(AppConfig):
    name = "cameras"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from .metrics import CameraCollector

        REGISTRY.register(CameraCollector())
