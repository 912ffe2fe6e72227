"""WS /v2/ws/live/<camera id>?token=<jwt> (scope cameras:read): the camera's live video as fragmented MP4 for Media
Source Extensions, copied from the camera (never re-encoded) by its recorder and read from its live feed (feed.py).

Messages, in order: {"type":"waiting"} when the camera is not streaming yet; {"type":"init","mime":<MIME type with
codecs, for MediaSource.isTypeSupported and addSourceBuffer>} followed by one binary message, the init segment;
then binary media segments (prft + moof + mdat, 0.2 s each), the first the latest key frame (a watched camera's
full stream follows from its next one: feed.py).
A new init (the same two messages) comes whenever the camera's stream restarts: the client resets its
SourceBuffer. Another tenant's camera, or none, is {"type":"error"} and close code 4404; the socket closes with
4401 when the token expires (tenants/sockets.py).

The audit trail gets `live.view` when the video starts and `live.end` when the socket closes, whoever closes it.
"""

import asyncio
import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import HttpRequest

from cameras.models import Camera
from tenants import audit
from tenants.catalogue import CAMERAS_READ, SHARE_LIVE
from tenants.gate import TenantPrincipal
from tenants.sockets import TokenSocket

from . import fmp4
from .feed import watch

CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def camera_pk(principal: TenantPrincipal, camera: str) -> int | None:
    return Camera.objects.for_principal(principal).filter(slug=camera).values_list("pk", flat=True).first()


def scope_address(scope: dict) -> str:
    """The client's address as audit.address_of reads a request's (X-Forwarded-For behind trusted proxies)."""
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = (scope.get("client") or ("",))[0]
    if forwarded := dict(scope.get("headers", ())).get(b"x-forwarded-for"):
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded.decode("latin-1")
    return audit.address_of(request)


# Both on a worker thread: actor_of reads the user's name, and record() writes to PostgreSQL while Redis is away.
@database_sync_to_async
def start_view(principal: TenantPrincipal, camera: str, address: str) -> dict[str, str]:
    """Record a live.view of `camera` by `principal`; return what end_view records when that view ends."""
    viewing = dict(tenant_id=principal.tenant_id, actor=audit.actor_of(principal), address=address,
                   object_type="camera", object_id=camera, camera_id=camera)  # fmt: skip
    audit.record(action="live.view", **viewing)
    return viewing


@database_sync_to_async
def end_view(viewing: dict[str, str]) -> None:
    audit.record(action="live.end", **viewing)


class LiveConsumer(TokenSocket, AsyncWebsocketConsumer):
    # No channel layer: the video comes from the feed, and a layer's channel would hold a Redis connection blocked in
    # BLPOP per viewer for nothing.
    channel_layer_alias = None
    pump: asyncio.Task | None = None
    viewing: dict[str, str] | None = None  # from start_view, for end_view

    async def connect(self) -> None:
        principal = await self.principal(CAMERAS_READ, SHARE_LIVE)
        if principal is None:
            await self.close()  # before accept: the handshake is refused with HTTP 403
            return
        camera = self.scope["url_route"]["kwargs"]["camera"]
        pk = await camera_pk(principal, camera)
        if pk is None:
            await self.refuse(CLOSE_NOT_FOUND, f"No camera '{camera}' in this tenant.")
            return
        await self.accept_until_expiry(principal)
        self.viewing = await start_view(principal, camera, scope_address(self.scope))
        self.pump = asyncio.create_task(self._stream(pk))

    async def _stream(self, pk: int) -> None:
        async with watch(pk) as watcher:
            if watcher.queue.empty():
                await self.send(text_data=json.dumps({"type": "waiting"}))
            async for entry in watcher:
                if entry.kind == "init":
                    await self.send(text_data=json.dumps({"type": "init", "mime": fmp4.parse_init(entry.data).mime}))
                await self.send(bytes_data=entry.data)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.pump is not None:
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump
        if self.viewing is not None:
            await end_view(self.viewing)
