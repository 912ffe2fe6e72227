"""events.services.create_event: validation naming the field, defaults, expiry, publish only after commit."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from events.models import Event
from events.services import MAX_PAYLOAD_DEPTH, InvalidEvent, create_event, create_events

from ..factories import CameraFactory
from .realtime import GroupListener

TS = datetime(2026, 4, 30, 14, 23, 45, 123000, tzinfo=UTC)


@pytest.fixture
def listener(tenant_a):
    listener = GroupListener(tenant_a.id)
    yield listener
    listener.close()


def nested(levels: int) -> dict:
    """A payload whose lists nest `levels` deep, counting the payload itself as the first level."""
    value: list = []
    for _ in range(levels - 2):
        value = [value]
    return {"deep": value}


def create(tenant, **fields):
    return create_event(tenant=tenant, **{"camera_id": "cam-front-01", "type": "person", "confidence": 0.87, **fields})


@pytest.mark.django_db
def test_stores_the_event_with_catalogue_id_expiry_and_defaults(tenant_a, camera_a):
    tenant_a.event_retention_days = 10
    event = create(tenant_a, type="vehicle", ts=TS, payload={"track_id": 42}, tags=["gate"])
    stored = Event.objects.get(pk=event.pk)
    assert stored.id.startswith("evt-")
    assert (stored.tenant_id, stored.camera_id, stored.type) == ("tenant-a", "cam-front-01", "vehicle")
    assert stored.event_id == 3
    assert stored.expires == TS + timedelta(days=10)
    assert stored.payload == {"track_id": 42}
    assert stored.tags == ["gate"]
    assert len(stored.trace_id) == 36  # a generated uuid4


@pytest.mark.django_db
def test_payload_and_ts_at_their_limits_are_stored(tenant_a, camera_a):
    near_future = datetime.now(UTC) + timedelta(hours=23)
    event = create(tenant_a, payload=nested(MAX_PAYLOAD_DEPTH), ts=near_future)
    assert Event.objects.get(pk=event.pk).payload == nested(MAX_PAYLOAD_DEPTH)


@pytest.mark.django_db
def test_ts_defaults_to_now(tenant_a, camera_a):
    before = datetime.now(UTC)
    assert before <= create(tenant_a).ts <= datetime.now(UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "violence"),
        ("confidence", 1.5),
        ("confidence", -0.1),
        ("confidence", float("nan")),
        ("confidence", "high"),
        ("ts", datetime(2026, 4, 30, 14, 0)),  # naive
        ("ts", datetime(9999, 12, 31, tzinfo=UTC)),
        ("ts", datetime.now(UTC) + timedelta(days=2)),
        ("tags", ["two words"]),
        ("tags", [""]),
        ("payload", ["not", "an", "object"]),
        # PostgreSQL's jsonb holds neither NUL nor a lone surrogate, in keys or values, at any depth.
        ("payload", {"boxes": [{"label\x00": 1}]}),
        ("payload", {"plate": ["51F\ud800"]}),
        ("payload", {"blob": "x" * 16 * 1024}),
        ("payload", nested(MAX_PAYLOAD_DEPTH + 1)),
        ("payload", {"area": float("inf")}),
        ("payload", {"frame": object()}),
        ("snapshot_url", "javascript:alert(1)"),
        ("tags", ["gate\ud800"]),
        ("snapshot_url", "x" * 501),
        ("trace_id", "t" * 65),
        ("model_version", "m" * 101),
        ("camera_id", "cam-unknown"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(tenant_a, camera_a, field, value):
    with pytest.raises(InvalidEvent) as exc:
        create(tenant_a, **{field: value})
    assert exc.value.field == field
    assert str(exc.value).startswith(f"{field}: ")
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_another_tenants_camera_is_unknown(tenant_a, tenant_b):
    CameraFactory(tenant=tenant_b, slug="cam-b")
    with pytest.raises(InvalidEvent, match="camera_id"):
        create(tenant_a, camera_id="cam-b")


@pytest.mark.django_db(transaction=True)
def test_publishes_to_the_tenant_group_after_commit(tenant_a, camera_a, listener):
    with transaction.atomic():
        event = create(tenant_a, ts=TS)
        assert listener.receive(timeout=0.3) is None  # not before the commit
    message = listener.receive()
    assert message["type"] == "events.created"
    [published] = message["events"]
    assert published["id"] == event.id
    assert published["ts"] == "2026-04-30T14:23:45.123Z"


@pytest.mark.django_db(transaction=True)
def test_rolled_back_write_is_never_published(tenant_a, camera_a, listener):
    with pytest.raises(RuntimeError), transaction.atomic():
        create(tenant_a)
        raise RuntimeError("the caller fails after the write")
    assert not Event.objects.exists()
    assert listener.receive(timeout=0.5) is None


@pytest.mark.django_db(transaction=True)
def test_create_events_writes_a_batch_in_one_copy_and_publishes_each(tenant_a, camera_a, listener):
    CameraFactory(tenant=tenant_a, slug="cam-back")
    batch = [{"camera_id": c, "type": "person", "confidence": 0.5} for c in ("cam-front-01", "cam-back") * 3]
    with CaptureQueriesContext(connection) as queries:
        events = create_events(tenant_a, batch)
    writes = [q["sql"].split()[0] for q in queries if q["sql"].split()[0] in ("INSERT", "COPY")]
    assert writes == ["COPY", "INSERT"]  # the events, then one UPSERT of the tenant's usage of the day
    stored = {e.id: e for e in Event.objects.all()}
    assert sorted(stored) == sorted(e.id for e in events)
    first = stored[events[0].id]
    assert (first.camera_id, first.event_id, first.payload, first.tags) == ("cam-front-01", 2, {}, [])
    assert first.created == events[0].created and first.expires == events[0].expires
    assert [e["id"] for e in listener.receive()["events"]] == [e.id for e in events]


@pytest.mark.django_db
def test_create_events_is_all_or_nothing(tenant_a, camera_a):
    good = {"camera_id": "cam-front-01", "type": "person", "confidence": 0.5}
    with pytest.raises(InvalidEvent, match="camera_id"):
        create_events(tenant_a, [good, {**good, "camera_id": "cam-gone"}])
    with pytest.raises(InvalidEvent, match="confidence"):
        create_events(tenant_a, [good, {**good, "confidence": 2}])
    assert not Event.objects.exists()
