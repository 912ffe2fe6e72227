"""The audit trail's writing and its chain: record() through Redis and the drain, or straight to PostgreSQL while
Redis is down; verify_audit names the first edited, deleted or inserted entry; retention keeps a chain that holds."""

import json
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from tenants import audit
from tenants.auth import principal_from_token
from tenants.gate import TenantPrincipal
from tenants.models import AuditEntry, AuditEntryChanged
from tenants.tokens import refresh_token_for

from ..factories import MembershipFactory

pytestmark = pytest.mark.django_db


def verify(*args) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def record_many(tenant_id: str, count: int, prefix: str = "e") -> None:
    for n in range(count):
        audit.record(tenant_id, "camera.update", actor="user:alice", object_type="camera", object_id=f"{prefix}{n}")


def chain_of(tenant_id: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(tenant_id=tenant_id).order_by("id"))


def test_record_waits_in_redis_until_the_drain_chains_it(tenant_a, tenant_b):
    audit.record(tenant_a.pk, "auth.login", actor="user:alice", address="10.1.2.3", object_type="user", object_id="7")
    audit.record(
        tenant_b.pk, "camera.create", actor="token:api", object_type="camera", object_id="gate", camera_id="gate"
    )
    audit.record(tenant_a.pk, "auth.login_failed", actor="user:mallory", address="10.9.9.9", outcome="denied")
    assert not AuditEntry.objects.exists()
    assert audit.drain() == 3
    first, second = chain_of(tenant_a.pk)
    assert (first.action, first.actor, first.address, first.object_id) == ("auth.login", "user:alice", "10.1.2.3", "7")
    assert (second.action, second.outcome, second.prev_hash) == ("auth.login_failed", "denied", first.hash)
    assert first.prev_hash == ""  # the tenant's first entry
    (other,) = chain_of(tenant_b.pk)
    assert (other.camera_id, other.prev_hash) == ("gate", "")  # one chain per tenant
    assert audit.drain() == 0
    assert verify() == "tenant-a: OK, 2 entries\ntenant-b: OK, 1 entries\n"
    assert verify("--tenant", "tenant-b") == "tenant-b: OK, 1 entries\n"


def test_an_entry_is_append_only(tenant_a):
    record_many(tenant_a.pk, 1)
    audit.drain()
    entry = AuditEntry.objects.get()
    entry.actor = "user:someone-else"
    with pytest.raises(AuditEntryChanged):
        entry.save()
    entry.refresh_from_db()
    assert entry.actor == "user:alice"


def test_fields_are_bounded_and_lose_nul(tenant_a):
    audit.record(tenant_a.pk, "auth.login_failed", actor="user:" + "x\x00" * 500, outcome="denied")
    audit.drain()
    entry = AuditEntry.objects.get()
    assert entry.actor == "user:" + "x" * 195
    assert verify() == "tenant-a: OK, 1 entries\n"


def broken(*args) -> str:
    out = StringIO()
    with pytest.raises(CommandError, match="audit trail broken: tenant-a"):
        call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def test_verify_names_an_edited_entry(tenant_a, tenant_b):
    record_many(tenant_a.pk, 4)
    record_many(tenant_b.pk, 2)
    audit.drain()
    entries = chain_of(tenant_a.pk)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_auditentry SET actor = 'user:bob' WHERE id = %s", [entries[2].pk])
    out = broken()
    assert f"tenant-a: BROKEN at entry {entries[2].pk}: edited" in out
    assert "tenant-b: OK, 2 entries" in out  # only the edited tenant's chain is broken


def test_verify_names_an_entry_whose_predecessor_was_deleted(tenant_a):
    record_many(tenant_a.pk, 5)
    audit.drain()
    entries = chain_of(tenant_a.pk)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenants_auditentry WHERE id = %s", [entries[2].pk])
    assert f"BROKEN at entry {entries[3].pk}: a missing predecessor" in broken("--tenant", "tenant-a")


def insert_after(predecessor: AuditEntry, entry_id: int, prev_hash: str) -> None:
    """A forged entry written with raw SQL, its own hash right (whoever forged it knew the scheme)."""
    fields = {"tenant_id": predecessor.tenant_id, "ts": audit.canonical_ts(predecessor.ts), "actor": "user:mallory",
              "address": "", "action": "export.delete", "object_type": "export", "object_id": "9", "camera_id": "",
              "outcome": "ok", "prev_hash": prev_hash}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenants_auditentry (id, tenant_id, ts, actor, address, action, object_type, object_id, "
            "camera_id, outcome, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [entry_id, *(fields[name] for name in audit.HASHED), audit.entry_hash(fields)],
        )


def with_a_gap(tenant_id: str) -> tuple[list[AuditEntry], int]:
    """Two entries, an id nobody took (as a rolled back insert leaves), then two more."""
    record_many(tenant_id, 2)
    audit.drain()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('tenants_auditentry', 'id'))")
        gap = cursor.fetchone()[0]
    record_many(tenant_id, 2, prefix="later")
    audit.drain()
    return chain_of(tenant_id), gap


