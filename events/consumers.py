"""WS /v2/ws/events?token=<jwt>[&camera_id=<id>][&zone=<name>][&severity=alert|detection]: every new event of
the token's tenant (only those that match the filters given), as {"v":2,"data":{…}}; and the tenant's export jobs'
progress as {"type":"export","data":{…}}."""

import asyncio
import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework_simplejwt.exceptions import InvalidToken

from tenants.auth import principal_from_token
from tenants.catalogue import EVENTS_READ
from tenants.gate import MissingScope, TenantPrincipal
from tenants.groups import tenant_group

FILTERS = ("camera_id", "zone", "severity")


@database_sync_to_async
def _principal(raw_token: str) -> TenantPrincipal | None:
    try:
        return principal_from_token(raw_token).require(EVENTS_READ)
    except (InvalidToken, MissingScope):
        return None


def _json_type(text: str) -> str | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message.get("type") if isinstance(message, dict) else None


class EventsConsumer(AsyncJsonWebsocketConsumer):
    """Authenticates before accepting, joins `tenant.<id>`, forwards that group's events (optionally one camera's)."""

    group: str | None = None
    expiry: asyncio.Task | None = None

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        token = query.get("token", [""])[0]
        principal = await _principal(token) if token else None
        if principal is None:
            await self.close()  # before accept: the handshake is refused with HTTP 403
            return
        # An empty filter (`?zone=`) counts as absent, as in GET /v2/api/events.
        self.camera_id, self.zone, self.severity = (query.get(key, [""])[0] or None for key in FILTERS)
        self.group = tenant_group(principal.tenant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        if principal.expires_at is not None:
            self.expiry = asyncio.create_task(self._close_at(principal.expires_at))

    async def _close_at(self, expires_at: int) -> None:
        """Access ends with the token: the socket closes at its `exp` with 4401; the client reconnects with a new
        token (one whose scopes or tenant may have changed)."""
        await asyncio.sleep(expires_at - time.time())
        await self.close(code=4401)

    async def disconnect(self, code: int) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        """Keepalive: a client's "ping" (text or {"type":"ping"}) gets {"type":"pong"}; the rest is ignored."""
        if text_data is not None and (text_data.strip() == "ping" or _json_type(text_data) == "ping"):
            # channels-redis drops group members after group_expiry (a day); a pinging client stays in.
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send_json({"type": "pong"})

    def _wanted(self, event: dict) -> bool:
        zones = event["payload"].get("zones")  # a list, unless an ingesting client sent something else
        return (
            (self.camera_id is None or event["camera_id"] == self.camera_id)
            and (self.severity is None or event["severity"] == self.severity)
            and (self.zone is None or (isinstance(zones, list) and self.zone in zones))
        )

    async def export_progress(self, message: dict) -> None:
        """An export job of the tenant changed (state, progress): {"type": "export", "data": <job>}."""
        await self.send_json({"type": "export", "data": message["export"]})

    async def events_created(self, message: dict) -> None:
        for event in message["events"]:
            if self._wanted(event):
                await self.send_json({"v": 2, "data": event})
