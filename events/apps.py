from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        from .notify import relay  # noqa: F401  (its signal gives every new tenant its notification cursors)
