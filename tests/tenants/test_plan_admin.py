"""The plan's quotas and export queue limits in the tenant admin: a platform superuser sets them, a tenant's staff
see theirs and cannot raise them."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tenants.models import Membership, Tenant

from ..factories import UserFactory

pytestmark = pytest.mark.django_db

QUOTAS = {"storage_quota_gb": "500", "export_quota_gb": "50", "max_running_exports": "3", "max_queued_exports": "40"}


def tenant_form(tenant: Tenant, **changes: str) -> dict:
    form = {
        "id": tenant.id, "name": tenant.name, "camera_limit": tenant.camera_limit,
        "features": ",".join(tenant.features), "event_retention_days": tenant.event_retention_days,
        "recording_retention_days": tenant.recording_retention_days,
        "max_export_seconds": tenant.max_export_seconds, "export_retention_days": tenant.export_retention_days,
        "audit_retention_days": tenant.audit_retention_days,
        "storage_quota_gb": "", "export_quota_gb": "", "max_running_exports": 2, "max_queued_exports": 20,
    }  # fmt: skip
    return {**form, **changes}


def test_a_superuser_sets_the_quotas(tenant_b):
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = admin.get("/admin/tenants/tenant/").content.decode()
    assert all(f"column-{field}" in listing for field in QUOTAS)
    response = admin.post(f"/admin/tenants/tenant/{tenant_b.pk}/change/", tenant_form(tenant_b, **QUOTAS))

    assert response.status_code == 302
    tenant_b.refresh_from_db()
    assert {field: str(getattr(tenant_b, field)) for field in QUOTAS} == QUOTAS


def test_tenant_staff_see_their_quotas_but_cannot_raise_them(staff_b, tenant_b):
    user = Membership.objects.get(tenant=tenant_b).user
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_tenant", "change_tenant"]))
    tenant_b.storage_quota_gb = 10
    tenant_b.save()

    page = staff_b.get(f"/admin/tenants/tenant/{tenant_b.pk}/change/").content.decode()
    assert "Storage quota gb" in page and 'name="storage_quota_gb"' not in page
    response = staff_b.post(f"/admin/tenants/tenant/{tenant_b.pk}/change/", tenant_form(tenant_b, **QUOTAS))

    assert response.status_code == 302
    tenant_b.refresh_from_db()
    assert (tenant_b.storage_quota_gb, tenant_b.export_quota_gb, tenant_b.max_running_exports) == (10, None, 2)
    assert tenant_b.max_queued_exports == 20
