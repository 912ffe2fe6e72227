"""A live share's token on the live socket: its camera only (another is a 4404), audited as the share, and an open
socket is told and closed (4410) within seconds of the share being revoked."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from tenants import audit
from tenants.models import AuditEntry
from tenants.sockets import CLOSE_SHARE_ENDED, SHARE_CHECK_S
from vms.asgi import application

from ..factories import CameraFactory
from ..pipeline.test_live import _close_consumer_connections  # noqa: F401  (the consumers' threads' connections)
from .conftest import make_share

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer's threads read committed rows


@pytest.fixture
def live_share(client, camera_a, client_a):
    """A live share of tenant A's cam-front-01, opened as its page does: (its JSON, its token)."""
    CameraFactory(tenant=camera_a.tenant, slug="cam-back")
    share = make_share(client_a, live=True)
    return share, client.post(f"/v2/s/{share['key']}", {}, "application/json").json()["token"]


async def viewer(camera: str, token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/v2/ws/live/{camera}?token={token}")
    communicator.scope["client"] = ["10.4.4.4", 50000]
    assert (await communicator.connect(timeout=5))[0]
    return communicator


@database_sync_to_async
def live_entries() -> list[tuple[str, str, str]]:
    audit.drain()
    rows = AuditEntry.objects.filter(action__startswith="live.").order_by("id")
    return list(rows.values_list("action", "actor", "camera_id"))


async def test_a_live_share_plays_its_camera_only(live_share):
    share, token = live_share

    other = await viewer("cam-back", token)
    assert json.loads(await other.receive_from(timeout=5)) == {
        "type": "error",
        "detail": "No camera 'cam-back' in this tenant.",
    }
    assert (await other.receive_output(timeout=5))["code"] == 4404

    own = await viewer("cam-front-01", token)
    assert json.loads(await own.receive_from(timeout=5)) == {"type": "waiting"}  # not streaming: still a view
    await own.disconnect()
    actor = f"share:{share['id']}"
    assert await live_entries() == [("live.view", actor, "cam-front-01"), ("live.end", actor, "cam-front-01")]


async def test_an_open_socket_is_closed_when_its_share_is_revoked(client_a, live_share):
    share, token = live_share
    own = await viewer("cam-front-01", token)
    assert json.loads(await own.receive_from(timeout=5)) == {"type": "waiting"}

    response = await database_sync_to_async(client_a.delete)(f"/v2/api/shares/{share['id']}")
    assert response.status_code == 204

    message = json.loads(await own.receive_from(timeout=SHARE_CHECK_S + 3))
    assert message == {"type": "error", "detail": "This share link has been revoked."}
    assert (await own.receive_output(timeout=5))["code"] == CLOSE_SHARE_ENDED
    again = WebsocketCommunicator(application, f"/v2/ws/live/cam-front-01?token={token}")
    assert (await again.connect(timeout=5))[0] is False  # its token is refused from now on
