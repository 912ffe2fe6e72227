"""Live viewing in the audit trail: `live.view` when a viewer's video starts and `live.end` when it ends, over the MSE
WebSocket and over WebRTC; a refused viewer is no view."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from live import webrtc
from tenants import audit
from tenants.models import AuditEntry
from tenants.tokens import refresh_token_for
from vms.asgi import application

from ..factories import MembershipFactory
from ..pipeline.test_live import _close_consumer_connections  # noqa: F401  (the consumers' threads' connections)
from .test_webrtc import URL, offer

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer's and the view's threads read committed rows


@pytest.fixture
def olivia(camera_a):
    """An access token of a user of tenant A, as the console's login makes it."""
    membership = MembershipFactory(tenant=camera_a.tenant, user__username="olivia")
    return str(refresh_token_for(membership).access_token)


@database_sync_to_async
def entries() -> list[tuple[str, str, str, str, str]]:
    """Tenant A's entries, oldest first, once the pending ones are written."""
    audit.drain()
    rows = AuditEntry.objects.filter(tenant_id="tenant-a").order_by("id")
    return list(rows.values_list("action", "actor", "address", "object_id", "camera_id"))


async def test_a_live_socket_is_a_view_from_its_start_to_its_end(olivia):
    viewer = WebsocketCommunicator(application, f"/v2/ws/live/cam-front-01?token={olivia}")
    viewer.scope["client"] = ["10.1.2.3", 50123]
    assert (await viewer.connect(timeout=5))[0]
    assert json.loads(await viewer.receive_from(timeout=5)) == {"type": "waiting"}  # not streaming: still a view
    assert await entries() == [("live.view", "user:olivia", "10.1.2.3", "cam-front-01", "cam-front-01")]

    await viewer.disconnect()
    assert await entries() == [
        ("live.view", "user:olivia", "10.1.2.3", "cam-front-01", "cam-front-01"),
        ("live.end", "user:olivia", "10.1.2.3", "cam-front-01", "cam-front-01"),
    ]


async def test_a_socket_refused_is_no_view(olivia, tenant_b, make_token):
    other_tenant = WebsocketCommunicator(application, f"/v2/ws/live/cam-front-01?token={make_token(tenant_b)}")
    assert (await other_tenant.connect(timeout=5))[0]  # accepted only to say why
    assert json.loads(await other_tenant.receive_from(timeout=5))["type"] == "error"
    await other_tenant.wait()
    no_token = WebsocketCommunicator(application, "/v2/ws/live/cam-front-01")
    assert (await no_token.connect(timeout=5))[0] is False
    assert await entries() == []
    assert not await AuditEntry.objects.filter(tenant_id="tenant-b").aexists()


async def test_a_webrtc_peer_is_a_view_until_its_connection_closes(olivia):
    async def post(sdp: str):
        return await AsyncClient().post(
            URL.format("cam-front-01"), {"sdp": sdp}, "application/json", headers={"Authorization": f"Bearer {olivia}"}
        )

    assert (await post("hello")).status_code == 400
    assert await entries() == []

    others = set(webrtc._peers)
    assert (await post(await asyncio.to_thread(offer))).status_code == 200
    assert await entries() == [("live.view", "user:olivia", "127.0.0.1", "cam-front-01", "cam-front-01")]

    (peer,) = webrtc._peers - others
    await peer.close()
    await peer.close()  # closed again (its own "closed" state, a timer): one end
    assert [action for action, *_ in await entries()] == ["live.view", "live.end"]
