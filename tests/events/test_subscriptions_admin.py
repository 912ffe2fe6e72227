"""The webhook subscription admin: a tenant's staff see and change only their subscriptions and deliveries, under
the API's rules, and the signing secret is never shown."""

from datetime import timedelta
from ipaddress import ip_network

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from events.models import Delivery, Subscription

from ..factories import CameraFactory, UserFactory

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = "/admin/events/subscription/"
DELIVERIES = "/admin/events/delivery/"


@pytest.fixture
def sub_a(tenant_a):
    return Subscription.objects.create(tenant=tenant_a, url="https://198.51.100.1/hook")


@pytest.fixture
def sub_b(tenant_b):
    return Subscription.objects.create(tenant=tenant_b, url="https://198.51.100.2/hook", types=["person"])


def deliver(subscription) -> Delivery:
    return Delivery.objects.create(
        subscription=subscription, event_id=f"evt-{subscription.tenant_id}", body="{}", state="failed", attempts=4,
        response_code=503, latency_ms=40, last_error="HTTP 503",
    )  # fmt: skip


def form(**fields) -> dict:
    return {"url": "https://198.51.100.2/new", "types": "", "camera_ids": "", "zones": "", "severity": "",
            "enabled": "on", **fields}  # fmt: skip


def change(client, subscription, **fields):
    return client.post(f"{SUBSCRIPTIONS}{subscription.pk}/change/", form(**fields))


def test_tenant_staff_see_only_their_subscriptions_and_deliveries(staff_b, sub_a, sub_b):
    delivery_a, delivery_b = deliver(sub_a), deliver(sub_b)
    listed = staff_b.get(SUBSCRIPTIONS)
    assert listed.status_code == 200
    assert b"198.51.100.2" in listed.content and b"198.51.100.1" not in listed.content
    assert staff_b.get(f"{SUBSCRIPTIONS}{sub_a.pk}/change/").status_code == 302  # "does not exist"
    assert change(staff_b, sub_a, url="https://198.51.100.66/").status_code == 302
    log = staff_b.get(DELIVERIES)
    assert log.status_code == 200
    assert b"evt-tenant-b" in log.content and b"evt-tenant-a" not in log.content
    assert staff_b.get(f"{DELIVERIES}{delivery_a.pk}/change/").status_code == 302
    assert staff_b.get(f"{DELIVERIES}{delivery_b.pk}/change/").status_code == 200
    sub_a.refresh_from_db()
    assert sub_a.url == "https://198.51.100.1/hook"


def test_the_secret_is_never_shown(staff_b, sub_b):
    deliver(sub_b)
    page = staff_b.get(f"{SUBSCRIPTIONS}{sub_b.pk}/change/")
    assert page.status_code == 200
    assert b'<div class="readonly">set</div>' in page.content
    assert b"<td>HTTP 503</td>" in page.content  # the recent deliveries
    for url in (SUBSCRIPTIONS, f"{SUBSCRIPTIONS}{sub_b.pk}/change/", DELIVERIES):
        content = staff_b.get(url).content.decode()
        assert sub_b.secret not in content and "whsec_" not in content, url


def test_subscriptions_are_created_through_the_api_only(staff_b, admin_client):
    """The API's create answer is the one place the signing secret is shown: one made here could not be verified."""
    assert staff_b.get(f"{SUBSCRIPTIONS}add/").status_code == 403
    assert admin_client.post(f"{SUBSCRIPTIONS}add/", form(tenant="tenant-b")).status_code == 403
    assert not Subscription.objects.exists()


