from django.core.management.base import BaseCommand, CommandError

from tenants.audit import verify_chain
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Walk each tenant's audit trail in order, recomputing every hash: print OK with the count of entries, or "
        "name the first broken link (edited, inserted, or a missing predecessor) and exit with status 1. The oldest "
        "entry kept is taken as given (retention deletes the head)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant's trail (default: every tenant's)")

    def handle(self, tenant, **options):
        tenant_ids = Tenant.objects.order_by("pk").values_list("pk", flat=True)
        if tenant is not None:
            tenant_ids = tenant_ids.filter(pk=tenant)
            if not tenant_ids:
                raise CommandError(f"no tenant '{tenant}'")
        broken = []
        for tenant_id in tenant_ids:
            count, first_break = verify_chain(tenant_id)
            if first_break is None:
                self.stdout.write(f"{tenant_id}: OK, {count} entries")
            else:
                self.stdout.write(f"{tenant_id}: BROKEN at {first_break} (after {count} entries read)")
                broken.append(tenant_id)
        if broken:
            raise CommandError(f"audit trail broken: {', '.join(broken)}")
