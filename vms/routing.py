"""WebSocket URL routes; each app appends its consumers here."""

websocket_urlpatterns: list = []
