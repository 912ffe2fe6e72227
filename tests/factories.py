import uuid
from datetime import UTC, datetime, timedelta

import factory
from django.conf import settings
from django.contrib.auth import get_user_model

from cameras.models import Camera
from events.catalogue import EVENT_CATEGORIES
from events.models import Event
from playback.models import Segment
from tenants.catalogue import FEATURES
from tenants.models import Membership, Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ["id"]

    id = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda t: f"Tenant {t.id}")
    camera_limit = 10
    features = list(FEATURES)


class CameraFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Camera

    tenant = factory.SubFactory(TenantFactory)
    slug = factory.Sequence(lambda n: f"cam-{n}")
    name = factory.LazyAttribute(lambda c: f"Camera {c.slug}")
    rtsp_url = "rtsp://viewer:s3cret@10.0.0.5:554/stream"
    features = factory.LazyFunction(lambda: ["person", "vehicle"])
    fps = 5


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.OPERATOR


class EventFactory(factory.django.DjangoModelFactory):
    """A stored event; `ts` defaults to a fixed moment, `expires` to 30 days later."""

    class Meta:
        model = Event

    tenant = factory.SubFactory(TenantFactory)
    camera_id = "cam-front-01"
    type = "person"
    event_id = factory.LazyAttribute(lambda e: EVENT_CATEGORIES[e.type])
    confidence = 0.9
    trace_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    ts = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)
    expires = factory.LazyAttribute(lambda e: e.ts + timedelta(days=30))


class SegmentFactory(factory.django.DjangoModelFactory):
    """An index row of a one-part object (2 s) of `camera` on this node, its `path` laid out like the recorder's (no
    file is written)."""

    class Meta:
        model = Segment

    camera = factory.SubFactory(CameraFactory)
    tenant = factory.LazyAttribute(lambda s: s.camera.tenant)
    start = datetime(2020, 3, 12, 4, 0, tzinfo=UTC)
    duration = 2.0
    bytes = 150_000
    path = factory.LazyAttribute(
        lambda s: f"{s.tenant.id}/{s.camera.slug}/{s.start:%Y-%m-%d/%H}/seg-{int(s.start.timestamp() * 1000)}.ts"
    )
    sizes = factory.LazyAttribute(lambda s: [s.bytes])
    durations = factory.LazyAttribute(lambda s: [s.duration])
    node = factory.LazyFunction(lambda: settings.VMS_NODE_NAME)
