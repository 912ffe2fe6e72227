import factory
from django.contrib.auth import get_user_model

from cameras.models import Camera
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
