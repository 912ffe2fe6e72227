"""WebSocket URL routes; each app appends its consumers here."""

from django.urls import path

from events.consumers import EventsConsumer

websocket_urlpatterns: list = [
    path("v2/ws/events", EventsConsumer.as_asgi()),
]
