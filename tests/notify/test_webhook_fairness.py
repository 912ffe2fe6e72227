"""Tenants take turns for the notify workers: one tenant's burst over many subscriptions does not queue another
tenant's delivery behind all of it (a real worker, real receivers)."""

import pytest
from django.utils import timezone

from events.models import Delivery, Subscription
from events.notify import webhooks

from ..webhook_receiver import running_receiver
from .test_webhook_delivery import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

BURST_SUBSCRIPTIONS = 8
BACKLOG = 100  # deliveries per subscription: one drain slice each (webhooks.SLICE_DELIVERIES)


def backlog(subscription: Subscription, count: int) -> None:
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(subscription=subscription, event_id=f"evt-{n}", body="{}", next_attempt_at=now) for n in range(count)
    )


def test_another_tenants_delivery_waits_for_no_more_than_a_slice_or_two_of_a_burst(
    tenant_a, tenant_b, notify, tmp_path
):
    """Counted in tenant A's deliveries, not seconds, so a busy machine does not change the verdict: with two
    threads, B's delivery comes after the one or two slices in progress (at most 300 of A's); in arrival order it
    came after every subscription of A had its turn (about 800)."""
    with (
        notify(relay=False, concurrency=2),
        running_receiver(tmp_path / "a.jsonl", delay=0.02) as burst,
        running_receiver(tmp_path / "b.jsonl") as single,
    ):
        for n in range(BURST_SUBSCRIPTIONS):
            backlog(Subscription.objects.create(tenant=tenant_a, url=f"{burst.url}/{n}"), BACKLOG)
        webhooks.sweep()
        wait_for(burst.requests, what="tenant A's burst under way")
        backlog(Subscription.objects.create(tenant=tenant_b, url=single.url), 1)
        webhooks.sweep()
        [delivered] = wait_for(single.requests, timeout=60, what="tenant B's delivery")

    ahead = sum(request["at"] < delivered["at"] for request in burst.requests())
    print(f"tenant B's delivery came after {ahead} of tenant A's {BURST_SUBSCRIPTIONS * BACKLOG}")
    assert ahead < 3 * BACKLOG + BACKLOG // 2, f"tenant B's delivery waited behind {ahead} of tenant A's"
