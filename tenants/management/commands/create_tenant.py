from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.catalogue import FEATURES
from tenants.models import Tenant

# The plan's numbers, each set by the option of its name; a quota may be `none` (no quota).
LIMITS = ["camera_limit", "event_retention_days", "recording_retention_days"]
QUOTAS = ["storage_quota_gb", "export_quota_gb", "max_running_exports", "max_queued_exports"]


def quota(value: str) -> int | str:
    """A quota in GB, or `none`."""
    return value if value == "none" else int(value)


class Command(BaseCommand):
    help = "Create a tenant, or update it when the slug exists (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name")
        parser.add_argument("--camera-limit", type=int)
        parser.add_argument("--features", help="comma-separated: " + ",".join(FEATURES))
        parser.add_argument("--event-retention-days", type=int)
        parser.add_argument("--recording-retention-days", type=int)
        parser.add_argument("--storage-quota-gb", type=quota, help="recordings, GB (2^30 bytes), or none")
        parser.add_argument("--export-quota-gb", type=quota, help="export files, held ones too, GB, or none")
        parser.add_argument("--max-running-exports", type=int)
        parser.add_argument("--max-queued-exports", type=int)

    def handle(self, slug, **options):
        tenant = Tenant.objects.filter(pk=slug).first() or Tenant(id=slug, name=slug)
        created = tenant._state.adding
        if options["name"] is not None:
            tenant.name = options["name"]
        if options["features"] is not None:
            features = [f.strip() for f in options["features"].split(",") if f.strip()]
            unknown = sorted(set(features) - set(FEATURES))
            if unknown:
                raise CommandError(f"unknown features: {', '.join(unknown)} (known: {','.join(FEATURES)})")
            tenant.features = [f for f in FEATURES if f in features]
        for field in LIMITS + QUOTAS:
            if options[field] is not None:
                setattr(tenant, field, None if options[field] == "none" else options[field])
        try:
            tenant.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        tenant.save()
        verb = "Created" if created else "Updated"
        plan = [f"camera_limit={tenant.camera_limit}", f"features={','.join(tenant.features)}"]
        plan += [f"{field}={value}" for field in QUOTAS if (value := getattr(tenant, field)) is not None]
        self.stdout.write(f"{verb} tenant {tenant.id}: {' '.join(plan)}")
