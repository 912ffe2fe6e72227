"""Events admin: a tenant's staff see only their events; snapshots previewed by signed URL; deletes remove files."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from events.models import Event
from playback.paths import recordings_path, url_for_file
from playback.signing import tenant_from_signature

from ..factories import CameraFactory, EventFactory

pytestmark = pytest.mark.django_db

SNAP = "tenant-b/cam-b/2020-03-12/04/snap-1.jpg"
LIST = "/admin/events/event/"


@pytest.fixture
def event_a(tenant_a):
    return EventFactory(tenant=tenant_a, camera_id="cam-a")


@pytest.fixture
def event_b(tenant_b):
    CameraFactory(tenant=tenant_b, slug="cam-b")
    return EventFactory(tenant=tenant_b, camera_id="cam-b", type="vehicle", snapshot=SNAP)


def test_tenant_staff_see_only_their_events(staff_b, event_a, event_b):
    page = staff_b.get(LIST)
    assert page.status_code == 200
    assert event_b.id.encode() in page.content
    assert event_a.id.encode() not in page.content
    assert staff_b.get(f"{LIST}{event_a.pk}/change/").status_code == 302  # "does not exist"


def test_filters_by_camera_type_and_date(staff_b, event_a, event_b, tenant_a, tenant_b):
    CameraFactory(tenant=tenant_a, slug="cam-a")
    other = EventFactory(tenant=tenant_b, camera_id="cam-b", type="person")
    by_type = staff_b.get(LIST, {"type": "vehicle"}).content
    assert event_b.id.encode() in by_type and other.id.encode() not in by_type
    assert b"cam-a" not in staff_b.get(LIST).content  # the camera filter lists only the tenant's cameras
    assert event_b.id.encode() in staff_b.get(LIST, {"camera_id": "cam-b"}).content
    assert event_b.id.encode() not in staff_b.get(LIST, {"camera_id": "cam-x"}).content
    in_march = {"ts__gte": "2020-03-01T00:00:00Z", "ts__lt": "2020-04-01T00:00:00Z"}
    assert event_b.id.encode() in staff_b.get(LIST, in_march).content
    april = staff_b.get(LIST, {"ts__gte": "2020-04-01"})
    assert april.status_code == 200
    assert event_b.id.encode() not in april.content


def test_snapshot_preview_is_a_signed_url_of_the_events_tenant(staff_b, event_b):
    page = staff_b.get(f"{LIST}{event_b.pk}/change/").content.decode()
    src = page.split('<img src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    url = urlsplit(src)
    assert url.path == url_for_file(SNAP) == "/v2/hls/cam-b/2020-03-12/04/snap-1.jpg"
    assert tenant_from_signature(url.path, dict(parse_qsl(url.query))) == "tenant-b"


def test_delete_removes_the_snapshot_file(staff_b, event_b, django_capture_on_commit_callbacks):
    path = recordings_path(SNAP)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_b.post(LIST, {"action": "delete_selected", "_selected_action": [event_b.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Event.objects.filter(pk=event_b.pk).exists()
    assert not path.exists()
