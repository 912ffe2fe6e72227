"""Detector events reach the tenant's WebSocket clients live, while the stream is still being watched."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from vms.asgi import application

from .conftest import run_detectors

pytestmark = pytest.mark.django_db(transaction=True)

STREAM_SECONDS = 8


async def connect(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/v2/ws/events?token={token}")
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    return communicator


@pytest.fixture
def camera(tenant_a, stream_camera):
    return stream_camera(tenant_a, "cam-live", ["person"])


async def test_person_events_pushed_live_to_their_tenant_only(tenant_a, tenant_b, camera, make_token):
    client_a, client_b = await connect(make_token(tenant_a)), await connect(make_token(tenant_b))
    runner = asyncio.create_task(asyncio.to_thread(run_detectors, [camera], STREAM_SECONDS))
    try:
        message = await client_a.receive_json_from(timeout=STREAM_SECONDS + 10)
        assert not runner.done()  # pushed while the detector still runs, not after
        event = message["data"]
        assert set(message) == {"v", "data"} and message["v"] == 2
        assert (event["tenant_id"], event["camera_id"], event["type"]) == ("tenant-a", "cam-live", "person")
        assert event["payload"]["label"] == "person"
        assert event["snapshot_url"].startswith("/v2/hls/cam-live/")
        await runner
        assert await client_b.receive_nothing(timeout=0.5)
    finally:
        await asyncio.gather(runner, return_exceptions=True)
        await client_a.disconnect()
        await client_b.disconnect()
        await database_sync_to_async(connections.close_all)()
