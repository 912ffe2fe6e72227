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
        parser.add_argument("--password", required=True, help="password of both demo users")

    @transaction.atomic
    def handle(self, password, **options):
        call_command("create_tenant", "demo", name="Demo tenant", camera_limit=16, features=",".join(FEATURES))
        tenant = Tenant.objects.get(pk="demo")
        User = get_user_model()
        admin, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
        admin.set_password(password)
        admin.save()
        demo, _ = User.objects.get_or_create(username="demo", defaults={"is_staff": True})
        demo.set_password(password)
        demo.save()
        Membership.objects.update_or_create(user=demo, defaults={"tenant": tenant, "role": Membership.Role.ADMIN})
        # The tenant admin manages its own cameras, events and recordings in the Django admin.
        demo.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["cameras", "events", "playback"])
        )
        self.stdout.write("Platform admin (Django admin, all tenants): admin / " + password)
        self.stdout.write("Demo tenant user (SPA, API, admin of tenant 'demo'): demo / " + password)
        token = issue_access_token(tenant, SCOPES, timedelta(days=1))
        self.stdout.write(f"Demo token (24 h):\nexport JWT={token}")
