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


def test_an_id_in_another_scripts_digits_is_not_found(staff_b, client, tenant_b):
    camera = CameraFactory(tenant=tenant_b, slug="b-cam")
    fullwidth = "".join(chr(0xFF10 + int(digit)) for digit in str(camera.pk))
    assert staff_b.get(f"/admin/cameras/camera/{camera.pk}/change/").status_code == 200
    assert staff_b.get(f"/admin/cameras/camera/{fullwidth}/change/").status_code == 302  # "does not exist"
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in str(superuser.pk))
    assert client.get(f"/admin/auth/user/{arabic_indic}/password/").status_code == 404


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


def test_tenant_staff_never_reach_a_superuser_of_their_tenant(tenant_staff, tenant_b):
    root = MembershipFactory(tenant=tenant_b, user__is_staff=True, user__is_superuser=True)
    change_page = f"/admin/auth/user/{root.user.pk}/change/"
    assert change_page not in tenant_staff.get("/admin/auth/user/").content.decode()
    assert tenant_staff.get(change_page).status_code == 302  # "does not exist"
    password_page = f"/admin/auth/user/{root.user.pk}/password/"
    assert tenant_staff.get(password_page).status_code == 404
    new_password = {"password1": "taken-over-9", "password2": "taken-over-9", "usable_password": "true"}
    assert tenant_staff.post(password_page, new_password).status_code == 404
    root.user.refresh_from_db()
    assert root.user.check_password("correct-horse-battery")
    # Nor through the membership: a role change would change the superuser's API scopes.
    membership_page = f"/admin/tenants/membership/{root.pk}/change/"
    assert membership_page not in tenant_staff.get("/admin/tenants/membership/").content.decode()
    assert tenant_staff.get(membership_page).status_code == 302


def test_tenant_staff_reach_only_users_with_no_more_rights_than_theirs(tenant_staff, tenant_b):
    peer = MembershipFactory(tenant=tenant_b, user__is_staff=True)
    peer.user.user_permissions.set(Permission.objects.filter(content_type__app_label="cameras"))
    stronger = MembershipFactory(tenant=tenant_b)
    stronger.user.user_permissions.add(Permission.objects.get(codename="add_tenant"))
    grouped = MembershipFactory(tenant=tenant_b)
    group = Group.objects.create(name="group admins")
    group.permissions.add(Permission.objects.get(codename="change_group"))
    grouped.user.groups.add(group)
    listed = tenant_staff.get("/admin/auth/user/").content.decode()
    assert f"/admin/auth/user/{peer.user.pk}/change/" in listed
    assert tenant_staff.get(f"/admin/auth/user/{peer.user.pk}/password/").status_code == 200
    for user in (stronger.user, grouped.user):
        assert f"/admin/auth/user/{user.pk}/change/" not in listed
        assert tenant_staff.get(f"/admin/auth/user/{user.pk}/password/").status_code == 404


def test_the_user_lists_tenant_filter_offers_tenant_staff_only_their_tenant(client, tenant_staff, tenant_a, tenant_b):
    MembershipFactory(tenant=tenant_a)
    page = tenant_staff.get("/admin/auth/user/").content.decode()
    assert "tenant-a" not in page and "Tenant A" not in page  # with one tenant to offer, the filter is left out
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/auth/user/").content.decode()
    assert "membership__tenant__id__exact=tenant-a" in page and "membership__tenant__id__exact=tenant-b" in page


def test_tenant_staff_with_a_viewer_role_cannot_give_a_stronger_one(tenant_staff, tenant_b):
    staff = Membership.objects.get(user__is_staff=True, tenant=tenant_b)
    staff.role = Membership.Role.VIEWER
    staff.save()
    operator = MembershipFactory(tenant=tenant_b, role=Membership.Role.OPERATOR)
    assert tenant_staff.get(f"/admin/auth/user/{operator.user.pk}/password/").status_code == 404
    viewer = MembershipFactory(tenant=tenant_b, role=Membership.Role.VIEWER)
    for membership in (viewer, staff):  # another viewer, and themselves
        form = user_form(membership.user, membership, **{"membership-0-role": "admin"})
        response = tenant_staff.post(f"/admin/auth/user/{membership.user.pk}/change/", form)
        assert response.status_code == 200
        assert b"Select a valid choice" in response.content
        membership_page = f"/admin/tenants/membership/{membership.pk}/change/"
        assert tenant_staff.post(membership_page, {"role": "admin"}).status_code == 200
        membership.refresh_from_db()
        assert membership.role == Membership.Role.VIEWER


def test_groups_are_the_platforms_even_for_staff_given_group_permissions(tenant_staff, tenant_b):
    staff = User.objects.get(membership__tenant=tenant_b, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__model="group"))
    group = Group.objects.create(name="tenant b staff")
    staff.groups.add(group)
    every_permission = list(Permission.objects.values_list("pk", flat=True))
    form = {"name": group.name, "permissions": every_permission}
    assert tenant_staff.post(f"/admin/auth/group/{group.pk}/change/", form).status_code == 302  # "does not exist"
    assert not group.permissions.exists()
    assert tenant_staff.post("/admin/auth/group/add/", {**form, "name": "mine"}).status_code == 403
    assert not Group.objects.filter(name="mine").exists()