@pytest.mark.parametrize("chained", [True, False], ids=["chained-to-its-predecessor", "with-any-prev-hash"])
def test_verify_names_an_inserted_entry(tenant_a, chained):
    entries, gap = with_a_gap(tenant_a.pk)
    insert_after(entries[1], gap, entries[1].hash if chained else "0" * 64)
    out = broken()
    assert f"BROKEN at entry {gap}: inserted: entry {entries[2].pk} follows entry {entries[1].pk}" in out


@pytest.mark.django_db(transaction=True)
def test_record_from_many_threads_keeps_each_thread_s_order_in_one_chain(tenant_a):
    threads, per_thread = 8, 40
    drained = []  # how many each drain wrote: two drains run at once, one at a time gets the list

    def drain_while_recording() -> None:
        deadline = time.monotonic() + 30
        while sum(drained) < threads * per_thread and time.monotonic() < deadline:
            drained.append(audit.drain())
        connection.close()

    workers = [threading.Thread(target=record_many, args=(tenant_a.pk, per_thread, f"t{t}-")) for t in range(threads)]
    drainers = [threading.Thread(target=drain_while_recording) for _ in range(2)]
    for thread in workers + drainers:
        thread.start()
    for thread in workers + drainers:
        thread.join(timeout=60)
    entries = chain_of(tenant_a.pk)
    assert len(entries) == threads * per_thread
    for t in range(threads):
        mine = [int(e.object_id.removeprefix(f"t{t}-")) for e in entries if e.object_id.startswith(f"t{t}-")]
        assert mine == list(range(per_thread))
    assert verify() == f"tenant-a: OK, {threads * per_thread} entries\n"


def test_while_redis_is_down_record_writes_to_postgres_on_the_same_chain(tenant_a, settings):
    record_many(tenant_a.pk, 2)
    audit.drain()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    audit.record(tenant_a.pk, "auth.login", actor="user:alice", address="10.0.0.1")
    last = chain_of(tenant_a.pk)[-1]
    assert (last.action, last.address) == ("auth.login", "10.0.0.1")
    assert verify() == "tenant-a: OK, 3 entries\n"


def test_readiness_warns_of_lost_entries_and_of_entries_no_drain_writes(client, tenant_a, monkeypatch):
    monkeypatch.setattr(audit, "_lost_at", None)
    assert "warnings" not in client.get("/v2/health/ready").json()
    audit.report_lost()
    (warning,) = client.get("/v2/health/ready").json()["warnings"]
    assert warning.startswith("audit: entries could not be written (last at ")
    monkeypatch.setattr(audit, "_lost_at", None)
    # The cache still says it, for the other processes.
    assert "could not be written" in client.get("/v2/health/ready").json()["warnings"][0]


def test_readiness_warns_while_entries_wait_in_redis(client, tenant_a):
    stale = {"tenant_id": tenant_a.pk, "ts": audit.canonical_ts(timezone.now() - timedelta(minutes=5)),
             "actor": "system", "address": "", "action": "token.issue", "object_type": "", "object_id": "",
             "camera_id": "", "outcome": "ok"}  # fmt: skip
    audit.redis_client().rpush(audit.pending_key(), json.dumps(stale))
    (warning,) = client.get("/v2/health/ready").json()["warnings"]
    assert "audit: entries wait in Redis since" in warning
    assert audit.drain() == 1
    assert "warnings" not in client.get("/v2/health/ready").json()


def test_purge_keeps_the_plan_s_days_and_a_chain_that_verifies(tenant_a):
    tenant_a.audit_retention_days = 30
    tenant_a.save()
    now = timezone.now()
    ages = [90, 40, 31, 29, 1, 0]
    for age in ages:
        audit.redis_client().rpush(audit.pending_key(), json.dumps({
            "tenant_id": tenant_a.pk, "ts": audit.canonical_ts(now - timedelta(days=age)), "actor": "system",
            "address": "", "action": "token.issue", "object_type": "", "object_id": str(age), "camera_id": "",
            "outcome": "ok",
        }))  # fmt: skip
    audit.drain()
    assert audit.purge(now) == 3
    assert [e.object_id for e in chain_of(tenant_a.pk)] == ["29", "1", "0"]
    assert verify() == "tenant-a: OK, 3 entries\n"  # the oldest kept entry's prev_hash is taken as given
    assert audit.purge(now) == 0


def test_record_asks_nothing_of_postgres(tenant_a, django_assert_num_queries):
    # The request that records waits on one Redis push, never on the database (bench/audit.py measures the cost).
    with django_assert_num_queries(0):
        record_many(tenant_a.pk, 3)
    assert not AuditEntry.objects.exists()
    assert audit.drain() == 3


def test_a_user_s_token_names_the_actor_without_a_query(tenant_a, django_assert_num_queries):
    membership = MembershipFactory(tenant=tenant_a, user__username="olivia")
    principal = principal_from_token(str(refresh_token_for(membership).access_token))
    with django_assert_num_queries(0):
        assert audit.actor_of(principal) == "user:olivia"
    # A token issued before tokens named their user: its user is looked up.
    older = TenantPrincipal(tenant=tenant_a, scopes=frozenset(), user_id=membership.user.pk)
    assert audit.actor_of(older) == "user:olivia"
