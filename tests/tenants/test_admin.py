import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from cameras.models import Camera
from tenants.models import Membership

from ..factories import CameraFactory, MembershipFactory, UserFactory

User = get_user_model()

pytestmark = pytest.mark.django_db


def test_tenant_staff_see_only_their_cameras(staff_b, camera_a, tenant_b):
    CameraFactory(tenant=tenant_b, slug="b-cam", name="B camera")
    page = staff_b.get("/admin/cameras/camera/")
    assert page.status_code == 200
    assert b"b-cam" in page.content
    assert b"cam-front-01" not in page.content
    assert staff_b.get(f"/admin/cameras/camera/{camera_a.pk}/change/").status_code == 302  # "does not exist"
    assert staff_b.post(f"/admin/cameras/camera/{camera_a.pk}/delete/", {"post": "yes"}).status_code == 302
    assert Camera.objects.filter(pk=camera_a.pk).exists()


def test_staff_add_goes_to_their_tenant_within_the_limit(staff_b, tenant_b):
    form = {"slug": "", "name": "Dock", "rtsp_url": "rtsp://u:p@10.1.1.1/s", "features": "person", "fps": 5}
    assert staff_b.post("/admin/cameras/camera/add/", {**form, "enabled": "on"}).status_code == 302
    camera = Camera.objects.get(name="Dock")
    assert camera.tenant_id == "tenant-b" and camera.slug.startswith("dock-")
    tenant_b.camera_limit = 1
    tenant_b.save()
    refused = staff_b.post("/admin/cameras/camera/add/", {**form, "name": "Second"})
    assert refused.status_code == 200
    assert b"Camera limit reached" in refused.content
    assert Camera.objects.filter(tenant=tenant_b).count() == 1


def test_admin_form_masks_the_password_and_keeps_it(client, camera_a):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/cameras/camera/{camera_a.pk}/change/")
    assert b"s3cret" not in page.content
    assert b"rtsp://viewer:***@10.0.0.5:554/stream" in page.content
    form = {"tenant": "tenant-a", "name": "Gate", "rtsp_url": "rtsp://viewer:***@10.0.0.5:554/stream", "fps": 5}
    assert client.post(f"/admin/cameras/camera/{camera_a.pk}/change/", form).status_code == 302
    camera_a.refresh_from_db()
    assert (camera_a.name, camera_a.rtsp_url) == ("Gate", "rtsp://viewer:s3cret@10.0.0.5:554/stream")


def test_superuser_sees_every_tenant(client, camera_a, tenant_b):
    CameraFactory(tenant=tenant_b, slug="b-cam")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/cameras/camera/")
    assert b"b-cam" in page.content and b"cam-front-01" in page.content


@pytest.fixture
def tenant_staff(staff_b):
    """staff_b, also allowed to manage users and memberships (as a tenant's admin may be)."""
    user = User.objects.get(membership__tenant="tenant-b", is_staff=True)
    wanted = [("auth", "user"), ("tenants", "membership")]
    perms = Permission.objects.filter(
        content_type__app_label__in=[app for app, _ in wanted], content_type__model__in=[model for _, model in wanted]
    )
    user.user_permissions.add(*perms)
    return staff_b


def user_form(user, membership, **fields) -> dict:
    """The user change form as the admin page posts it, with its membership inline."""
    return {
        "username": user.username, "first_name": "", "last_name": "", "email": "", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "membership-TOTAL_FORMS": "1", "membership-INITIAL_FORMS": "1",
        "membership-MIN_NUM_FORMS": "0", "membership-MAX_NUM_FORMS": "1",
        "membership-0-id": membership.pk, "membership-0-user": user.pk,
        "membership-0-tenant": membership.tenant_id, "membership-0-role": membership.role,
        **fields,
    }  # fmt: skip


def test_tenant_staff_cannot_grant_superuser_permissions_or_groups(tenant_staff, tenant_b):
    operator = MembershipFactory(tenant=tenant_b)
    group = Group.objects.create(name="everything")
    every_permission = list(Permission.objects.values_list("pk", flat=True))
    form = user_form(operator.user, operator, is_staff="on", is_superuser="on", groups=[group.pk],
                     user_permissions=every_permission)  # fmt: skip
    assert tenant_staff.post(f"/admin/auth/user/{operator.user.pk}/change/", form).status_code == 302
    operator.user.refresh_from_db()
    assert operator.user.is_staff  # within the tenant's own admin
    assert not operator.user.is_superuser
    assert not operator.user.groups.exists() and not operator.user.user_permissions.exists()


def test_tenant_staff_cannot_move_a_membership_to_another_tenant(tenant_staff, tenant_a, tenant_b):
    operator = MembershipFactory(tenant=tenant_b)
    form = user_form(operator.user, operator, **{"membership-0-tenant": "tenant-a"})
    response = tenant_staff.post(f"/admin/auth/user/{operator.user.pk}/change/", form)
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    superuser = UserFactory(is_staff=True, is_superuser=True)
    membership_form = {"user": superuser.pk, "tenant": "tenant-a", "role": "admin"}
    assert tenant_staff.post(f"/admin/tenants/membership/{operator.pk}/change/", membership_form).status_code == 302
    operator.refresh_from_db()
    assert (operator.tenant_id, operator.user_id, operator.role) == ("tenant-b", operator.user.pk, "admin")
    assert tenant_staff.post("/admin/tenants/membership/add/", membership_form).status_code == 403
    assert not Membership.objects.filter(user=superuser).exists()


def test_tenant_staff_add_users_to_their_own_tenant_only(tenant_staff, tenant_a):
    form = {"username": "newbie", "usable_password": "false",
            "membership-TOTAL_FORMS": "1", "membership-INITIAL_FORMS": "0",
            "membership-MIN_NUM_FORMS": "0", "membership-MAX_NUM_FORMS": "1",
            "membership-0-tenant": "tenant-a", "membership-0-role": "admin"}  # fmt: skip
    assert tenant_staff.post("/admin/auth/user/add/", form).status_code == 200
    assert not User.objects.filter(username="newbie").exists()
    assert tenant_staff.post("/admin/auth/user/add/", {**form, "membership-0-tenant": "tenant-b"}).status_code == 302
    assert User.objects.get(username="newbie").membership.tenant_id == "tenant-b"
