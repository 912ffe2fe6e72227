"""What every authenticated WebSocket does, whatever it streams: the token comes in the query (`?token=<jwt>`, as
browsers cannot set headers on a WebSocket), a bad token or a missing scope refuses the handshake (HTTP 403), a bad
request is accepted only to say why before closing with a 4xxx code, and access ends with the token: the socket
closes at its `exp` with 4401, and the client reconnects with a new token (whose scopes or tenant may have changed)."""

import asyncio
import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from rest_framework_simplejwt.exceptions import InvalidToken

from .auth import principal_from_token
from .gate import MissingScope, TenantPrincipal
from .models import Share

CLOSE_TOKEN_EXPIRED = 4401
CLOSE_SHARE_ENDED = 4410
# How soon an open socket of a share link closes once the share is revoked.
SHARE_CHECK_S = 5


@database_sync_to_async
def _principal(raw_token: str, scopes: tuple[str, ...]) -> TenantPrincipal | None:
    try:
        return principal_from_token(raw_token).require(*scopes)
    except (InvalidToken, MissingScope):
        return None


class TokenSocket:
    """A mixin for Channels' AsyncWebsocketConsumer (and its JSON subclass)."""

    expiry: asyncio.Task | None = None

    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.scope["query_string"].decode())

    async def principal(self, *any_of: str) -> TenantPrincipal | None:
        """The token's principal if it holds one of the scopes; None when the handshake must be refused."""
        token = self.query().get("token", [""])[0]
        return await _principal(token, any_of) if token else None

    async def accept_until_expiry(self, principal: TenantPrincipal) -> None:
        await self.accept()
        if principal.expires_at is not None:
            self.expiry = asyncio.create_task(self._close_at(principal))

    async def refuse(self, code: int, detail: str) -> None:
        """Accepted only to say why (a browser sees no reason for a refused handshake), then closed with `code`."""
        await self.accept()
        await self._end(code, detail)

    async def _end(self, code: int, detail: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "detail": detail}))
        await self.close(code=code)

    async def _close_at(self, principal: TenantPrincipal) -> None:
        """Closes at the token's expiry; a share link's socket, once its share has ended (revoked, or expired: its
        token expires with it), saying why, so its page shows that rather than connecting again."""
        while principal.share_id is not None:
            # Woken a second after the token's `exp` at the latest: its share's expiry (exp is it, rounded down).
            await asyncio.sleep(min(SHARE_CHECK_S, max(principal.expires_at + 1 - time.time(), 0.1)))
            if ended := await database_sync_to_async(Share.ended)(principal.share_id):
                await self._end(CLOSE_SHARE_ENDED, ended)
                return
        await asyncio.sleep(principal.expires_at - time.time())
        await self.close(code=CLOSE_TOKEN_EXPIRED)

    async def disconnect(self, code: int) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
