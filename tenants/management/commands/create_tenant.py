from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.catalogue import FEATURES
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create a tenant, or update it when the slug exists (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name")
        parser.add_argument("--camera-limit", type=int)
        parser.add_argument("--features", help="comma-separated: " + ",".join(FEATURES))
        parser.add_argument("--event-retention-days", type=int)
        parser.add_argument("--recording-retention-days", type=int)

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
        for option, field in [
            ("camera_limit", "camera_limit"),
            ("event_retention_days", "event_retention_days"),
            ("recording_retention_days", "recording_retention_days"),
        ]:
            if options[option] is not None:
                setattr(tenant, field, options[option])
        try:
            tenant.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        tenant.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} tenant {tenant.id}: camera_limit={tenant.camera_limit} features={','.join(tenant.features)}"
        )
