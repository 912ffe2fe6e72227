"""WS /v2/ws/live/<camera id>?token=<jwt> (scope cameras:read): the camera's live video as fragmented MP4 for Media
Source Extensions, copied from the camera (never re-encoded) by its recorder and read from its live feed (feed.py).

Messages, in order: {"type":"waiting"} when the camera is not streaming yet; {"type":"init","mime":<MIME type with
codecs, for MediaSource.isTypeSupported and addSourceBuffer>} followed by one binary message, the init segment;
then binary media segments (prft + moof + mdat, 0.2 s each), the first the latest key frame (a watched camera's
full stream follows from its next one: feed.py).
A new init (the same two messages) comes whenever the camera's stream restarts: the client resets its
SourceBuffer. Another tenant's camera, or none, is {"type":"error"} and close code 4404; the socket closes with
4401 when the token expires (tenants/sockets.py).
"""

import asyncio
import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from cameras.models import Camera
from tenants.catalogue import CAMERAS_READ
from tenants.gate import TenantPrincipal
from tenants.sockets import TokenSocket

from . import fmp4
from .feed import watch

CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def camera_pk(principal: TenantPrincipal, camera: str) -> int | None:
    return Camera.objects.for_principal(principal).filter(slug=camera).values_list("pk", flat=True).first()


class LiveConsumer(TokenSocket, AsyncWebsocketConsumer):
    # No channel layer: the video comes from the feed, and a layer's channel would hold a Redis connection blocked in
    # BLPOP per viewer for nothing.
    channel_layer_alias = None
    pump: asyncio.Task | None = None

    async def connect(self) -> None:
        principal = await self.principal(CAMERAS_READ)
        if principal is None:
            await self.close()  # before accept: the handshake is refused with HTTP 403
            return
        camera = self.scope["url_route"]["kwargs"]["camera"]
        pk = await camera_pk(principal, camera)
        if pk is None:
            await self.refuse(CLOSE_NOT_FOUND, f"No camera '{camera}' in this tenant.")
            return
        await self.accept_until_expiry(principal)
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
