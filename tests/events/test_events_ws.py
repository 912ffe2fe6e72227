"""WS /v2/ws/events on the real ASGI application and the real Redis channel layer."""

import asyncio
import json
import time
from datetime import timedelta

import jwt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from events.services import create_event
from playback.exports import publish
from playback.models import Export, ExportFile
from tenants.catalogue import EVENTS_READ, PLAYBACK_READ
from tenants.models import Tenant
from vms.asgi import application

from ..factories import CameraFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer reads tokens' tenants from another thread


@pytest.fixture(autouse=True)
async def _close_consumer_connections():
    """The consumer's DB thread keeps a connection; closing it lets the test database be dropped at once."""
    yield
    await database_sync_to_async(connections.close_all)()


async def connect(token: str | None, query: str = "", timeout: float = 3) -> tuple[WebsocketCommunicator, bool]:
    path = "/v2/ws/events" + (f"?token={token}{query}" if token is not None else "")
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect(timeout=timeout)
    return communicator, connected


@database_sync_to_async
def new_event(tenant, camera_id: str = "cam-front-01", type: str = "person"):
    return create_event(tenant=tenant, camera_id=camera_id, type=type, confidence=0.9)


@pytest.fixture
def cameras(tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        CameraFactory(tenant=tenant, slug="cam-front-01")
    CameraFactory(tenant=tenant_a, slug="cam-back")


async def test_client_gets_its_tenants_events_and_never_anothers(make_token, tenant_a, tenant_b, cameras):
    client_a, ok_a = await connect(make_token(tenant_a))
    client_b, ok_b = await connect(make_token(tenant_b))
    assert ok_a and ok_b
    event = await new_event(tenant_a)
    message = await client_a.receive_json_from(timeout=3)
    assert message == {"v": 2, "data": message["data"]}
    assert message["data"]["id"] == event.id
    assert message["data"]["tenant_id"] == "tenant-a"
    assert await client_b.receive_nothing(timeout=0.5)
    event_b = await new_event(tenant_b)
    assert (await client_b.receive_json_from(timeout=3))["data"]["id"] == event_b.id
    assert await client_a.receive_nothing(timeout=0.5)
    await client_a.disconnect()
    await client_b.disconnect()


async def test_camera_filter(make_token, tenant_a, cameras):
    client, connected = await connect(make_token(tenant_a), "&camera_id=cam-back")
    assert connected
    await new_event(tenant_a, camera_id="cam-front-01")
    back = await new_event(tenant_a, camera_id="cam-back")
    assert (await client.receive_json_from(timeout=3))["data"]["id"] == back.id
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect()


async def test_many_clients_of_a_tenant_each_get_the_event(make_token, tenant_a, cameras):
    token = make_token(tenant_a)
    clients = [(await connect(token))[0] for _ in range(20)]
    event = await new_event(tenant_a)
    received = await asyncio.gather(*(c.receive_json_from(timeout=3) for c in clients))
    assert {m["data"]["id"] for m in received} == {event.id}
    await asyncio.gather(*(c.disconnect() for c in clients))


@pytest.mark.parametrize(
    "token",
    [None, "not-a-jwt", "expired", "no-events-scope", "unknown-tenant"],
)
async def test_bad_tokens_are_refused_before_accept(make_token, tenant_a, token):
    raw = {
        "expired": make_token(tenant_a, ttl=-60),
        "no-events-scope": make_token(tenant_a, scopes=["cameras:read", "events:write"]),
        "unknown-tenant": make_token(Tenant(id="no-such-tenant")),
    }.get(token, token)
    communicator, connected = await connect(raw)
    assert not connected
    await communicator.disconnect()


async def test_the_socket_closes_with_4401_when_its_token_expires(make_token, tenant_a, cameras):
    token = make_token(tenant_a, ttl=2)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    client, connected = await connect(token)
    assert connected
    event = await new_event(tenant_a)
    assert (await client.receive_json_from(timeout=3))["data"]["id"] == event.id
    closed = await client.receive_output(timeout=expires_at - time.time() + 2)
    assert closed == {"type": "websocket.close", "code": 4401}
    assert time.time() >= expires_at
    await client.disconnect()


@database_sync_to_async
def publish_finished_export(camera) -> None:
    now = timezone.now()
    export = Export.objects.create(
        tenant=camera.tenant, start=now - timedelta(minutes=1), end=now, expires=now + timedelta(days=1),
        state=Export.State.DONE, progress=100,
    )  # fmt: skip
    ExportFile.objects.create(export=export, camera=camera, camera_slug=camera.slug, path="x.mp4", sha256="ab", size=1)
    publish(export)


async def test_export_progress_and_its_signed_urls_reach_only_sockets_that_may_read_exports(
    make_token, tenant_a, camera_a
):
    events_only, _ = await connect(make_token(tenant_a, scopes=[EVENTS_READ]))
    with_playback, _ = await connect(make_token(tenant_a, scopes=[EVENTS_READ, PLAYBACK_READ]))

    await publish_finished_export(camera_a)

    message = await with_playback.receive_json_from(timeout=3)
    assert message["type"] == "export" and "sig=" in message["data"]["files"][0]["url"]
    assert await events_only.receive_nothing(timeout=0.5)  # as GET /v2/api/exports, it needs playback:read
    event = await new_event(tenant_a)
    assert (await events_only.receive_json_from(timeout=3))["data"]["id"] == event.id
    await events_only.disconnect()
    await with_playback.disconnect()


@pytest.mark.parametrize("query", ["severity=urgent", "camera_id=" + "c" * 65, "zone=%00"])
async def test_a_filter_the_rest_api_refuses_is_refused_with_its_message_and_4400(client_a, make_token, query):
    rest = await database_sync_to_async(client_a.get)(f"/v2/api/events?{query}")
    assert rest.status_code == 400

    client, connected = await connect(make_token(rest.wsgi_request.user.tenant), f"&{query}")
    assert connected  # accepted only to say why: a browser sees no reason for a refused handshake
    assert await client.receive_json_from(timeout=3) == {"type": "error", "detail": rest.json()["detail"]}
    assert await client.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}
    await client.disconnect()


async def test_ping_gets_pong(make_token, tenant_a):
    client, _ = await connect(make_token(tenant_a))
    await client.send_to(text_data="ping")
    assert await client.receive_json_from(timeout=2) == {"type": "pong"}
    await client.send_to(text_data=json.dumps({"type": "ping"}))
    assert await client.receive_json_from(timeout=2) == {"type": "pong"}
    await client.send_to(text_data="hello")
    assert await client.receive_nothing(timeout=0.2)
    await client.disconnect()


async def test_a_burst_of_clients_connecting_at_once_all_get_in(make_token, tenant_a, cameras):
    # More simultaneous connects than redis-py's default pool of 100: each holds a connection for its group_add.
    token = make_token(tenant_a)
    # 250 handshakes (token check, DB lookup) share one test process: on a busy 2-core CI the last accept can come
    # after 3 s. Pool exhaustion fails a connect outright, not slowly, so a longer wait hides nothing.
    clients = await asyncio.gather(*(connect(token, timeout=15) for _ in range(250)))
    assert all(ok for _, ok in clients)
    event = await new_event(tenant_a)
    received = await asyncio.gather(*(client.receive_json_from(timeout=5) for client, _ in clients))
    assert {message["data"]["id"] for message in received} == {event.id}
    await asyncio.gather(*(client.disconnect() for client, _ in clients))
