from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from tenants.catalogue import SCOPES
from tenants.models import Tenant
from tenants.tokens import issue_access_token, parse_scopes


class Command(BaseCommand):
    help = "Print an access JWT for a tenant (for integrations and scripts): only the token, on stdout."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--scopes", default=" ".join(SCOPES), help="space-separated; default: all")
        parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")

    def handle(self, tenant, scopes, ttl, **options):
        if ttl < 1:
            raise CommandError("--ttl must be a positive number of seconds")
        try:
            scope_list = parse_scopes(scopes)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        tenant_obj = Tenant.objects.filter(pk=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"no tenant '{tenant}' (create it with create_tenant)")
        self.stdout.write(issue_access_token(tenant_obj, scope_list, timedelta(seconds=ttl)))
