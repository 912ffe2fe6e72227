from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework_simplejwt.tokens import AccessToken

from tenants import audit
from tenants.catalogue import SCOPES
from tenants.models import Tenant
from tenants.tokens import issue_access_token, issue_platform_token, parse_scopes


class Command(BaseCommand):
    help = (
        "Print an access JWT for a tenant (for integrations and scripts), or with --platform one for platform staff "
        "(the nodes API only): only the token, on stdout."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--tenant")
        who.add_argument("--platform", action="store_true", help="a token of no tenant, scope platform:read")
        parser.add_argument("--scopes", default=None, help="space-separated; default: all (a tenant's token only)")
        parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
        parser.add_argument(
            "--cameras", default=None, help="comma-separated camera ids: the only cameras the token sees (default: all)"
        )

    def handle(self, tenant, platform, scopes, ttl, cameras, **options):
        if ttl < 1:
            raise CommandError("--ttl must be a positive number of seconds")
        if platform:
            if scopes is not None or cameras is not None:
                message = "--scopes and --cameras are for a tenant's token; a platform token has platform:read"
                raise CommandError(message)
            self.stdout.write(issue_platform_token(timedelta(seconds=ttl)))
            return
        try:
            scope_list = parse_scopes(" ".join(SCOPES) if scopes is None else scopes)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        tenant_obj = Tenant.objects.filter(pk=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"no tenant '{tenant}' (create it with create_tenant)")
        camera_ids = ()
        if cameras is not None:
            given = cameras.replace(",", " ").split()
            if not given:
                raise CommandError("--cameras names no camera (leave it out for a token that sees every camera)")
            try:
                camera_ids = tuple(tenant_obj.camera_ids(given))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        token = issue_access_token(tenant_obj, scope_list, timedelta(seconds=ttl), camera_ids)
        jti = AccessToken(token)["jti"]
        audit.record(tenant_obj.pk, "token.issue", actor="system", object_type="token", object_id=jti)
        self.stdout.write(token)
