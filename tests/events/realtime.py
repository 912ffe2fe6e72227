"""Helpers for the realtime tests: listening on a tenant's group of the real Redis channel layer."""

import asyncio

from channels.layers import get_channel_layer

from events.realtime import tenant_group


class GroupListener:
    """A channel joined to `tenant.<id>`, read synchronously (like a WS client would, minus the socket).

    One event loop serves every call: the layer's receive buffers belong to the loop that made them.
    """

    def __init__(self, tenant_id: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        self.group = tenant_group(tenant_id)
        self.channel = self.loop.run_until_complete(self.layer.new_channel())
        self.loop.run_until_complete(self.layer.group_add(self.group, self.channel))

    def receive(self, timeout: float = 2.0) -> dict | None:
        """The next message, or None when nothing came within `timeout` seconds."""
        try:
            return self.loop.run_until_complete(asyncio.wait_for(self.layer.receive(self.channel), timeout))
        except TimeoutError:
            return None

    def close(self) -> None:
        self.loop.run_until_complete(self.layer.group_discard(self.group, self.channel))
        self.loop.close()
