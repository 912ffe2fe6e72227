"""The demo deployment `make run` starts with: the demo tenant, its user, a platform admin and the demo camera.

It lives in `cameras` (not `tenants`) because it adds a camera, and tenants imports no app above it.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from cameras.models import Camera
from cameras.services import CameraLimitReached, save_new_camera
from tenants.catalogue import FEATURES, SCOPES
from tenants.models import Membership, Tenant
from tenants.tokens import issue_access_token

DEMO_CAMERA_ID = "demo-street"


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo tenant, its operator user, a platform admin and (unless VMS_DEMO_CAMERA is off) "
        "the demo camera; print a token."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", required=True, help="password of the demo tenant's user `demo`")
        parser.add_argument(
            "--admin-password",
            help="password of the platform superuser `admin`; without it, a random one is made (and printed) only "
            "when `admin` is created, and an existing admin's password is left as it is",
        )

    @transaction.atomic
    def handle(self, password, admin_password, **options):
        call_command("create_tenant", "demo", name="Demo tenant", camera_limit=16, features=",".join(FEATURES))
        tenant = Tenant.objects.get(pk="demo")
        User = get_user_model()
        admin, created = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
        # An admin made by an earlier version of this command has the demo user's password: it is replaced too.
        generated = None
        if not admin_password and (created or admin.check_password(password)):
            generated = secrets.token_urlsafe(16)
        if admin_password or generated:
            admin.set_password(admin_password or generated)
            admin.save()
        demo, _ = User.objects.get_or_create(username="demo", defaults={"is_staff": True})
        demo.set_password(password)
        demo.save()
        Membership.objects.update_or_create(user=demo, defaults={"tenant": tenant, "role": Membership.Role.ADMIN})
        # The tenant admin manages its own cameras, events and recordings in the Django admin.
        demo.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["cameras", "events", "playback"])
        )
        if settings.VMS_DEMO_CAMERA:
            self.add_demo_camera(tenant)
        if generated:
            # Alone on its line, and only now: it is stored nowhere else.
            self.stdout.write("Platform admin `admin` (Django admin, all tenants), new password:")
            self.stdout.write(generated)
        elif not admin_password:
            self.stdout.write("Platform admin `admin`: password unchanged (manage.py changepassword admin sets one).")
        self.stdout.write("Demo tenant user (SPA, API, admin of tenant 'demo'): demo / " + password)
        token = issue_access_token(tenant, SCOPES, timedelta(days=1))
        self.stdout.write(f"Demo token (24 h):\nexport JWT={token}")

    def add_demo_camera(self, tenant: Tenant) -> None:
        """The camera of scripts/demo_camera.py (the Procfile's `camera`) with every feature of the plan, once;
        detection and live take its substream (`--sub-mount /demo/sub`).

        A later run only sets its URLs again (VMS_DEMO_CAMERA_PORT may have changed); the operator's other edits stay.
        """
        url = f"rtsp://127.0.0.1:{settings.VMS_DEMO_CAMERA_PORT}/demo"
        urls = {"rtsp_url": url, "detect_url": f"{url}/sub", "live_url": f"{url}/sub"}
        camera = tenant.cameras.filter(slug__iexact=DEMO_CAMERA_ID).first()
        if camera is None:
            camera = Camera(tenant=tenant, slug=DEMO_CAMERA_ID, name="Demo street", fps=5, **urls)
            camera.features = list(tenant.features)
            try:
                save_new_camera(camera)
            except CameraLimitReached as exc:
                self.stdout.write(f"Demo camera not added: {exc}")
                return
        elif any(getattr(camera, field) != value for field, value in urls.items()):
            for field, value in urls.items():
                setattr(camera, field, value)
            camera.save(update_fields=[*urls, "updated_at"])
        self.stdout.write(f"Demo camera `{camera.slug}` of tenant 'demo': {url} (VMS_DEMO_CAMERA=0 turns it off)")
