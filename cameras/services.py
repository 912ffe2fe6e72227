"""The one place cameras are created, so the plan's camera_limit holds under concurrent requests, and the one rule
for which features a camera may have."""

import secrets

from django.db import transaction
from django.utils.text import slugify

from tenants.catalogue import FEATURES
from tenants.models import Tenant

from .models import Camera


class CameraLimitReached(Exception):
    pass


class CameraIdTaken(Exception):
    pass


def generate_slug(name: str) -> str:
    base = slugify(name)[:48].strip("-") or "cam"
    return f"{base}-{secrets.token_hex(3)}"


def plan_features(tenant: Tenant, features: list[str]) -> list[str]:
    """`features` within the tenant's plan, in catalogue order: the others are dropped, on create and on change."""
    return [f for f in FEATURES if f in features and f in tenant.features]


def check_room_for_camera(tenant: Tenant, slug: str) -> None:
    """Raise when the tenant's plan has no room for another camera or the id is taken."""
    count = tenant.cameras.count()
    if count >= tenant.camera_limit:
        raise CameraLimitReached(
            f"Camera limit reached: tenant '{tenant.id}' may have {tenant.camera_limit} cameras "
            f"and has {count}. Delete a camera or upgrade the plan."
        )
    if slug and tenant.cameras.filter(slug__iexact=slug).exists():
        raise CameraIdTaken(f"A camera with id '{slug}' (ignoring case) already exists in this tenant.")


def save_new_camera(camera: Camera) -> Camera:
    """Insert a camera within its tenant's plan; generates the slug when empty.

    The tenant row is locked, so concurrent creates are serialised and cannot both take the
    last free place or the same id.
    """
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=camera.tenant_id)
        check_room_for_camera(tenant, camera.slug)
        camera.features = plan_features(tenant, camera.features)
        camera.slug = camera.slug or generate_slug(camera.name)
        camera.save(force_insert=True)
    return camera