def test_staff_change_a_subscription_under_the_api_rules(staff_b, tenant_b, sub_b):
    CameraFactory(tenant=tenant_b, slug="Dock-1")
    response = change(staff_b, sub_b, types="person,person,vehicle", camera_ids="dock-1", severity="alert")
    assert response.status_code == 302, response.content.decode()
    sub_b.refresh_from_db()
    assert (sub_b.tenant_id, sub_b.url, sub_b.types, sub_b.camera_ids, sub_b.severity) == (
        "tenant-b", "https://198.51.100.2/new", ["person", "vehicle"], ["Dock-1"], "alert",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "ftp://198.51.100.2/x"}, "URL must start with https:// or http://."),
        ({"url": "https://me:pw@198.51.100.2/x"}, "URL must not hold a user name or password."),
        ({"url": "https://169.254.169.254/"}, "URL must name a host webhooks may be sent to."),
        ({"url": "198.51.100.2"}, "URL must start with https:// or http://."),
        ({"camera_ids": "cam-a"}, "No camera &#x27;cam-a&#x27; in this tenant."),
        ({"types": "ufo"}, "&quot;ufo&quot; is not a valid choice."),
        ({"severity": "urgent"}, "urgent is not one of the available choices."),
    ],
)
def test_what_the_api_refuses_the_admin_refuses(staff_b, tenant_a, sub_b, fields, message):
    CameraFactory(tenant=tenant_a, slug="cam-a")
    response = change(staff_b, sub_b, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Subscription.objects.filter(pk=sub_b.pk, url="https://198.51.100.2/hook", types=["person"]).exists()


def test_a_loopback_target_is_refused_where_loopback_is_denied(staff_b, sub_b, settings):
    assert change(staff_b, sub_b, url="https://localhost/x").status_code == 302
    settings.VMS_WEBHOOK_DENY_NETS = [ip_network("127.0.0.0/8")]
    response = change(staff_b, sub_b, url="https://localhost/y")
    assert b"URL must name a host webhooks may be sent to." in response.content
    sub_b.refresh_from_db()
    assert sub_b.url == "https://localhost/x"


def test_enabling_again_in_the_admin_forgives_the_failures(staff_b, sub_b):
    failing = timezone.now() - timedelta(days=3)
    Subscription.objects.filter(pk=sub_b.pk).update(enabled=False, disabled_reason="HTTP 500", failing_since=failing)
    kept = change(staff_b, sub_b, url=sub_b.url, enabled="")
    assert kept.status_code == 302
    sub_b.refresh_from_db()
    assert (sub_b.enabled, sub_b.disabled_reason, sub_b.failing_since) == (False, "HTTP 500", failing)
    assert change(staff_b, sub_b, url=sub_b.url).status_code == 302
    sub_b.refresh_from_db()
    assert (sub_b.enabled, sub_b.disabled_reason, sub_b.failing_since) == (True, "", None)


def test_a_subscriptions_deliveries_are_listed_read_only(staff_b, tenant_b, sub_b):
    delivery = deliver(sub_b)
    deliver(Subscription.objects.create(tenant=tenant_b, url="https://198.51.100.2/other", zones=["z"]))
    Delivery.objects.filter(subscription__zones=["z"]).update(event_id="evt-other")
    listed = staff_b.get(DELIVERIES, {"subscription__id__exact": sub_b.pk})
    assert listed.status_code == 200
    assert b"evt-tenant-b" in listed.content and b"evt-other" not in listed.content
    page = staff_b.get(f"{DELIVERIES}{delivery.pk}/change/").content
    assert b'name="_save"' not in page
    assert staff_b.post(f"{DELIVERIES}{delivery.pk}/change/", {"state": "delivered"}).status_code == 403
    assert staff_b.get(f"{DELIVERIES}add/").status_code == 403
    delivery.refresh_from_db()
    assert delivery.state == "failed"


def test_a_platform_superuser_moving_a_subscription_names_that_tenants_cameras(admin_client, tenant_a, tenant_b, sub_a):
    CameraFactory(tenant=tenant_a, slug="cam-a")
    CameraFactory(tenant=tenant_b, slug="cam-b")
    refused = change(admin_client, sub_a, tenant="tenant-b", camera_ids="cam-a")
    assert refused.status_code == 200 and b"No camera &#x27;cam-a&#x27; in this tenant." in refused.content
    assert change(admin_client, sub_a, tenant="tenant-a", camera_ids="CAM-A").status_code == 302
    sub_a.refresh_from_db()
    assert (sub_a.tenant_id, sub_a.camera_ids) == ("tenant-a", ["cam-a"])
    assert change(admin_client, sub_a, tenant="tenant-b", camera_ids="CAM-b").status_code == 302
    sub_a.refresh_from_db()
    assert (sub_a.tenant_id, sub_a.camera_ids) == ("tenant-b", ["cam-b"])


def test_staff_of_no_tenant_see_and_change_nothing(client, sub_b):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="events"))
    client.force_login(user)
    deliver(sub_b)
    assert b"198.51.100.2" not in client.get(SUBSCRIPTIONS).content
    assert b"evt-tenant-b" not in client.get(DELIVERIES).content
    assert change(client, sub_b, url="https://198.51.100.66/").status_code == 302  # "does not exist"
    sub_b.refresh_from_db()
    assert sub_b.url == "https://198.51.100.2/hook"
