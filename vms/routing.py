"""WebSocket URL routes; each app appends its consumers here."""

from django.urls import path

from events.consumers import EventsConsumer
from live.consumers import LiveConsumer

websocket_urlpatterns: list = [
    path("v2/ws/events", EventsConsumer.as_asgi()),
    path("v2/ws/live/<str:camera>", LiveConsumer.as_asgi()),
]
