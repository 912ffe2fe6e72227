import logging

from celery import shared_task

from . import audit

logger = logging.getLogger(__name__)


@shared_task(name="tenants.drain_audit")
def drain_audit_task() -> int:
    """Beat, every second: write the audit entries waiting in Redis to their tenants' chains."""
    return audit.drain()


@shared_task(name="tenants.purge_audit")
def purge_audit_task() -> int:
    """Beat: delete audit entries past their tenant's audit_retention_days."""
    deleted = audit.purge()
    logger.info("Purged %d audit entries past retention", deleted)
    return deleted


@shared_task(name="tenants.check_audit_chains")
def check_audit_chains_task() -> int:
    """Beat, hourly: walk every tenant's audit chain and keep what was found (the console's Audit screen shows it)."""
    return len(audit.check_chains())
