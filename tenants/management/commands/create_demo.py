import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.catalogue import FEATURES, SCOPES
from tenants.models import Membership, Tenant
from tenants.tokens import issue_access_token


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenant, its operator user and a platform admin; print a token."

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
        if generated:
            # Alone on its line, and only now: it is stored nowhere else.
            self.stdout.write("Platform admin `admin` (Django admin, all tenants), new password:")
            self.stdout.write(generated)
        elif not admin_password:
            self.stdout.write("Platform admin `admin`: password unchanged (manage.py changepassword admin sets one).")
        self.stdout.write("Demo tenant user (SPA, API, admin of tenant 'demo'): demo / " + password)
        token = issue_access_token(tenant, SCOPES, timedelta(days=1))
        self.stdout.write(f"Demo token (24 h):\nexport JWT={token}")
