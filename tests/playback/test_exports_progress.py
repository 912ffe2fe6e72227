"""An export's progress reaches its tenant's WebSocket clients (only theirs), and its admin is tenant-scoped."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from playback.exports import run_export
from playback.models import Export, ExportFile
from vms.asgi import application

from ..factories import CameraFactory
from .conftest import HOUR


@pytest.fixture
async def _close_consumer_connections():
    yield
    await database_sync_to_async(connections.close_all)()


def new_export(camera, **fields) -> Export:
    export = Export.objects.create(
        tenant=camera.tenant, start=HOUR, end=HOUR + timezone.timedelta(seconds=20), expires=timezone.now(), **fields
    )
    ExportFile.objects.create(export=export, camera=camera, camera_slug=camera.slug)
    return export


@pytest.mark.django_db(transaction=True)
async def test_progress_is_pushed_to_the_tenant_socket_only(
    make_token, tenant_a, tenant_b, camera_a, record, _close_consumer_connections
):
    await database_sync_to_async(record)(camera_a)
    export = await database_sync_to_async(new_export)(camera_a)
    socket_a = WebsocketCommunicator(application, f"/v2/ws/events?token={make_token(tenant_a)}")
    socket_b = WebsocketCommunicator(application, f"/v2/ws/events?token={make_token(tenant_b)}")
    assert (await socket_a.connect(timeout=3))[0] and (await socket_b.connect(timeout=3))[0]

    await database_sync_to_async(run_export)(export.pk)

    states = []
    while not states or states[-1]["state"] != "done":
        message = await socket_a.receive_json_from(timeout=5)
        assert message["type"] == "export"
        assert message["data"]["id"] == export.pk
        states.append(message["data"])
    assert states[0]["state"] == "running"
    assert states[-1]["progress"] == 100 and states[-1]["files"][0]["url"].startswith(f"/v2/exports/{export.pk}/")
    assert await socket_b.receive_nothing(timeout=0.5)
    await socket_a.disconnect()
    await socket_b.disconnect()


@pytest.mark.django_db
def test_tenant_staff_see_only_their_exports_in_the_admin(staff_b, tenant_a, tenant_b):
    mine = new_export(CameraFactory(tenant=tenant_b, slug="cam-b"), name="Mine")
    theirs = new_export(CameraFactory(tenant=tenant_a, slug="cam-a"), name="Theirs")

    page = staff_b.get("/admin/playback/export/")

    assert page.status_code == 200
    assert b"Mine" in page.content and b"Theirs" not in page.content
    change = staff_b.get(f"/admin/playback/export/{mine.pk}/change/")
    assert change.status_code == 200
    assert b'name="task_id"' not in change.content and b'name="started_at' not in change.content  # the queue's
    assert staff_b.get(f"/admin/playback/export/{theirs.pk}/change/").status_code == 302  # "does not exist"
